#include "cdc/sinks/kafka/connect_schema.hpp"

#include <algorithm>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "cdc/decode/pg_types.hpp"

namespace cdc::sinks {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

/// A schema's attributes in the order the JSON converter writes them after
/// its type (and fields): optional, name, version, then the field name.
struct Attributes {
  bool optional = false;
  std::string_view name;
  int version = 0;  ///< 0: none
};

void write_string(Writer& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void write_attributes(Writer& w, const Attributes& a) {
  w.Key("optional");
  w.Bool(a.optional);
  if (!a.name.empty()) {
    w.Key("name");
    write_string(w, a.name);
  }
  if (a.version != 0) {
    w.Key("version");
    w.Int(a.version);
  }
}

void write_field_name(Writer& w, std::string_view field) {
  if (field.empty()) return;
  w.Key("field");
  write_string(w, field);
}

void primitive(Writer& w, std::string_view type, const Attributes& a, std::string_view field = {}) {
  w.StartObject();
  w.Key("type");
  write_string(w, type);
  write_attributes(w, a);
  write_field_name(w, field);
  w.EndObject();
}

void start_struct(Writer& w) {
  w.StartObject();
  w.Key("type");
  w.String("struct");
  w.Key("fields");
  w.StartArray();
}

void end_struct(Writer& w, const Attributes& a, std::string_view field = {}) {
  w.EndArray();
  write_attributes(w, a);
  write_field_name(w, field);
  w.EndObject();
}

constexpr Attributes kRequired{false, {}, 0};
constexpr Attributes kOptional{true, {}, 0};
constexpr int kLogicalVersion = 1;  ///< io.debezium.data.* and io.debezium.time.* schemas

/// The Connect schema of a column's values as envelope.cpp writes them.
void column_field(Writer& w, const decode::Column& column, bool optional) {
  const std::string_view type = column.type;
  Attributes a{optional, {}, 0};
  switch (decode::type_class(type)) {
    case decode::TypeClass::Integer:
      primitive(w, type == "smallint" ? "int16" : type == "integer" ? "int32" : "int64", a, column.name);
      return;
    case decode::TypeClass::Float:
      primitive(w, type == "real" ? "float" : "double", a, column.name);
      return;
    case decode::TypeClass::Bool:
      primitive(w, "boolean", a, column.name);
      return;
    case decode::TypeClass::TimestampTz:
      a.name = "io.debezium.time.ZonedTimestamp";
      a.version = kLogicalVersion;
      break;
    case decode::TypeClass::Numeric:  // decimal.handling.mode=string: a plain string
      break;
    case decode::TypeClass::Other:
      if (type == "uuid") {
        a.name = "io.debezium.data.Uuid";
        a.version = kLogicalVersion;
      } else if (type == "jsonb" || type == "json") {
        a.name = "io.debezium.data.Json";
        a.version = kLogicalVersion;
      }
      break;
  }
  primitive(w, "string", a, column.name);
}

bool listed(const std::vector<std::string>* names, std::string_view name) {
  return names != nullptr && std::find(names->begin(), names->end(), name) != names->end();
}

void row_struct(Writer& w, const RelationSchemaInput& in, const std::string& name, std::string_view field) {
  start_struct(w);
  for (const decode::Column& column : *in.columns) {
    const bool required = listed(in.key_columns, column.name) || listed(in.not_null, column.name);
    column_field(w, column, !required);
  }
  end_struct(w, Attributes{true, name, 0}, field);
}

/// io.debezium.connector.postgresql.Source, its fields in the payload's order.
void source_struct(Writer& w) {
  start_struct(w);
  primitive(w, "string", kRequired, "version");
  primitive(w, "string", kRequired, "connector");
  primitive(w, "string", kRequired, "name");
  primitive(w, "int64", kRequired, "ts_ms");
  primitive(w, "int64", kOptional, "ts_us");
  primitive(w, "int64", kOptional, "ts_ns");
  // Debezium's SnapshotRecord enum.
  w.StartObject();
  w.Key("type");
  w.String("string");
  write_attributes(w, Attributes{true, "io.debezium.data.Enum", kLogicalVersion});
  w.Key("parameters");
  w.StartObject();
  w.Key("allowed");
  w.String("true,first,first_in_data_collection,last_in_data_collection,last,false,incremental");
  w.EndObject();
  w.Key("default");
  w.String("false");
  write_field_name(w, "snapshot");
  w.EndObject();
  primitive(w, "string", kRequired, "db");
  primitive(w, "string", kRequired, "schema");
  primitive(w, "string", kRequired, "table");
  primitive(w, "int64", kOptional, "txId");
  primitive(w, "int64", kOptional, "lsn");
  primitive(w, "string", kOptional, "sequence");
  primitive(w, "int64", kOptional, "xmin");
  end_struct(w, Attributes{false, "io.debezium.connector.postgresql.Source", 1}, "source");
}

/// Debezium's event.block.
void transaction_block(Writer& w) {
  start_struct(w);
  primitive(w, "string", kRequired, "id");
  primitive(w, "int64", kRequired, "total_order");
  primitive(w, "int64", kRequired, "data_collection_order");
  end_struct(w, Attributes{true, "event.block", 1}, "transaction");
}

/// `{"schema":<what write_schema writes>,"payload":` (the outer object is
/// left open on purpose: the payload and kSchemaFrameSuffix close it).
template <class WriteSchema>
std::string schema_prefix(WriteSchema write_schema) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("schema");
  write_schema(w);
  std::string out(buffer.GetString(), buffer.GetSize());
  out += ",\"payload\":";
  return out;
}

}  // namespace

