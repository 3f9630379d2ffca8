#include "cdc/sinks/kafka/envelope.hpp"

#include <charconv>
#include <cstring>
#include <string>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "cdc/core/pg_time.hpp"
#include "cdc/decode/pg_types.hpp"
#include "json_writer.hpp"

namespace cdc::sinks {
namespace {

using decode::Column;
using decode::ValueKind;
using Writer = JsonWriter;


enum class Rendering { Number, Bool, String, Timestamp };

/// As Debezium renders a type with decimal.handling.mode=string: numeric,
/// uuid, text and jsonb as strings.
Rendering rendering_of(const Column& column) {
  switch (decode::type_class(column.type)) {
    case decode::TypeClass::Integer:
    case decode::TypeClass::Float: return Rendering::Number;
    case decode::TypeClass::Bool: return Rendering::Bool;
    case decode::TypeClass::TimestampTz: return Rendering::Timestamp;
    case decode::TypeClass::Numeric:
    case decode::TypeClass::Other: return Rendering::String;
  }
  return Rendering::String;
}

void write_string(Writer& writer, std::string_view text) { writer.string(text); }

/// The ISO text of the last few timestamps converted (text that does not
/// parse stays as it is): an UPDATE's old and new row mostly share their
/// timestamps, and a batch of rows often shares them too.
class RecentIsoTimestamps {
 public:
  std::string_view iso(std::string_view pg_text) {
    for (Entry& entry : entries_) {
      if (entry.pg_text == pg_text) return entry.iso;
    }
    Entry& entry = entries_[next_];
    next_ = (next_ + 1) % kEntries;
    entry.pg_text.assign(pg_text);
    char iso[kIsoTimestampMax];
    const std::size_t length = iso_timestamp(pg_text, iso);
    if (length > 0) {
      entry.iso.assign(iso, length);
    } else {
      entry.iso.assign(pg_text);
    }
    return entry.iso;
  }

