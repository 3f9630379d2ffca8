#include "cdc/sinks/kafka/kafka_sink.hpp"

#include "cdc/core/clock.hpp"
#include "cdc/sinks/dead_letter.hpp"

#include <chrono>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace cdc::sinks {
namespace {

std::int64_t now_ms() { return unix_now_us() / 1000; }

constexpr int kQueueFullPollMs = 100;
/// wants_flush(): at most this long, or this many committed transactions,
/// between two polls for delivery reports while transactions are in flight.
constexpr auto kPollGap = std::chrono::milliseconds(5);
constexpr std::size_t kPollEveryTxns = 256;

}  // namespace

std::map<std::string, std::string> kafka_producer_config(const KafkaSinkOptions& options) {
  std::map<std::string, std::string> config = {
      {"bootstrap.servers", options.brokers},
      {"client.id", "customer-cdc"},
      {"enable.idempotence", "true"},  // acks=all, ordered retries without duplicates
      {"acks", "all"},
      {"message.timeout.ms", "0"},     // never give up on a message: an outage only stalls the stream
      {"linger.ms", "5"},
      {"compression.type", "lz4"},
      {"queue.buffering.max.messages", "100000"},
      {"queue.buffering.max.kbytes", "8192"},
      {"batch.size", "262144"},  // per-partition batch buffers count towards RSS too  // bounded memory; a full queue backpressures the stream
      {"partitioner", "murmur2_random"},  // same partitions for a key as the Java client
  };
  for (const auto& [key, value] : options.properties) config[key] = value;
  return config;
}

KafkaSink::KafkaSink(KafkaSinkOptions options) : options_(std::move(options)) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  for (const auto& [key, value] : kafka_producer_config(options_)) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw KafkaError(fmt::format("kafka property '{}': {}", key, error));
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, &KafkaSink::on_delivery);
  rd_kafka_conf_set_error_cb(conf, &KafkaSink::on_error);
  rd_kafka_conf_set_opaque(conf, this);
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (rk_ == nullptr) throw KafkaError(fmt::format("cannot create the Kafka producer: {}", error));
  audit_topic_ = options_.topic_prefix + ".audit";
  dead_letter_topic_ = options_.topic_prefix + ".dead_letter";
}

KafkaSink::~KafkaSink() {
  if (rk_ != nullptr) {
    // Anything still queued was not acknowledged; it is produced again after the restart.
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(rk_, 1000);
    rd_kafka_destroy(rk_);
  }
}

void KafkaSink::on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* sink = static_cast<KafkaSink*>(opaque);
  sink->delivered(reinterpret_cast<std::uintptr_t>(message->_private), message->err, message);
}

void KafkaSink::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* sink = static_cast<KafkaSink*>(opaque);
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    char fatal[512];
    rd_kafka_fatal_error(rk, fatal, sizeof fatal);
    if (sink->failure_.empty()) sink->failure_ = fmt::format("Kafka producer fatal error: {}", fatal);
    return;
  }
  // Transport errors (broker down, all brokers down) are retried by librdkafka.
  spdlog::warn("kafka: {} ({})", reason, rd_kafka_err2name(code));
}

void KafkaSink::delivered(std::uint64_t txn_seq, rd_kafka_resp_err_t err, const rd_kafka_message_t* message) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (failure_.empty()) {
      failure_ = fmt::format("Kafka delivery to {} failed: {}", rd_kafka_topic_name(message->rkt),
                             rd_kafka_err2str(err));
    }
    return;  // the transaction never counts as delivered
  }
  if (txn_seq < ring_base_ || txn_seq - ring_base_ >= ring_.size()) return;
  InFlightTxn& txn = ring_[txn_seq - ring_base_];
  if (txn.pending > 0) --txn.pending;
}

void KafkaSink::throw_if_failed() {
  if (!failure_.empty()) throw KafkaError(failure_);
}

void KafkaSink::advance() {
  while (!ring_.empty() && ring_.front().committed && ring_.front().pending == 0) {
    durable_ = ring_.front().end_lsn;
    ring_.pop_front();
    ++ring_base_;
  }
}

void KafkaSink::begin(const TxnInfo& txn) {
  throw_if_failed();
  ring_.push_back(InFlightTxn{txn.end_lsn, 0, false});
  source_lsns_.reset();
}

const KafkaSink::TableInfo& KafkaSink::table_info(const decode::Change& change) {
  // Consecutive changes mostly hit one table: no string building or map lookup then.
  if (last_table_ != nullptr && last_table_->table == change.table && last_table_->schema == change.schema) {
    return *last_table_;
  }
  const std::string name = change.schema + "." + change.table;
  auto it = tables_.find(name);
  if (it == tables_.end()) {
    TableInfo info;
    info.schema = change.schema;
    info.table = change.table;
    info.topic = options_.topic_prefix + "." + name;
    const auto keys = options_.primary_keys.find(name);
    info.key_columns = keys != options_.primary_keys.end() ? &keys->second : nullptr;
    info.is_customer = name == "public.customer";
    it = tables_.emplace(name, std::move(info)).first;
  }
  last_table_ = &it->second;
  return it->second;
}

