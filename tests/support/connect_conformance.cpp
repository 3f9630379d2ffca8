#include "support/connect_conformance.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <limits>
#include <regex>
#include <set>
#include <sstream>

namespace cdc::testing {
namespace {

using rapidjson::Value;

class Checker {
 public:
  std::vector<std::string> problems;

  void fail(const std::string& path, const std::string& what) { problems.push_back(path + ": " + what); }

  /// Validates a schema node; false when it cannot be used to read a payload.
  bool schema(const Value& s, const std::string& path) {
    if (!s.IsObject()) return fail(path, "schema is not an object"), false;
    if (!s.HasMember("type") || !s["type"].IsString()) return fail(path, "schema has no string \"type\""), false;
    static const std::set<std::string> kTypes = {"boolean", "int8",  "int16", "int32", "int64",  "float",
                                                 "double",  "bytes", "string", "array", "map", "struct"};
    const std::string type = s["type"].GetString();
    if (kTypes.count(type) == 0) return fail(path, "unknown schema type " + type), false;
    static const std::set<std::string> kMembers = {"type",    "optional", "name",    "version", "doc",   "parameters",
                                                   "default", "field",    "fields",  "items",   "keys",  "values"};
    for (auto m = s.MemberBegin(); m != s.MemberEnd(); ++m) {
      if (kMembers.count(m->name.GetString()) == 0) fail(path, std::string("unknown schema member ") + m->name.GetString());
    }
    if (s.HasMember("optional") && !s["optional"].IsBool()) fail(path, "\"optional\" is not a boolean");
    if (s.HasMember("name") && !s["name"].IsString()) fail(path, "\"name\" is not a string");
    if (s.HasMember("version") && !s["version"].IsInt()) fail(path, "\"version\" is not an integer");
    if (s.HasMember("doc") && !s["doc"].IsString()) fail(path, "\"doc\" is not a string");
    if (s.HasMember("parameters")) {
      const Value& p = s["parameters"];
      if (!p.IsObject()) {
        fail(path, "\"parameters\" is not an object");
      } else {
        for (auto m = p.MemberBegin(); m != p.MemberEnd(); ++m) {
          if (!m->value.IsString()) fail(path + "/parameters", "parameter values must be strings");
        }
      }
    }
    bool usable = true;
    if (type == "struct") {
      if (!s.HasMember("fields") || !s["fields"].IsArray()) return fail(path, "struct without a \"fields\" array"), false;
      std::set<std::string> names;
      for (const Value& f : s["fields"].GetArray()) {
        if (!f.IsObject() || !f.HasMember("field") || !f["field"].IsString()) {
          fail(path, "struct field without a string \"field\" name");
          usable = false;
          continue;
        }
        const std::string name = f["field"].GetString();
        if (!names.insert(name).second) fail(path, "duplicate field " + name);
        usable = schema(f, path + "." + name) && usable;
      }
    } else if (type == "array") {
      if (!s.HasMember("items")) return fail(path, "array without \"items\""), false;
      usable = schema(s["items"], path + "[]");
    } else if (type == "map") {
      if (!s.HasMember("keys") || !s.HasMember("values")) return fail(path, "map without \"keys\"/\"values\""), false;
      usable = schema(s["keys"], path + "{key}") && schema(s["values"], path + "{value}");
    }
    if (usable && s.HasMember("default")) value(s, &s["default"], path + "(default)");
    return usable;
  }

  static bool optional(const Value& s) { return s.HasMember("optional") && s["optional"].GetBool(); }

