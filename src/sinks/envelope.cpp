#include "cdc/sinks/envelope.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "cdc/decode/wal2json.hpp"
#include "cdc/sinks/copy_text.hpp"

namespace cdc::sinks {
namespace {

using decode::Column;
using decode::ValueKind;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

bool starts_with(const std::string& text, std::string_view prefix) { return text.rfind(prefix, 0) == 0; }

enum class Rendering { Number, Bool, String, Timestamp };

Rendering rendering_of(const Column& column) {
  const std::string& type = column.type;
  if (type == "bigint" || type == "integer" || type == "smallint" || type == "double precision" || type == "real" ||
      type == "oid") {
    return Rendering::Number;
  }
  if (type == "boolean") return Rendering::Bool;
  if (starts_with(type, "timestamp") && type.find("with time zone") != std::string::npos) return Rendering::Timestamp;
  return Rendering::String;  // numeric (decimal.handling.mode=string), uuid, text, jsonb, ...
}

void write_string(Writer& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
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
      write_string(writer, iso_timestamp(column.text));
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

void write_json_or_null(Writer& writer, const std::optional<std::string>& json) {
  if (!json) {
    writer.Null();
  } else {
    writer.RawValue(json->data(), json->size(), rapidjson::kObjectType);
  }
}

}  // namespace

std::string iso_timestamp(const std::string& pg_text) {
  const std::optional<std::int64_t> us = decode::parse_pg_timestamp(pg_text);
  if (!us) return pg_text;
  std::string text = format_timestamp_utc(*us);  // "YYYY-MM-DD HH:MM:SS.ffffff+00"
  text[10] = 'T';
  text.resize(text.size() - 3);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text + "Z";
}

char debezium_op(const decode::Change& change, bool snapshot) {
  if (snapshot) return 'r';
  switch (change.action) {
    case decode::Action::Insert: return 'c';
    case decode::Action::Update: return 'u';
    case decode::Action::Delete: return 'd';
    case decode::Action::Truncate: return 't';
    default: return '?';
  }
}

std::string debezium_value(const decode::Change& change, const TxnInfo& txn, const EnvelopeContext& context,
                           bool snapshot, std::int64_t now_ms) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  writer.Key("before");
  if (change.action == decode::Action::Update || change.action == decode::Action::Delete) {
    write_row(writer, change.identity);
  } else {
    writer.Null();
  }
  writer.Key("after");
  if (change.action == decode::Action::Insert || change.action == decode::Action::Update) {
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
  writer.Key("snapshot");
  writer.String(snapshot ? "true" : "false");
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
  writer.Key("xmin");
  writer.Null();
  writer.EndObject();
  writer.Key("op");
  const char op[2] = {debezium_op(change, snapshot), '\0'};
  writer.String(op);
  writer.Key("ts_ms");
  writer.Int64(now_ms);
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::string debezium_key(const decode::Change& change, const std::vector<std::string>& key_columns) {
  const bool from_old = change.action == decode::Action::Delete;
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  for (const std::string& name : key_columns) {
    const Column* column = from_old ? change.old_column(name) : change.column(name);
    if (column == nullptr) return {};
    write_string(writer, name);
    write_value(writer, *column);
  }
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::string audit_message(const AuditEntry& entry, const TxnInfo& txn, Lsn source_lsn) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  writer.Key("created_at");
  std::string created = format_timestamp_utc(txn.commit_time_us);
  write_string(writer, iso_timestamp(created));
  writer.Key("customer_uuid");
  write_string(writer, entry.customer_uuid);
  writer.Key("action");
  write_string(writer, entry.action);
  writer.Key("old_value");
  write_json_or_null(writer, entry.old_value);
  writer.Key("new_value");
  write_json_or_null(writer, entry.new_value);
  writer.Key("source_lsn");
  write_string(writer, format_lsn(source_lsn));
  writer.Key("source_xid");
  writer.Uint(txn.xid);
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace cdc::sinks
