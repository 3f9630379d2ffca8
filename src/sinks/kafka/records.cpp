#include "cdc/sinks/kafka/records.hpp"

#include <fmt/format.h>
#include <rapidjson/writer.h>

#include "cdc/core/clock.hpp"
#include "cdc/sinks/change_columns.hpp"
#include "cdc/sinks/dead_letter.hpp"

namespace cdc::sinks {
namespace {

std::int64_t now_ms() { return unix_now_us() / 1000; }

bool key_changed(const decode::Change& change, const std::vector<std::string>& key_columns) {
  for (const auto& name : key_columns) {
    const decode::Column* now = change.column(name);
    const decode::Column* before = change.old_column(name);
    if (now != nullptr && before != nullptr && (now->kind != before->kind || now->text != before->text)) return true;
  }
  return false;
}

}  // namespace

KafkaRecords::KafkaRecords(KafkaRecordOptions options, RecordOutput& output)
    : options_(std::move(options)),
      output_(output),
      audit_topic_(options_.topic_prefix + ".audit"),
      dead_letter_topic_(options_.topic_prefix + ".dead_letter"),
      transactions_(options_.topic_prefix + ".transaction", options_.schemas),
      audit_value_prefix_(options_.schemas ? audit_value_prefix(options_.context.name) : std::string()),
      audit_key_prefix_(options_.schemas ? audit_key_prefix() : std::string()) {}

std::vector<std::string> KafkaRecords::topics() const {
  std::vector<std::string> topics;
  for (const auto& table : options_.tables) topics.push_back(table_topic(table));
  if (options_.audit_topic) topics.push_back(audit_topic_);
  if (options_.transaction_metadata) topics.push_back(transactions_.topic());
  return topics;
}

void KafkaRecords::begin() { source_lsns_.reset(); }

void KafkaRecords::begin(const TxnInfo& txn) {
  begin();
  if (options_.transaction_metadata) transactions_.begin(txn);
}

void KafkaRecords::commit(const TxnInfo& /*txn*/) {
  if (options_.transaction_metadata) transactions_.end(output_);
}

const RelationFrames& KafkaRecords::frames_for(TableInfo& table, const decode::Change& change) {
  const std::vector<decode::Column>& columns = !change.columns.empty() ? change.columns : change.identity;
  // A truncate carries no columns: the last version seen describes the table.
  if (columns.empty() ? table.frames.built : frames_match(table.frames, columns)) return table.frames;
  std::vector<std::string> not_null;
  if (options_.not_null_columns) not_null = options_.not_null_columns(table.qualified);
  table.frames = relation_frames(RelationSchemaInput{options_.context.name, table.schema, table.table, &columns,
                                                     table.key_columns, &not_null});
  return table.frames;
}

KafkaRecords::TableInfo& KafkaRecords::table_info(const decode::Change& change) {
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
    info.topic = table_topic(name);
    const auto keys = options_.primary_keys.find(name);
    info.key_columns = keys != options_.primary_keys.end() ? &keys->second : nullptr;
    info.is_customer = is_table(change, domain::kCustomer);
    info.qualified = name;
    it = tables_.emplace(name, std::move(info)).first;
  }
  last_table_ = &it->second;
  return it->second;
}

void KafkaRecords::produce(const std::string& topic, std::string_view key, const JsonBuffer& value) {
  output_.produce(topic, key, std::string_view(value.GetString(), value.GetSize()));
}

void KafkaRecords::publish_row(const TxnInfo& txn, const decode::Change& change, decode::Action as,
                               TableInfo& table) {
  const RelationFrames* frames = options_.schemas ? &frames_for(table, change) : nullptr;
  bool has_key = false;
  if (as != decode::Action::Truncate && table.key_columns != nullptr) {
    const JsonFrame key_frame = frames ? JsonFrame{frames->key_prefix, kSchemaFrameSuffix} : JsonFrame{};
    has_key = debezium_key(key_buffer_, change, as == decode::Action::Delete, *table.key_columns, key_frame);
  }
  const std::string_view key = has_key ? std::string_view(key_buffer_.GetString(), key_buffer_.GetSize())
                                       : std::string_view();
  EnvelopeOptions envelope;
  if (frames) envelope.frame = JsonFrame{frames->value_prefix, kSchemaFrameSuffix};
  envelope.transaction_member = options_.schemas || options_.transaction_metadata;
  // Snapshot reads belong to no source transaction (Debezium: transaction null).
  if (options_.transaction_metadata && as != decode::Action::Read) {
    envelope.transaction = &transactions_.event(table.qualified, output_);
  }
  debezium_value(value_buffer_, change, as, txn, options_.context, now_ms(), envelope);
  produce(table.topic, key, value_buffer_);
  if (as == decode::Action::Delete && options_.tombstones_on_delete && !key.empty()) {
    output_.produce(table.topic, key, std::nullopt);
  }
}

void KafkaRecords::publish_audit(const TxnInfo& txn, const decode::Change& change) {
  if (const std::optional<AuditEntry> entry = audit_entry_for(change)) {
    if (!options_.schemas) {
      audit_message(value_buffer_, *entry, txn, source_lsns_.next(change.lsn));
      produce(audit_topic_, entry->customer_uuid, value_buffer_);
      return;
    }
    audit_message(value_buffer_, *entry, txn, source_lsns_.next(change.lsn),
                  JsonFrame{audit_value_prefix_, kSchemaFrameSuffix}, /*json_as_text=*/true);
    key_buffer_.Clear();
    append_raw(key_buffer_, audit_key_prefix_);
    rapidjson::Writer<JsonBuffer>(key_buffer_)
        .String(entry->customer_uuid.data(), static_cast<rapidjson::SizeType>(entry->customer_uuid.size()));
    append_raw(key_buffer_, kSchemaFrameSuffix);
    produce(audit_topic_, std::string_view(key_buffer_.GetString(), key_buffer_.GetSize()), value_buffer_);
  }
}

void KafkaRecords::change(const TxnInfo& txn, const decode::Change& change) {
  if (!change.is_row_change() && change.action != decode::Action::Truncate &&
      change.action != decode::Action::Read) {
    return;
  }
  TableInfo& table = table_info(change);
  if (change.action == decode::Action::Update && table.key_columns != nullptr &&
      key_changed(change, *table.key_columns)) {
    // As Debezium does: a delete (and tombstone) of the old key, then a create
    // of the new one, so compacted topics do not keep the old key forever.
    publish_row(txn, change, decode::Action::Delete, table);
    publish_row(txn, change, decode::Action::Insert, table);
  } else {
    publish_row(txn, change, change.action, table);
  }
  if (options_.audit_topic && change.is_row_change() && table.is_customer) publish_audit(txn, change);
}

void KafkaRecords::dead_letter(const TxnInfo& txn, const DeadLetter& letter) {
  const std::string key = fmt::format("{{\"lsn\":\"{}\"}}", format_lsn(letter.wal_position));
  output_.produce(dead_letter_topic_, key, dead_letter_message(txn, letter, options_.context.db));
}

}  // namespace cdc::sinks