  /// Checks `v` (nullptr: absent) against schema `s`, as JsonConverter.convertToConnect.
  void value(const Value& s, const Value* v, const std::string& path) {
    if (v == nullptr || v->IsNull()) {
      if (!optional(s) && !s.HasMember("default")) fail(path, "null (or absent) for a required field");
      return;
    }
    const std::string type = s["type"].GetString();
    if (type == "boolean") {
      if (!v->IsBool()) fail(path, "expected a boolean");
    } else if (type == "int8" || type == "int16" || type == "int32" || type == "int64") {
      integer(type, *v, path);
    } else if (type == "float" || type == "double") {
      if (!v->IsNumber()) fail(path, "expected a number");
    } else if (type == "string") {
      if (!v->IsString()) fail(path, "expected a string");
      else semantic(s, v->GetString(), path);
    } else if (type == "bytes") {
      static const std::regex kBase64("^[A-Za-z0-9+/]*={0,2}$");
      if (!v->IsString() || !std::regex_match(v->GetString(), kBase64)) fail(path, "expected base64 bytes");
    } else if (type == "array") {
      if (!v->IsArray()) return fail(path, "expected an array");
      std::size_t i = 0;
      for (const Value& e : v->GetArray()) value(s["items"], &e, path + "[" + std::to_string(i++) + "]");
    } else if (type == "map") {
      if (!v->IsObject()) return fail(path, "expected an object (string-keyed map)");
      for (auto m = v->MemberBegin(); m != v->MemberEnd(); ++m) value(s["values"], &m->value, path + "." + m->name.GetString());
    } else if (type == "struct") {
      if (!v->IsObject()) return fail(path, "expected an object (struct)");
      std::set<std::string> declared;
      for (const Value& f : s["fields"].GetArray()) {
        const std::string name = f["field"].GetString();
        declared.insert(name);
        auto m = v->FindMember(name.c_str());
        value(f, m == v->MemberEnd() ? nullptr : &m->value, path + "." + name);
      }
      for (auto m = v->MemberBegin(); m != v->MemberEnd(); ++m) {
        if (declared.count(m->name.GetString()) == 0) fail(path, std::string("member not in the schema: ") + m->name.GetString());
      }
    }
  }

  void integer(const std::string& type, const Value& v, const std::string& path) {
    if (!v.IsInt64() || v.IsDouble()) return fail(path, "expected an integer (" + type + ")");
    const std::int64_t n = v.GetInt64();
    const std::int64_t bound = type == "int8" ? 127 : type == "int16" ? 32767 : type == "int32" ? 2147483647
                                                                                                   : std::numeric_limits<std::int64_t>::max();
    if (n > bound || n < -bound - 1) fail(path, "out of range for " + type);
  }

  void semantic(const Value& s, const std::string& text, const std::string& path) {
    if (!s.HasMember("name")) return;
    const std::string name = s["name"].GetString();
    if (name == "io.debezium.data.Uuid") {
      static const std::regex kUuid("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");
      if (!std::regex_match(text, kUuid)) fail(path, "not a UUID: " + text);
    } else if (name == "io.debezium.data.Json") {
      rapidjson::Document doc;
      doc.Parse(text.c_str(), text.size());
      if (doc.HasParseError()) fail(path, "not JSON text: " + text);
    } else if (name == "io.debezium.time.ZonedTimestamp") {
      static const std::regex kIso(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$)");
      if (!std::regex_match(text, kIso)) fail(path, "not an ISO-8601 zoned timestamp: " + text);
    } else if (name == "io.debezium.data.Enum") {
      const Value* allowed = s.HasMember("parameters") && s["parameters"].HasMember("allowed")
                                 ? &s["parameters"]["allowed"]
                                 : nullptr;
      if (allowed == nullptr) return fail(path, "Enum without parameters.allowed");
      std::stringstream list(allowed->GetString());
      for (std::string item; std::getline(list, item, ',');) {
        if (item == text) return;
      }
      fail(path, "\"" + text + "\" is not one of " + allowed->GetString());
    }
  }
};

}  // namespace

std::vector<std::string> connect_conformance(std::string_view message) {
  Checker check;
  rapidjson::Document doc;
  doc.Parse(message.data(), message.size());
  if (doc.HasParseError()) {
    check.fail("(message)", std::string("not JSON: ") + rapidjson::GetParseError_En(doc.GetParseError()));
    return check.problems;
  }
  if (doc.IsNull()) return check.problems;
  if (!doc.IsObject() || doc.MemberCount() != 2 || !doc.HasMember("schema") || !doc.HasMember("payload")) {
    check.fail("(message)", "not exactly {\"schema\":..,\"payload\":..}");
    return check.problems;
  }
  if (check.schema(doc["schema"], "schema")) check.value(doc["schema"], &doc["payload"], "payload");
  return check.problems;
}

std::optional<std::string> connect_payload(std::string_view message) {
  rapidjson::Document doc;
  doc.Parse(message.data(), message.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("payload")) return std::nullopt;
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc["payload"].Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace cdc::testing