void KafkaSink::produce(const std::string& topic, std::string_view key, const JsonBuffer* value) {
  const std::uint64_t seq = ring_base_ + ring_.size() - 1;
  const void* key_data = key.empty() ? nullptr : key.data();
  const std::size_t key_size = key.size();
  void* value_data = value == nullptr ? nullptr : const_cast<char*>(value->GetString());
  const std::size_t value_size = value == nullptr ? 0 : value->GetSize();
  void* opaque = reinterpret_cast<void*>(static_cast<std::uintptr_t>(seq));
  for (;;) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key_data, key_size), RD_KAFKA_V_VALUE(value_data, value_size),
        RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      throw KafkaError(fmt::format("cannot produce to {}: {}", topic, rd_kafka_err2str(err)));
    }
    // Backpressure: the producer queue is full (broker slow or down). Serve
    // delivery reports until there is room; the stream reader keeps the
    // server connection alive meanwhile.
    rd_kafka_poll(rk_, kQueueFullPollMs);
    throw_if_failed();
    advance();
  }
  ++ring_.back().pending;
}

namespace {

bool key_changed(const decode::Change& change, const std::vector<std::string>& key_columns) {
  for (const auto& name : key_columns) {
    const decode::Column* now = change.column(name);
    const decode::Column* before = change.old_column(name);
    if (now != nullptr && before != nullptr && (now->kind != before->kind || now->text != before->text)) return true;
  }
  return false;
}

}  // namespace

void KafkaSink::publish_row(const TxnInfo& txn, const decode::Change& change, decode::Action as,
                            const TableInfo& table) {
  const bool row_change = as == decode::Action::Insert || as == decode::Action::Update || as == decode::Action::Delete;
  bool has_key = false;
  if (row_change && table.key_columns != nullptr) {
    has_key = debezium_key(key_buffer_, change, as == decode::Action::Delete, *table.key_columns);
  }
  const std::string_view key = has_key ? std::string_view(key_buffer_.GetString(), key_buffer_.GetSize())
                                       : std::string_view();
  debezium_value(value_buffer_, change, as, txn, options_.context, /*snapshot=*/false, now_ms());
  produce(table.topic, key, &value_buffer_);
  if (as == decode::Action::Delete && options_.tombstones_on_delete && !key.empty()) {
    produce(table.topic, key, nullptr);
  }
}

void KafkaSink::change(const TxnInfo& txn, const decode::Change& change) {
  if (!change.is_row_change() && change.action != decode::Action::Truncate) return;
  const TableInfo& table = table_info(change);
  if (change.action == decode::Action::Update && table.key_columns != nullptr &&
      key_changed(change, *table.key_columns)) {
    // As Debezium does: a delete (and tombstone) of the old key, then a create
    // of the new one, so compacted topics do not keep the old key forever.
    publish_row(txn, change, decode::Action::Delete, table);
    publish_row(txn, change, decode::Action::Insert, table);
  } else {
    publish_row(txn, change, change.action, table);
  }
  if (options_.audit_topic && change.is_row_change() && table.is_customer) {
    if (const std::optional<AuditEntry> entry = audit_entry_for(change)) {
      audit_message(value_buffer_, *entry, txn, source_lsns_.next(change.lsn));
      produce(audit_topic_, entry->customer_uuid, &value_buffer_);
    }
  }
}

void KafkaSink::dead_letter(const TxnInfo& txn, const DeadLetter& letter) {
  const std::string key = fmt::format("{{\"lsn\":\"{}\"}}", format_lsn(letter.wal_position));
  const std::string value = dead_letter_message(txn, letter, options_.context.db);
  value_buffer_.Clear();
  std::memcpy(value_buffer_.Push(value.size()), value.data(), value.size());
  produce(dead_letter_topic_, key, &value_buffer_);
}

void KafkaSink::snapshot_row(const TxnInfo& txn, const decode::Change& row) {
  const TableInfo& table = table_info(row);
  const bool has_key = table.key_columns != nullptr && debezium_key(key_buffer_, row, *table.key_columns);
  const std::string_view key = has_key ? std::string_view(key_buffer_.GetString(), key_buffer_.GetSize())
                                       : std::string_view();
  debezium_value(value_buffer_, row, txn, options_.context, /*snapshot=*/true, now_ms());
  produce(table.topic, key, &value_buffer_);
}

void KafkaSink::commit(const TxnInfo&) {
  if (!ring_.empty()) ring_.back().committed = true;
  advance();
}

bool KafkaSink::wants_flush() const {
  if (ring_.empty()) return false;
  return ring_.size() >= kPollEveryTxns || std::chrono::steady_clock::now() - last_poll_ >= kPollGap;
}

void KafkaSink::flush() {
  last_poll_ = std::chrono::steady_clock::now();
  rd_kafka_poll(rk_, 0);
  throw_if_failed();
  advance();
}

void KafkaSink::abort() {
  // Messages of an unfinished transaction are already queued; they may reach
  // Kafka but are never acknowledged, so the restart produces them again.
  if (!ring_.empty() && !ring_.back().committed) ring_.pop_back();
}

void KafkaSink::drain(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!ring_.empty() && std::chrono::steady_clock::now() < until && failure_.empty()) {
    rd_kafka_poll(rk_, 50);
    advance();
  }
}

std::size_t KafkaSink::queue_depth() const { return static_cast<std::size_t>(rd_kafka_outq_len(rk_)); }

}  // namespace cdc::sinks
