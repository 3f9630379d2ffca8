#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "cdc/core/pg_time.hpp"
#include "cdc/decode/change.hpp"

namespace cdc::decode {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(JsonWriter& writer, const std::string& text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void write_tuple(JsonWriter& writer, const char* name, const std::vector<Column>& tuple) {
  writer.Key(name);
  writer.StartArray();
  for (const Column& column : tuple) {
    writer.StartObject();
    writer.Key("name");
    write_string(writer, column.name);
    writer.Key("type");
    write_string(writer, column.type);
    writer.Key("value");
    switch (column.kind) {
      case ValueKind::Null: writer.Null(); break;
      case ValueKind::Bool: writer.Bool(column.text == "true"); break;
      case ValueKind::Number:
        writer.RawValue(column.text.data(), column.text.size(), rapidjson::kNumberType);
        break;
      case ValueKind::String: write_string(writer, column.text); break;
    }
    writer.EndObject();
  }
  writer.EndArray();
}

}  // namespace

std::string describe_change(const Change& change) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("action");
  const char action = static_cast<char>(change.action);
  writer.String(&action, 1);
  writer.Key("xid");
  writer.Uint(change.xid);
  writer.Key("timestamp");
  write_string(writer, format_timestamp_utc(change.timestamp_us));
  writer.Key("lsn");
  write_string(writer, format_lsn(change.lsn));
  writer.Key("schema");
  write_string(writer, change.schema);
  writer.Key("table");
  write_string(writer, change.table);
  if (!change.columns.empty()) write_tuple(writer, "columns", change.columns);
  if (!change.identity.empty()) write_tuple(writer, "identity", change.identity);
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace cdc::decode