bool frames_match(const RelationFrames& frames, const std::vector<decode::Column>& columns) {
  if (!frames.built || frames.columns.size() != columns.size()) return false;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (frames.columns[i].first != columns[i].name || frames.columns[i].second != columns[i].type) return false;
  }
  return true;
}

RelationFrames relation_frames(const RelationSchemaInput& in) {
  static const std::vector<decode::Column> kNoColumns;
  RelationSchemaInput input = in;
  if (input.columns == nullptr) input.columns = &kNoColumns;
  const std::string base =
      std::string(input.logical_name) + "." + std::string(input.schema) + "." + std::string(input.table);

  RelationFrames frames;
  frames.built = true;
  for (const decode::Column& column : *input.columns) frames.columns.emplace_back(column.name, column.type);

  frames.value_prefix = schema_prefix([&](Writer& w) {
    start_struct(w);
    row_struct(w, input, base + ".Value", "before");
    row_struct(w, input, base + ".Value", "after");
    source_struct(w);
    primitive(w, "string", kRequired, "op");
    primitive(w, "int64", kOptional, "ts_ms");
    primitive(w, "int64", kOptional, "ts_us");
    primitive(w, "int64", kOptional, "ts_ns");
    transaction_block(w);
    const std::string envelope = base + ".Envelope";
    end_struct(w, Attributes{false, envelope, 2});
  });
  if (input.key_columns == nullptr || input.key_columns->empty()) return frames;
  frames.key_prefix = schema_prefix([&](Writer& w) {
    start_struct(w);
    for (const std::string& name : *input.key_columns) {
      const auto column = std::find_if(input.columns->begin(), input.columns->end(),
                                       [&](const decode::Column& c) { return c.name == name; });
      if (column != input.columns->end()) column_field(w, *column, false);
    }
    const std::string key = base + ".Key";
    end_struct(w, Attributes{false, key, 0});
  });
  return frames;
}

std::string audit_value_prefix(std::string_view logical_name) {
  return schema_prefix([&](Writer& w) {
    start_struct(w);
    primitive(w, "string", Attributes{false, "io.debezium.time.ZonedTimestamp", kLogicalVersion}, "created_at");
    primitive(w, "string", Attributes{false, "io.debezium.data.Uuid", kLogicalVersion}, "customer_uuid");
    primitive(w, "string", kRequired, "action");
    primitive(w, "string", Attributes{true, "io.debezium.data.Json", kLogicalVersion}, "old_value");
    primitive(w, "string", Attributes{true, "io.debezium.data.Json", kLogicalVersion}, "new_value");
    primitive(w, "string", kRequired, "source_lsn");
    primitive(w, "int64", kRequired, "source_xid");
    const std::string name = std::string(logical_name) + ".audit.Value";
    end_struct(w, Attributes{false, name, 0});
  });
}

std::string audit_key_prefix() {
  return schema_prefix([&](Writer& w) {
    primitive(w, "string", Attributes{false, "io.debezium.data.Uuid", kLogicalVersion});
  });
}

std::string transaction_value_prefix() {
  return schema_prefix([&](Writer& w) {
    start_struct(w);
    primitive(w, "string", kRequired, "status");
    primitive(w, "string", kRequired, "id");
    primitive(w, "int64", kOptional, "event_count");
    w.StartObject();
    w.Key("type");
    w.String("array");
    w.Key("items");
    start_struct(w);
    primitive(w, "string", kRequired, "data_collection");
    primitive(w, "int64", kRequired, "event_count");
    end_struct(w, Attributes{true, "event.collection", 1});
    write_attributes(w, kOptional);
    write_field_name(w, "data_collections");
    w.EndObject();
    primitive(w, "int64", kRequired, "ts_ms");
    end_struct(w, Attributes{false, "io.debezium.connector.common.TransactionMetadataValue", 1});
  });
}

std::string transaction_key_prefix() {
  return schema_prefix([&](Writer& w) {
    start_struct(w);
    primitive(w, "string", kRequired, "id");
    end_struct(w, Attributes{false, "io.debezium.connector.common.TransactionMetadataKey", 1});
  });
}

}  // namespace cdc::sinks
