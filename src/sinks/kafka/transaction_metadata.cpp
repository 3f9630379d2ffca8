#include "cdc/sinks/kafka/transaction_metadata.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <rapidjson/writer.h>

#include "cdc/sinks/kafka/connect_schema.hpp"

namespace cdc::sinks {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void start(JsonBuffer& buffer, std::string_view prefix) {
  buffer.Clear();
  append_raw(buffer, prefix);
}

void finish(JsonBuffer& buffer, std::string_view prefix) {
  if (!prefix.empty()) append_raw(buffer, kSchemaFrameSuffix);
}

}  // namespace

TransactionMetadata::TransactionMetadata(std::string topic, bool schemas)
    : topic_(std::move(topic)),
      key_prefix_(schemas ? transaction_key_prefix() : std::string()),
      value_prefix_(schemas ? transaction_value_prefix() : std::string()) {}

void TransactionMetadata::begin(const TxnInfo& txn) {
  txn_ = txn;
  id_ = fmt::format("{}:{}", txn.xid, txn.commit_lsn);
  total_ = 0;
  counts_.clear();
}

const EventTransaction& TransactionMetadata::event(std::string_view data_collection, RecordOutput& output) {
  if (total_ == 0) produce(/*end=*/false, output);
  auto it = std::find_if(counts_.begin(), counts_.end(), [&](const auto& c) { return c.first == data_collection; });
  if (it == counts_.end()) {
    counts_.emplace_back(std::string(data_collection), 0);
    it = counts_.end() - 1;
  }
  event_ = EventTransaction{id_, ++total_, ++it->second};
  return event_;
}

void TransactionMetadata::end(RecordOutput& output) {
  if (total_ > 0) produce(/*end=*/true, output);
  total_ = 0;
  counts_.clear();
}

void TransactionMetadata::produce(bool end, RecordOutput& output) {
  start(key_, key_prefix_);
  {
    Writer writer(key_);
    writer.StartObject();
    writer.Key("id");
    writer.String(id_.data(), static_cast<rapidjson::SizeType>(id_.size()));
    writer.EndObject();
  }
  finish(key_, key_prefix_);

  start(value_, value_prefix_);
  {
    Writer writer(value_);
    writer.StartObject();
    writer.Key("status");
    writer.String(end ? "END" : "BEGIN");
    writer.Key("id");
    writer.String(id_.data(), static_cast<rapidjson::SizeType>(id_.size()));
    writer.Key("event_count");
    if (end) {
      writer.Uint64(total_);
    } else {
      writer.Null();
    }
    writer.Key("data_collections");
    if (end) {
      writer.StartArray();
      for (const auto& [name, count] : counts_) {
        writer.StartObject();
        writer.Key("data_collection");
        writer.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
        writer.Key("event_count");
        writer.Uint64(count);
        writer.EndObject();
      }
      writer.EndArray();
    } else {
      writer.Null();
    }
    writer.Key("ts_ms");
    writer.Int64(txn_.commit_time_us / 1000);
    writer.EndObject();
  }
  finish(value_, value_prefix_);
  output.produce(topic_, std::string_view(key_.GetString(), key_.GetSize()),
                 std::string_view(value_.GetString(), value_.GetSize()));
}

}  // namespace cdc::sinks
