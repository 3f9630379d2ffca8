#include "checker.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <fmt/format.h>

#include "cdc/core/conninfo.hpp"

namespace cdc::app::check {

std::string one_line(std::string_view text) {
  std::string out;
  bool space = false;
  for (const char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string ident(std::string_view name) {
  const bool bare =
      !name.empty() && (std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_') &&
      std::all_of(name.begin(), name.end(), [](char c) {
        return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
      });
  if (bare) return std::string(name);
  std::string out = "\"";
  for (const char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string qualified(const std::string& table) {
  const auto [schema, name] = pg::split_table_name(table);
  return ident(schema) + "." + ident(name);
}

std::string human_bytes(std::int64_t bytes) {
  if (bytes >= (std::int64_t{1} << 30)) return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1 << 30));
  if (bytes >= (std::int64_t{1} << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20));
  if (bytes >= (std::int64_t{1} << 10)) return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / (1 << 10));
  return fmt::format("{} bytes", bytes);
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

void ignore_notice(void*, const char*) {}

void Redactor::add(const std::string& secret) {
  if (secret.size() < 3) return;
  secrets_.push_back(secret);
  // Longest first, so that a secret containing another one is redacted whole.
  std::sort(secrets_.begin(), secrets_.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

std::string Redactor::apply(std::string text) const {
  for (const auto& secret : secrets_) {
    for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3)) {
      text.replace(pos, secret.size(), "***");
    }
  }
  return text;
}

Checker::Checker(const Config& config, Emit emit) : config_(config), emit_(std::move(emit)) {
  if (const auto options = pg::parse_conninfo(config_.postgres.dsn)) {
    if (auto password = options->find("password")) redactor_.add(*password);
    dsn_user_ = options->find("user").value_or("");
    dsn_db_ = options->find("dbname").value_or("");
  }
  if (const char* pw = std::getenv("PGPASSWORD"); pw != nullptr) redactor_.add(pw);
  for (const auto& [key, value] : config_.kafka.properties) {
    const bool trivial = value == "true" || value == "false" || std::all_of(value.begin(), value.end(), [](char c) {
                           return std::isdigit(static_cast<unsigned char>(c));
                         });
    if (!trivial) redactor_.add(value);
  }
}

void Checker::ok(const std::string& item, const std::string& detail) { emit(CheckItem{item, true, detail, ""}); }

void Checker::fail(const std::string& item, const std::string& detail, const std::string& fix) {
  emit(CheckItem{item, false, detail, fix});
}

void Checker::emit(CheckItem item) {
  item.detail = redactor_.apply(one_line(item.detail));
  item.fix = redactor_.apply(one_line(item.fix));
  if (!item.ok) all_ok_ = false;
  emit_(item);
}

void Checker::step(const std::string& item, const std::function<void()>& body) {
  try {
    body();
  } catch (const pg::Error& e) {
    if (e.connection_lost() || (conn && !conn->ok())) {
      fail(item, fmt::format("the connection to PostgreSQL failed: {}", e.what()),
           "check that the server is up and the network stable (server log), " + std::string(kRerun));
    } else {
      fail(item, fmt::format("query failed: {}", e.what()),
           "see the error above and the PostgreSQL server log, " + std::string(kRerun));
    }
  } catch (const std::exception& e) {
    fail(item, fmt::format("check failed: {}", e.what()), "see the error, " + std::string(kRerun));
  }
}

pg::Result Checker::query(const std::string& sql, const pg::Params& params) {
  return params.empty() ? conn->exec(sql) : conn->exec_params(sql, params);
}

std::string Checker::scalar(const std::string& sql, const pg::Params& params) {
  const pg::Result r = query(sql, params);
  if (r.rows() == 0 || r.is_null(0, 0)) return "";
  return std::string(r.value(0, 0));
}

std::string Checker::table_oid(const std::string& table) {
  const auto [schema, name] = pg::split_table_name(table);
  return scalar(
      "SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = $1 AND c.relname = $2",
      {schema, name});
}

}  // namespace cdc::app::check
