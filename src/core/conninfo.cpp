#include "cdc/core/conninfo.hpp"

#include <libpq-fe.h>

#include <algorithm>

namespace cdc::pg {

std::optional<std::string> ConninfoOptions::find(std::string_view key) const {
  const auto it = std::find(keys.begin(), keys.end(), key);
  if (it == keys.end()) return std::nullopt;
  return values[static_cast<std::size_t>(it - keys.begin())];
}

std::optional<ConninfoOptions> parse_conninfo(const std::string& conninfo, std::string* libpq_error) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &err);
  if (options == nullptr) {
    if (libpq_error != nullptr) {
      *libpq_error = err != nullptr ? err : "out of memory";
      libpq_error->erase(libpq_error->find_last_not_of("\n ") + 1);  // libpq ends it with a newline
    }
    if (err != nullptr) PQfreemem(err);
    return std::nullopt;
  }
  ConninfoOptions parsed;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && o->val[0] != '\0') {
      parsed.keys.emplace_back(o->keyword);
      parsed.values.emplace_back(o->val);
    }
  }
  PQconninfoFree(options);
  return parsed;
}

std::string without_quoted_text(const std::string& message) {
  std::string out;
  bool quoted = false;
  for (const char c : message) {
    if (c == '"') {
      if (!quoted) out += "\"...\"";
      quoted = !quoted;
    } else if (!quoted) {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> conninfo_problem(const std::string& conninfo) {
  std::string error;
  if (parse_conninfo(conninfo, &error)) return std::nullopt;
  return without_quoted_text(error);
}

std::string describe_conninfo(const std::string& conninfo) {
  const auto options = parse_conninfo(conninfo);
  if (!options) return "(unparsable dsn)";
  std::string host = "(default host)";
  std::string port;
  std::string dbname;
  for (std::size_t i = 0; i < options->keys.size(); ++i) {
    if (options->keys[i] == "host" || (options->keys[i] == "hostaddr" && host == "(default host)")) {
      host = options->values[i];
    }
    if (options->keys[i] == "port") port = options->values[i];
    if (options->keys[i] == "dbname") dbname = options->values[i];
  }
  std::string out = host;
  if (!port.empty()) out += ":" + port;
  if (!dbname.empty()) out += "/" + dbname;
  return out;
}

}  // namespace cdc::pg
