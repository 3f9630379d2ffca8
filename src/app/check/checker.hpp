// The core every item of `customer-cdc check` works with: the output (one
// redacted line per item), the PostgreSQL connection and what earlier items
// found out.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cdc/app/check.hpp"
#include "cdc/app/config.hpp"
#include "cdc/core/pg.hpp"

namespace cdc::app::check {

inline constexpr const char* kRerun = "then run `customer-cdc check` again";

using Emit = std::function<void(const CheckItem&)>;

/// Lines from libpq and librdkafka may span several lines (DETAIL:, HINT:);
/// an item is one line.
std::string one_line(std::string_view text);
/// An SQL identifier as a user would type it: bare when it needs no quotes.
std::string ident(std::string_view name);
/// "schema.table" with each part quoted as needed.
std::string qualified(const std::string& table);
std::string human_bytes(std::int64_t bytes);
std::string join(const std::vector<std::string>& parts, std::string_view separator);
/// libpq notice processor that drops notices: they are not check items.
void ignore_notice(void*, const char*);

/// Secrets that must never reach the output: the DSN password and the values
/// of Kafka properties. Applied to every line as a last line of defence (the
/// checks themselves never format a secret).
class Redactor {
 public:
  void add(const std::string& secret);
  std::string apply(std::string text) const;

 private:
  std::vector<std::string> secrets_;
};

/// What the connect item learned about the server and the current role.
struct ServerFacts {
  std::string user;
  std::string db;
  std::string version;  ///< server_version, e.g. "15.4"
  int version_num = 0;  ///< server_version_num, e.g. 150004
  bool in_recovery = false;
  bool superuser = false;
  bool replication = false;
  bool bypassrls = false;
};

/// Findings of earlier items that later items depend on.
struct Findings {
  bool wal_level_ok = false;
  bool free_slot = false;
  bool free_sender = false;
  bool plugin_allowed = true;
  std::set<std::string> missing_tables;  ///< tables the schema item found missing
};

class Checker {
 public:
  Checker(const Config& config, Emit emit);

  const Config& config() const { return config_; }
  /// user and dbname as written in postgres.dsn ("" when not set there).
  const std::string& dsn_user() const { return dsn_user_; }
  const std::string& dsn_db() const { return dsn_db_; }
  bool all_ok() const { return all_ok_; }

  void ok(const std::string& item, const std::string& detail);
  void fail(const std::string& item, const std::string& detail, const std::string& fix);
  /// Runs one item; an exception becomes a FAIL line for it (never a crash).
  void step(const std::string& item, const std::function<void()>& body);

  pg::Result query(const std::string& sql, const pg::Params& params = {});
  std::string scalar(const std::string& sql, const pg::Params& params = {});
  /// The table's oid, looked up in the catalog (unlike to_regclass() or a
  /// ::regclass cast, this needs no USAGE on its schema); "" if it does not exist.
  std::string table_oid(const std::string& table);
  bool exists(const std::string& table) { return !table_oid(table).empty(); }
  /// The current role as an SQL identifier.
  std::string role() const { return ident(server.user); }

  std::unique_ptr<pg::Connection> conn;  ///< set by the connect item while PostgreSQL items run
  ServerFacts server;
  Findings findings;

 private:
  void emit(CheckItem item);

  const Config& config_;
  Emit emit_;
  Redactor redactor_;
  bool all_ok_ = true;
  std::string dsn_user_;
  std::string dsn_db_;
};

}  // namespace cdc::app::check