 private:
  static constexpr std::size_t kEntries = 4;
  struct Entry {
    std::string pg_text;  ///< empty: unused (no timestamp text is empty)
    std::string iso;
  };
  Entry entries_[kEntries];
  std::size_t next_ = 0;
};

RecentIsoTimestamps& recent_iso_timestamps() {
  thread_local RecentIsoTimestamps recent;
  return recent;
}

void write_value(Writer& writer, const Column& column) {
  if (column.is_null()) {
    writer.Null();
    return;
  }
  switch (rendering_of(column)) {
    case Rendering::Number:
      if (column.kind == ValueKind::Number) {
        writer.RawValue(column.text.data(), column.text.size(), rapidjson::kNumberType);
      } else {
        write_string(writer, column.text);
      }
      return;
    case Rendering::Bool:
      if (column.kind == ValueKind::Bool) {
        writer.Bool(column.text == "true");
      } else {
        write_string(writer, column.text);
      }
      return;
    case Rendering::Timestamp:
      write_string(writer, recent_iso_timestamps().iso(column.text));
      return;
    case Rendering::String:
      write_string(writer, column.text);
      return;
  }
}

void write_row(Writer& writer, const std::vector<Column>& columns) {
  if (columns.empty()) {
    writer.Null();
    return;
  }
  writer.StartObject();
  for (const Column& column : columns) {
    write_string(writer, column.name);
    write_value(writer, column);
  }
  writer.EndObject();
}

void write_json_or_null(Writer& writer, const std::optional<std::string>& json, bool as_text) {
  if (!json) {
    writer.Null();
  } else if (as_text) {
    write_string(writer, *json);
  } else {
    writer.RawValue(json->data(), json->size(), rapidjson::kObjectType);
  }
}

}  // namespace

namespace {

/// The ISO-8601 form of an instant: format_timestamp_utc's text with 'T',
/// trailing zeros of the fraction dropped and 'Z' for "+00".
std::size_t iso_timestamp_us(std::int64_t us, char* out) {
  std::size_t n = format_timestamp_utc(us, out);  // "YYYY-MM-DD HH:MM:SS.ffffff+00"
  out[10] = 'T';
  n -= 3;
  while (out[n - 1] == '0') --n;
  if (out[n - 1] == '.') --n;
  out[n++] = 'Z';
  return n;
}

}  // namespace

std::size_t iso_timestamp(std::string_view pg_text, char* out) {
  const std::optional<std::int64_t> us = parse_pg_timestamp(pg_text);
  if (!us) return 0;
  return iso_timestamp_us(*us, out);
}

std::string iso_timestamp(const std::string& pg_text) {
  char out[kIsoTimestampMax];
  const std::size_t n = iso_timestamp(pg_text, out);
  return n > 0 ? std::string(out, n) : pg_text;
}

namespace {

/// Debezium's source.snapshot of a read.
const char* snapshot_marker(decode::SnapshotMarker marker) {
  switch (marker) {
    case decode::SnapshotMarker::First: return "first";
    case decode::SnapshotMarker::FirstInTable: return "first_in_data_collection";
    case decode::SnapshotMarker::LastInTable: return "last_in_data_collection";
    case decode::SnapshotMarker::Last: return "last";
    case decode::SnapshotMarker::Incremental: return "incremental";
    case decode::SnapshotMarker::True: break;
  }
  return "true";
}

}  // namespace

char debezium_op(decode::Action action) {
  switch (action) {
    case decode::Action::Insert: return 'c';
    case decode::Action::Update: return 'u';
    case decode::Action::Delete: return 'd';
    case decode::Action::Truncate: return 't';
    case decode::Action::Read: return 'r';
    default: return '?';
  }
}

std::string debezium_value(const decode::Change& change, const TxnInfo& txn, const EnvelopeContext& context,
                           std::int64_t now_ms) {
  JsonBuffer buffer;
  debezium_value(buffer, change, txn, context, now_ms);
  return {buffer.GetString(), buffer.GetSize()};
}

void append_raw(JsonBuffer& buffer, std::string_view text) {
  if (!text.empty()) std::memcpy(buffer.Push(text.size()), text.data(), text.size());
}

void debezium_value(JsonBuffer& buffer, const decode::Change& change, const TxnInfo& txn,
                    const EnvelopeContext& context, std::int64_t now_ms) {
  debezium_value(buffer, change, change.action, txn, context, now_ms);
}

void debezium_value(JsonBuffer& buffer, const decode::Change& change, decode::Action as, const TxnInfo& txn,
                    const EnvelopeContext& context, std::int64_t now_ms) {
  debezium_value(buffer, change, as, txn, context, now_ms, EnvelopeOptions{});
}

void debezium_value(JsonBuffer& buffer, const decode::Change& change, decode::Action as, const TxnInfo& txn,
                    const EnvelopeContext& context, std::int64_t now_ms, const EnvelopeOptions& options) {
  buffer.Clear();
  append_raw(buffer, options.frame.prefix);
  Writer writer(buffer);
  writer.StartObject();
  writer.Key("before");
  if (as == decode::Action::Update || as == decode::Action::Delete) {
    write_row(writer, change.identity);
  } else {
    writer.Null();
  }
  writer.Key("after");
  if (as == decode::Action::Insert || as == decode::Action::Update || as == decode::Action::Read) {
    write_row(writer, change.columns);
  } else {
    writer.Null();
  }
  writer.Key("source");
  writer.StartObject();
  writer.Key("version");
  write_string(writer, context.version);
  writer.Key("connector");
  write_string(writer, context.connector);
  writer.Key("name");
  write_string(writer, context.name);
  writer.Key("ts_ms");
  writer.Int64(txn.commit_time_us / 1000);
  writer.Key("ts_us");
  writer.Int64(txn.commit_time_us);
  writer.Key("ts_ns");
  writer.Int64(txn.commit_time_us * 1000);
  writer.Key("snapshot");
  writer.String(as == decode::Action::Read ? snapshot_marker(change.snapshot) : "false");
  writer.Key("db");
  write_string(writer, context.db);
  writer.Key("schema");
  write_string(writer, change.schema);
  writer.Key("table");
  write_string(writer, change.table);
  writer.Key("txId");
  writer.Uint(txn.xid);
  writer.Key("lsn");
  writer.Uint64(change.lsn);
  // As Debezium: ["<commit LSN>","<change LSN>"], ordered per key in commit
  // order even across a snapshot (reads carry the snapshot's point twice).
  writer.Key("sequence");
  char sequence[64];
  char* end = sequence;
  for (const Lsn lsn : {txn.commit_lsn, change.lsn}) {
    const char separator = end == sequence ? '[' : ',';
    *end++ = separator;
    *end++ = '"';
    end = std::to_chars(end, sequence + sizeof sequence, lsn).ptr;
    *end++ = '"';
  }
  *end++ = ']';
  writer.string(std::string_view(sequence, static_cast<std::size_t>(end - sequence)));
  writer.Key("xmin");
  writer.Null();
  writer.EndObject();
  writer.Key("op");
  const char op[2] = {debezium_op(as), '\0'};
  writer.String(op);
  writer.Key("ts_ms");
  writer.Int64(now_ms);
  writer.Key("ts_us");
  writer.Int64(now_ms * 1000);
  writer.Key("ts_ns");
  writer.Int64(now_ms * 1000000);
  if (options.transaction_member) {
    writer.Key("transaction");
    if (options.transaction == nullptr) {
      writer.Null();
    } else {
      writer.StartObject();
      writer.Key("id");
      write_string(writer, options.transaction->id);
      writer.Key("total_order");
      writer.Uint64(options.transaction->total_order);
      writer.Key("data_collection_order");
      writer.Uint64(options.transaction->data_collection_order);
      writer.EndObject();
    }
  }
  writer.EndObject();
  append_raw(buffer, options.frame.suffix);
}

std::string debezium_key(const decode::Change& change, const std::vector<std::string>& key_columns) {
  JsonBuffer buffer;
  if (!debezium_key(buffer, change, key_columns)) return {};
  return {buffer.GetString(), buffer.GetSize()};
}

bool debezium_key(JsonBuffer& buffer, const decode::Change& change, const std::vector<std::string>& key_columns) {
  return debezium_key(buffer, change, change.action == decode::Action::Delete, key_columns);
}

bool debezium_key(JsonBuffer& buffer, const decode::Change& change, bool from_old,
                  const std::vector<std::string>& key_columns) {
  return debezium_key(buffer, change, from_old, key_columns, JsonFrame{});
}

bool debezium_key(JsonBuffer& buffer, const decode::Change& change, bool from_old,
                  const std::vector<std::string>& key_columns, const JsonFrame& frame) {
  buffer.Clear();
  append_raw(buffer, frame.prefix);
  Writer writer(buffer);
  writer.StartObject();
  for (const std::string& name : key_columns) {
    const Column* column = from_old ? change.old_column(name) : change.column(name);
    if (column == nullptr) {
      buffer.Clear();
      return false;
    }
    write_string(writer, name);
    write_value(writer, *column);
  }
  writer.EndObject();
  append_raw(buffer, frame.suffix);
  return true;
}

std::string audit_message(const AuditEntry& entry, const TxnInfo& txn, Lsn source_lsn) {
  JsonBuffer buffer;
  audit_message(buffer, entry, txn, source_lsn);
  return {buffer.GetString(), buffer.GetSize()};
}

void audit_message(JsonBuffer& buffer, const AuditEntry& entry, const TxnInfo& txn, Lsn source_lsn) {
  audit_message(buffer, entry, txn, source_lsn, JsonFrame{}, /*json_as_text=*/false);
}

void audit_message(JsonBuffer& buffer, const AuditEntry& entry, const TxnInfo& txn, Lsn source_lsn,
                   const JsonFrame& frame, bool json_as_text) {
  buffer.Clear();
  append_raw(buffer, frame.prefix);
  Writer writer(buffer);
  writer.StartObject();
  writer.Key("created_at");
  // As iso_timestamp(format_timestamp_utc(..)): text that does not parse back
  // (years outside 1..9999) goes out unchanged.
  char formatted[kTimestampUtcMax];
  const std::size_t formatted_length = format_timestamp_utc(txn.commit_time_us, formatted);
  write_string(writer, recent_iso_timestamps().iso(std::string_view(formatted, formatted_length)));
  writer.Key("customer_uuid");
  write_string(writer, entry.customer_uuid);
  writer.Key("action");
  write_string(writer, entry.action);
  writer.Key("old_value");
  write_json_or_null(writer, entry.old_value, json_as_text);
  writer.Key("new_value");
  write_json_or_null(writer, entry.new_value, json_as_text);
  writer.Key("source_lsn");
  write_string(writer, format_lsn(source_lsn));
  writer.Key("source_xid");
  writer.Uint(txn.xid);
  writer.EndObject();
  append_raw(buffer, frame.suffix);
}

}  // namespace cdc::sinks
