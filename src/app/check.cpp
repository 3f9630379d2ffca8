// `customer-cdc check`: preflight of everything the daemon needs, one line per
// item, each failure with the exact fix.
#include "cdc/app/check.hpp"

#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "cdc/app/session.hpp"
#include "cdc/core/pg.hpp"
#include "cdc/sinks/kafka/producer_config.hpp"
#include "cdc/stream/replication_stream.hpp"

namespace cdc::app {
namespace {

constexpr std::int64_t kRetainedWalWarnBytes = std::int64_t{1} << 30;  // 1 GiB
constexpr int kKafkaTimeoutMs = 5000;
constexpr std::chrono::milliseconds kSlotCreateTimeout{15000};
constexpr const char* kRerun = "then run `customer-cdc check` again";

using Emit = std::function<void(const CheckItem&)>;

// ---------------------------------------------------------------------------
// Small helpers

/// Lines from libpq and librdkafka may span several lines (DETAIL:, HINT:);
/// an item is one line.
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

/// An SQL identifier as a user would type it: bare when it needs no quotes.
std::string ident(std::string_view name) {
  const bool bare = !name.empty() && (std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_') &&
                    std::all_of(name.begin(), name.end(), [](char c) {
                      return std::islower(static_cast<unsigned char>(c)) ||
                             std::isdigit(static_cast<unsigned char>(c)) || c == '_';
                    });
  if (bare) return std::string(name);
  std::string out = "\"";
  for (const char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

/// "schema.table" (as configured) -> its parts.
std::pair<std::string, std::string> split_table(const std::string& table) {
  const auto dot = table.find('.');
  if (dot == std::string::npos) return {"public", table};
  return {table.substr(0, dot), table.substr(dot + 1)};
}

std::string qualified(const std::string& table) {
  const auto [schema, name] = split_table(table);
  return ident(schema) + "." + ident(name);
}

std::string human_bytes(std::int64_t bytes) {
  if (bytes >= (std::int64_t{1} << 30)) return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1 << 30));
  if (bytes >= (std::int64_t{1} << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20));
  if (bytes >= (std::int64_t{1} << 10)) return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / (1 << 10));
  return fmt::format("{} bytes", bytes);
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

/// Keyword/value pairs of a conninfo; nullopt when libpq cannot parse it.
std::optional<std::map<std::string, std::string>> conninfo_options(const std::string& conninfo,
                                                                   std::string* error) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &err);
  if (options == nullptr) {
    if (error != nullptr) *error = err != nullptr ? one_line(err) : "out of memory";
    if (err != nullptr) PQfreemem(err);
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && o->val[0] != '\0') out[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  return out;
}

void ignore_notice(void*, const char*) {}

/// Runs one command, giving up after `timeout`: then the command is cancelled
/// and nullopt returned. Throws pg::Error when it fails.
std::optional<pg::Result> exec_with_deadline(pg::Connection& conn, const std::string& sql,
                                             std::chrono::milliseconds timeout) {
  PGconn* c = conn.get();
  if (PQsendQuery(c, sql.c_str()) == 0) conn.fail("query failed");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  while (PQisBusy(c) != 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fd{PQsocket(c), POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) conn.fail("poll failed");
    if (PQconsumeInput(c) == 0) conn.fail("query failed");
  }
  if (timed_out) {
    if (PGcancel* cancel = PQgetCancel(c)) {
      char error[256];
      PQcancel(cancel, error, sizeof error);
      PQfreeCancel(cancel);
    }
    while (PGresult* r = PQgetResult(c)) PQclear(r);  // the cancelled command's error
    return std::nullopt;
  }
  PGresult* result = PQgetResult(c);
  while (PGresult* extra = PQgetResult(c)) PQclear(extra);
  return conn.check(result, "query failed", PGRES_TUPLES_OK, PGRES_COMMAND_OK);
}

/// Secrets that must never reach the output: the DSN password and the values
/// of Kafka properties. Applied to every line as a last line of defence (the
/// checks themselves never format a secret).
class Redactor {
 public:
  void add(const std::string& secret) {
    if (secret.size() < 3) return;
    secrets_.push_back(secret);
    // Longest first, so that a secret containing another one is redacted whole.
    std::sort(secrets_.begin(), secrets_.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  }
  std::string apply(std::string text) const {
    for (const auto& secret : secrets_) {
      for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3)) {
        text.replace(pos, secret.size(), "***");
      }
    }
    return text;
  }

 private:
  std::vector<std::string> secrets_;
};

// ---------------------------------------------------------------------------
// PostgreSQL items

struct TableNeed {
  std::string table;                ///< schema.table as configured
  std::vector<std::string> privileges;
};

class Checker {
 public:
  Checker(const Config& config, Emit emit) : config_(config), emit_(std::move(emit)) {
    std::string ignored;
    if (auto options = conninfo_options(config_.postgres.dsn, &ignored)) {
      if (auto it = options->find("password"); it != options->end()) redactor_.add(it->second);
      if (auto it = options->find("user"); it != options->end()) dsn_user_ = it->second;
      if (auto it = options->find("dbname"); it != options->end()) dsn_db_ = it->second;
    }
    if (const char* pw = std::getenv("PGPASSWORD"); pw != nullptr) redactor_.add(pw);
    for (const auto& [key, value] : config_.kafka.properties) {
      const bool trivial = value == "true" || value == "false" ||
                           std::all_of(value.begin(), value.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
      if (!trivial) redactor_.add(value);
    }
  }

  bool run() {
    if (connect()) {
      step("server version", [&] { server_version(); });
      step("wal_level", [&] { wal_level(); });
      step("max_replication_slots", [&] { replication_slots(); });
      step("max_wal_senders", [&] { wal_senders(); });
      step("replication privilege", [&] { replication_privilege(); });
      step("output_plugin_libraries", [&] { output_plugin_libraries(); });
      step("wal2json", [&] { wal2json(); });
      step("schema", [&] { schema(); });
      if (config_.audit.enabled) step("audit trigger", [&] { audit_trigger(); });
      step("replica identity", [&] { replica_identity(); });
      step("privileges", [&] { privileges(); });
      step("row level security", [&] { row_level_security(); });
      step("slot", [&] { slot(); });
    } else {
      for (const char* item : {"server version", "wal_level", "max_replication_slots", "max_wal_senders",
                               "replication privilege", "wal2json", "schema", "replica identity", "privileges",
                               "slot"}) {
        fail(item, "skipped: no connection to PostgreSQL", "fix the connect item first, " + std::string(kRerun));
      }
    }
    conn_.reset();
    step("kafka", [&] { kafka(); });
    step("metrics", [&] { metrics(); });
    return all_ok_;
  }

 private:
  // -- output ---------------------------------------------------------------

  void ok(const std::string& item, const std::string& detail) { emit(CheckItem{item, true, detail, ""}); }
  void fail(const std::string& item, const std::string& detail, const std::string& fix) {
    emit(CheckItem{item, false, detail, fix});
  }
  void emit(CheckItem item) {
    item.detail = redactor_.apply(one_line(item.detail));
    item.fix = redactor_.apply(one_line(item.fix));
    if (!item.ok) all_ok_ = false;
    emit_(item);
  }

  /// Runs one item; an exception becomes a FAIL line for it (never a crash).
  void step(const std::string& item, const std::function<void()>& body) {
    try {
      body();
    } catch (const pg::Error& e) {
      if (e.connection_lost() || (conn_ && !conn_->ok())) {
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

  // -- queries ----------------------------------------------------------------

  pg::Result query(const std::string& sql, const pg::Params& params = {}) {
    return params.empty() ? conn_->exec(sql) : conn_->exec_params(sql, params);
  }
  std::string scalar(const std::string& sql, const pg::Params& params = {}) {
    const pg::Result r = query(sql, params);
    if (r.rows() == 0 || r.is_null(0, 0)) return "";
    return std::string(r.value(0, 0));
  }
  /// The table's oid, looked up in the catalog (unlike to_regclass() or a
  /// ::regclass cast, this needs no USAGE on its schema); "" if it does not exist.
  std::string table_oid(const std::string& table) {
    const auto [schema, name] = split_table(table);
    return scalar(
        "SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname = $2",
        {schema, name});
  }
  bool exists(const std::string& table) { return !table_oid(table).empty(); }
  std::string role() const { return ident(user_); }

  // -- items -------------------------------------------------------------------

  bool connect() {
    const std::string where = pg::describe_conninfo(config_.postgres.dsn);
    std::string parse_error;
    if (!conninfo_options(config_.postgres.dsn, &parse_error)) {
      // libpq's parse errors quote pieces of the string, which may be the password.
      const std::string lowered = lower(config_.postgres.dsn);
      const bool may_quote_secret =
          lowered.find("password") != std::string::npos || lowered.find('@') != std::string::npos;
      fail("connect",
           fmt::format("postgres.dsn is not a valid libpq connection string{}",
                       may_quote_secret ? " (libpq's message is withheld: it may quote the password)"
                                        : ": " + parse_error),
           "write postgres.dsn (or CUSTOMER_CDC_POSTGRES_DSN) as \"host=... port=... dbname=... user=...\" or "
           "postgresql://user@host:port/dbname");
      return false;
    }
    try {
      conn_ = std::make_unique<pg::Connection>(config_.postgres.dsn);
      PQsetNoticeProcessor(conn_->get(), &ignore_notice, nullptr);
      const pg::Result r = conn_->exec(
          "SELECT current_user, current_database(), current_setting('server_version'), "
          "current_setting('server_version_num')::int, pg_is_in_recovery(), r.rolsuper, r.rolreplication, "
          "r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = current_user");
      if (r.rows() != 1) throw pg::Error("the current role is missing from pg_roles", "", false);
      user_ = r.value(0, 0);
      db_ = r.value(0, 1);
      version_ = r.value(0, 2);
      version_num_ = std::stoi(std::string(r.value(0, 3)));
      in_recovery_ = r.value(0, 4) == "t";
      superuser_ = r.value(0, 5) == "t";
      replication_ = r.value(0, 6) == "t";
      bypassrls_ = r.value(0, 7) == "t";
    } catch (const std::exception& e) {
      conn_.reset();
      const std::string message = e.what();
      const std::string user = dsn_user_.empty() ? "(the OS user name)" : dsn_user_;
      const std::string db = dsn_db_.empty() ? "(the user name)" : dsn_db_;
      std::string fix =
          "check postgres.dsn (or CUSTOMER_CDC_POSTGRES_DSN): host, port, dbname, user and password; that "
          "PostgreSQL runs and listens there (listen_addresses, port in postgresql.conf); and that pg_hba.conf "
          "allows user " + user + " to connect to database " + db + " from this host";
      if (message.find("password authentication failed") != std::string::npos ||
          message.find("no password supplied") != std::string::npos) {
        fix = "set the right password for user " + user +
              ": password=... in CUSTOMER_CDC_POSTGRES_DSN (keep it out of the config file), or a ~/.pgpass entry";
      } else if (message.find("no pg_hba.conf entry") != std::string::npos) {
        fix = "add a pg_hba.conf line such as `host " + db + " " + user +
              " <this host's address>/32 scram-sha-256` on the server, then `SELECT pg_reload_conf();`";
      } else if (message.find("does not exist") != std::string::npos) {
        fix = "create the role/database named in postgres.dsn (or CUSTOMER_CDC_POSTGRES_DSN), or correct "
              "user/dbname there";
      }
      fail("connect", fmt::format("cannot connect to {}: {}", where, message), fix);
      return false;
    }
    ok("connect", fmt::format("{} as user {} (database {})", where, user_, db_));
    return true;
  }

  void server_version() {
    const std::string major = std::to_string(version_num_ / 10000);
    if (in_recovery_) {
      fail("server version",
           fmt::format("PostgreSQL {} is a standby (in recovery): logical decoding needs the primary", version_),
           "point postgres.dsn (or CUSTOMER_CDC_POSTGRES_DSN) at the primary server");
    } else if (version_num_ < 100000) {
      fail("server version",
           fmt::format("PostgreSQL {} is too old: logical replication connections need 10 or newer", version_),
           "upgrade to PostgreSQL 15");
    } else if (version_num_ < 150000) {
      ok("server version", fmt::format("PostgreSQL {} (supported; note: customer-cdc is built and tested "
                                       "against PostgreSQL 15, and its schema needs 14 or newer)",
                                       version_));
    } else {
      ok("server version", fmt::format("PostgreSQL {}", version_));
    }
  }

  void wal_level() {
    const std::string level = scalar("SELECT current_setting('wal_level')");
    wal_level_ok_ = level == "logical";
    if (wal_level_ok_) {
      ok("wal_level", "logical");
    } else {
      fail("wal_level", fmt::format("wal_level is '{}', logical decoding needs 'logical'", level),
           "`ALTER SYSTEM SET wal_level = logical;` as a superuser, then restart PostgreSQL");
    }
  }

  void replication_slots() {
    const pg::Result r = query(
        "SELECT current_setting('max_replication_slots')::int, "
        "(SELECT count(*) FROM pg_catalog.pg_replication_slots), "
        "EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1), "
        "(SELECT string_agg(slot_name, ', ' ORDER BY slot_name) FROM pg_catalog.pg_replication_slots "
        " WHERE NOT active)",
        {config_.postgres.slot});
    const int max = std::stoi(std::string(r.value(0, 0)));
    const int used = std::stoi(std::string(r.value(0, 1)));
    const bool ours = r.value(0, 2) == "t";
    const std::string inactive = r.optional_value(0, 3).value_or("");
    const std::string counts = fmt::format("{} of {} in use", used, max);
    free_slot_ = used < max;
    if (max == 0) {
      fail("max_replication_slots", "max_replication_slots is 0: no replication slot can be created",
           "`ALTER SYSTEM SET max_replication_slots = 10;` as a superuser, then restart PostgreSQL");
    } else if (!free_slot_ && !ours) {
      fail("max_replication_slots",
           fmt::format("{}: no free slot for \"{}\"{}", counts, config_.postgres.slot,
                       inactive.empty() ? "" : " (inactive slots: " + inactive + ")"),
           fmt::format("drop an unused slot (`SELECT pg_drop_replication_slot('<name>');`) or raise the limit "
                       "(`ALTER SYSTEM SET max_replication_slots = {};`, then restart PostgreSQL)",
                       max + 2));
    } else {
      ok("max_replication_slots",
         fmt::format("{}{}", counts, ours ? fmt::format(" (one is \"{}\")", config_.postgres.slot) : ", one free"));
    }
  }

  void wal_senders() {
    const pg::Result r = query(
        "SELECT current_setting('max_wal_senders')::int, "
        "(SELECT count(*) FROM pg_catalog.pg_stat_replication), "
        "EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1 AND active)",
        {config_.postgres.slot});
    const int max = std::stoi(std::string(r.value(0, 0)));
    const int used = std::stoi(std::string(r.value(0, 1)));
    const bool ours_active = r.value(0, 2) == "t";
    const std::string counts = fmt::format("{} of {} in use", used, max);
    free_sender_ = used < max;
    if (max == 0) {
      fail("max_wal_senders", "max_wal_senders is 0: no replication connection is possible",
           "`ALTER SYSTEM SET max_wal_senders = 10;` as a superuser, then restart PostgreSQL");
    } else if (!free_sender_ && !ours_active) {
      fail("max_wal_senders", fmt::format("{}: no free WAL sender for the replication connection", counts),
           fmt::format("`ALTER SYSTEM SET max_wal_senders = {};` as a superuser, then restart PostgreSQL "
                       "(or stop an unused replication client)",
                       max + 2));
    } else {
      ok("max_wal_senders", fmt::format("{}{}", counts,
                                        free_sender_ ? ", one free" : " (one by the instance streaming our slot)"));
    }
  }

  void replication_privilege() {
    if (superuser_) {
      ok("replication privilege", fmt::format("role {} is a superuser", user_));
    } else if (replication_) {
      ok("replication privilege", fmt::format("role {} has REPLICATION", user_));
    } else {
      fail("replication privilege",
           fmt::format("role {} has neither REPLICATION nor SUPERUSER: it cannot open the replication "
                       "connection",
                       user_),
           fmt::format("`ALTER ROLE {} REPLICATION;` as a superuser", role()));
    }
  }

  void output_plugin_libraries() {
    const pg::Result r =
        query("SELECT setting FROM pg_catalog.pg_settings WHERE name = 'output_plugin_libraries'");
    if (r.rows() == 0) {
      ok("output_plugin_libraries", "not a setting of this build (any installed output plugin may be used)");
      return;
    }
    const std::string setting(r.value(0, 0));
    bool listed = false;
    std::string entry;
    for (std::size_t i = 0; i <= setting.size(); ++i) {
      if (i == setting.size() || setting[i] == ',') {
        std::string name;
        for (const char c : entry) {
          if (c != ' ' && c != '"' && c != '\'') name += c;
        }
        listed |= name == "wal2json";
        entry.clear();
      } else {
        entry += setting[i];
      }
    }
    plugin_allowed_ = listed;
    if (listed) {
      ok("output_plugin_libraries", fmt::format("'{}' includes wal2json", setting));
    } else {
      fail("output_plugin_libraries", fmt::format("'{}' does not include wal2json", setting),
           "set `output_plugin_libraries = 'pgoutput, test_decoding, wal2json'` in postgresql.conf, then "
           "restart PostgreSQL");
    }
  }

  void wal2json() {
    std::vector<std::string> blockers;
    if (!wal_level_ok_) blockers.push_back("wal_level = logical");
    if (!superuser_ && !replication_) blockers.push_back("the REPLICATION privilege");
    if (!free_slot_) blockers.push_back("a free replication slot");
    if (!free_sender_) blockers.push_back("a free WAL sender");
    if (!plugin_allowed_) blockers.push_back("wal2json in output_plugin_libraries");
    if (!blockers.empty()) {
      fail("wal2json",
           fmt::format("not verified: loading it with a temporary slot needs {} (see above)", join(blockers, ", ")),
           "fix the items above, " + std::string(kRerun));
      return;
    }
    const std::string package = fmt::format("postgresql-{}-wal2json", version_num_ / 10000);
    const std::string slot = fmt::format("customer_cdc_check_{}", ::getpid());
    std::unique_ptr<stream::ReplicationStream> stream;
    try {
      stream = std::make_unique<stream::ReplicationStream>(config_.postgres.dsn);
      PQsetNoticeProcessor(stream->connection().get(), &ignore_notice, nullptr);
    } catch (const pg::Error& e) {
      fail("wal2json", fmt::format("not verified: the replication connection failed: {}", e.what()),
           "allow a replication=database connection for this role in pg_hba.conf (it matches the database "
           "name, like a normal connection), " + std::string(kRerun));
      return;
    }
    pg::Connection& repl = stream->connection();
    // A temporary slot vanishes with the connection, even if this process dies.
    const std::string create =
        version_num_ >= 150000
            ? fmt::format("CREATE_REPLICATION_SLOT \"{}\" TEMPORARY LOGICAL wal2json (SNAPSHOT 'nothing')", slot)
            : fmt::format("CREATE_REPLICATION_SLOT \"{}\" TEMPORARY LOGICAL wal2json NOEXPORT_SNAPSHOT", slot);
    try {
      if (!exec_with_deadline(repl, create, kSlotCreateTimeout)) {
        fail("wal2json",
             fmt::format("creating a temporary wal2json slot did not finish within {} s: logical slot creation "
                         "waits until every transaction that was running when it started has ended, so a "
                         "long-running transaction is open (it would delay the daemon's slot creation as well)",
                         kSlotCreateTimeout.count() / 1000),
             "find it with `SELECT pid, xact_start, state, query FROM pg_stat_activity WHERE backend_xid IS NOT "
             "NULL ORDER BY xact_start;`, let it finish or end it (`SELECT pg_terminate_backend(<pid>);`), " +
                 std::string(kRerun));
        return;
      }
    } catch (const pg::Error& e) {
      const std::string message = e.what();
      std::string fix = fmt::format("install the wal2json output plugin on the database server (Debian/Ubuntu: "
                                    "`apt-get install {}`; RPM: wal2json_{}), " ,
                                    package, version_num_ / 10000) + kRerun;
      if (message.find("may not be used as an output plugin") != std::string::npos) {
        fix = "set `output_plugin_libraries = 'pgoutput, test_decoding, wal2json'` in postgresql.conf, then "
              "restart PostgreSQL";
      } else if (e.sqlstate() == "53400") {  // configuration_limit_exceeded: no free slot
        fix = "drop an unused replication slot or raise max_replication_slots (then restart PostgreSQL)";
      }
      fail("wal2json", fmt::format("a temporary wal2json slot could not be created: {}", message), fix);
      return;
    }
    // The slot loaded the plugin; the options the daemon streams with must be
    // accepted as well (format-version 2 needs wal2json 2.x).
    std::string sql = fmt::format("SELECT count(*) FROM pg_catalog.pg_logical_slot_peek_changes({}, NULL, 1",
                                  repl.quote_literal(slot));
    for (const auto& [key, value] : wal2json_options(config_.postgres.tables)) {
      sql += ", " + repl.quote_literal(key) + ", " + repl.quote_literal(value);
    }
    sql += ")";
    try {
      repl.exec(sql);
    } catch (const pg::Error& e) {
      fail("wal2json",
           fmt::format("wal2json loads but rejects the options customer-cdc streams with (format-version 2 "
                       "needs wal2json 2.x): {}",
                       e.what()),
           fmt::format("upgrade the wal2json plugin to 2.x (Debian/Ubuntu: `apt-get install {}`)", package));
      return;
    }
    try {
      repl.exec(fmt::format("DROP_REPLICATION_SLOT \"{}\"", slot));
    } catch (const pg::Error&) {
      // Temporary: it goes away with the connection anyway.
    }
    ok("wal2json", "loads (a temporary test slot was created and accepted format-version 2)");
  }

  void schema() {
    struct Object {
      std::string name;
      bool from_migrate;
    };
    std::vector<Object> needed;
    for (const auto& table : config_.postgres.tables) {
      needed.push_back({table, table == "public.customer" || table == "public.plans"});
    }
    if (config_.audit.enabled) needed.push_back({"public.audit_logs", true});
    if (config_.audit.enabled || config_.rollups.enabled) needed.push_back({"customer_cdc.checkpoint", true});
    if (config_.dead_letter.enabled && (config_.audit.enabled || config_.rollups.enabled)) {
      needed.push_back({"customer_cdc.dead_letter", true});
    }
    if (config_.rollups.enabled) {
      for (const char* t : {"customer_cdc.plan_price", "analytics.plan_rollup", "analytics.usage_daily",
                            "analytics.plan_changes_daily"}) {
        needed.push_back({t, true});
      }
      if (std::none_of(needed.begin(), needed.end(), [](const Object& o) { return o.name == "public.plans"; })) {
        needed.push_back({"public.plans", true});
      }
    }
    std::vector<std::string> missing_migrate;
    std::vector<std::string> missing_other;
    std::vector<std::string> present;
    for (const auto& object : needed) {
      if (exists(object.name)) {
        present.push_back(object.name);
      } else {
        (object.from_migrate ? missing_migrate : missing_other).push_back(object.name);
        missing_.insert(object.name);
      }
    }
    if (config_.audit.enabled && !missing_.contains("public.audit_logs")) {
      const std::string columns = scalar(
          "SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = $1::oid "
          "AND attname IN ('source_lsn', 'source_xid') AND NOT attisdropped",
          {table_oid("public.audit_logs")});
      if (columns != "2") missing_migrate.push_back("public.audit_logs.source_lsn/source_xid");
    }
    if (missing_migrate.empty() && missing_other.empty()) {
      ok("schema", fmt::format("{} present", join(present, ", ")));
      return;
    }
    std::vector<std::string> fixes;
    if (!missing_migrate.empty()) {
      fixes.push_back("`customer-cdc migrate` (applies schema/*.sql; safe to re-run)");
    }
    if (!missing_other.empty()) {
      fixes.push_back(fmt::format("create {} or remove it from postgres.tables", join(missing_other, ", ")));
    }
    std::vector<std::string> all = missing_migrate;
    all.insert(all.end(), missing_other.begin(), missing_other.end());
    fail("schema", fmt::format("missing: {}", join(all, ", ")), join(fixes, "; "));
  }

  void audit_trigger() {
    if (missing_.contains("public.customer")) {
      fail("audit trigger", "skipped: public.customer does not exist (see schema)", "`customer-cdc migrate`");
      return;
    }
    const std::string triggers = scalar(
        "SELECT string_agg(t.tgname, ', ' ORDER BY t.tgname) FROM pg_catalog.pg_trigger t "
        "JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid "
        "WHERE t.tgrelid = $1::oid AND NOT t.tgisinternal "
        "AND (t.tgname = 'on_customer_changes' OR p.proname = 'log_customer_changes')",
        {table_oid("public.customer")});
    if (triggers.empty()) {
      ok("audit trigger", "the seed's on_customer_changes trigger is not installed (customer-cdc writes the "
                          "audit entries)");
    } else {
      fail("audit trigger",
           fmt::format("trigger {} on public.customer still writes audit entries: every change would be "
                       "audited twice",
                       triggers),
           fmt::format("`DROP TRIGGER {} ON public.customer;` (`customer-cdc migrate` drops on_customer_changes)",
                       triggers.find(',') == std::string::npos ? ident(triggers) : "<name>"));
    }
  }

  void replica_identity() {
    const std::string oid = missing_.contains("public.customer") ? "" : table_oid("public.customer");
    if (oid.empty()) {
      fail("replica identity", "public.customer does not exist (see schema)", "`customer-cdc migrate`");
      return;
    }
    const std::string identity = scalar("SELECT relreplident FROM pg_catalog.pg_class WHERE oid = $1::oid", {oid});
    static const std::map<std::string, std::string> names = {
        {"d", "DEFAULT"}, {"n", "NOTHING"}, {"f", "FULL"}, {"i", "USING INDEX"}};
    const auto name = names.contains(identity) ? names.at(identity) : identity;
    if (identity == "f") {
      ok("replica identity", "public.customer is REPLICA IDENTITY FULL");
    } else {
      fail("replica identity",
           fmt::format("public.customer is REPLICA IDENTITY {}: old values of updated and deleted rows are not "
                       "in the WAL, audit entries need them",
                       name),
           "`ALTER TABLE public.customer REPLICA IDENTITY FULL;`");
    }
  }

  void privileges() {
    std::vector<TableNeed> needs;
    for (const auto& table : config_.postgres.tables) needs.push_back({table, {"SELECT"}});
    if (config_.audit.enabled) needs.push_back({"public.audit_logs", {"INSERT"}});
    if (config_.audit.enabled || config_.rollups.enabled) {
      needs.push_back({"customer_cdc.checkpoint", {"SELECT", "INSERT", "UPDATE"}});
      if (config_.dead_letter.enabled) needs.push_back({"customer_cdc.dead_letter", {"INSERT"}});
    }
    if (config_.rollups.enabled) {
      needs.push_back({"customer_cdc.plan_price", {"SELECT", "INSERT", "DELETE"}});
      for (const char* t : {"analytics.plan_rollup", "analytics.usage_daily", "analytics.plan_changes_daily"}) {
        needs.push_back({t, {"SELECT", "INSERT", "UPDATE"}});
      }
    }
    std::vector<std::string> lacking;   // "INSERT on public.audit_logs"
    std::vector<std::string> grants;    // GRANT statements
    std::vector<std::string> skipped;   // tables that do not exist
    std::set<std::string> schemas_done;
    std::size_t checked = 0;
    for (const auto& need : needs) {
      const std::string oid = missing_.contains(need.table) ? "" : table_oid(need.table);
      if (oid.empty()) {
        skipped.push_back(need.table);
        continue;
      }
      const std::string schema = split_table(need.table).first;
      if (schemas_done.insert(schema).second &&
          scalar("SELECT has_schema_privilege($1::text, 'USAGE')", {schema}) != "t") {
        lacking.push_back("USAGE on schema " + schema);
        grants.push_back(fmt::format("GRANT USAGE ON SCHEMA {} TO {};", ident(schema), role()));
      }
      std::vector<std::string> missing_privileges;
      for (const auto& privilege : need.privileges) {
        ++checked;
        if (scalar("SELECT has_table_privilege($1::oid, $2::text)", {oid, privilege}) != "t") {
          missing_privileges.push_back(privilege);
        }
      }
      if (!missing_privileges.empty()) {
        lacking.push_back(join(missing_privileges, ", ") + " on " + need.table);
        grants.push_back(fmt::format("GRANT {} ON {} TO {};", join(missing_privileges, ", "), qualified(need.table),
                                     role()));
      }
    }
    if (!lacking.empty()) {
      fail("privileges", fmt::format("role {} lacks {}", user_, join(lacking, ", ")),
           "as the tables' owner or a superuser: `" + join(grants, " ") + "`");
    } else if (!skipped.empty()) {
      fail("privileges", fmt::format("not checked for missing tables: {} (see schema)", join(skipped, ", ")),
           "`customer-cdc migrate`, " + std::string(kRerun));
    } else {
      ok("privileges", fmt::format("role {} holds all {} table privileges it needs{}", user_, checked,
                                   superuser_ ? " (superuser)" : ""));
    }
  }

  void row_level_security() {
    // Streaming does not go through RLS, but `snapshot` and `rebuild-rollups`
    // read the captured tables with SELECT: under RLS they would silently see
    // only some rows.
    if (superuser_ || bypassrls_) {
      ok("row level security", fmt::format("role {} bypasses row level security{}", user_,
                                           superuser_ ? " (superuser)" : " (BYPASSRLS)"));
      return;
    }
    std::vector<std::string> filtered;
    std::vector<std::string> by_policy;
    for (const auto& table : config_.postgres.tables) {
      const std::string oid = missing_.contains(table) ? "" : table_oid(table);
      if (oid.empty()) continue;
      // A policy applies to this role when it names PUBLIC (0) or a role it is a member of.
      const pg::Result r = query(
          "WITH applying AS (SELECT p.polpermissive, pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS qual "
          "  FROM pg_catalog.pg_policy p WHERE p.polrelid = $1::oid AND p.polcmd IN ('r', '*') "
          "  AND (0 = ANY(p.polroles) OR EXISTS (SELECT 1 FROM unnest(p.polroles) AS pr(oid) "
          "       WHERE pr.oid <> 0 AND pg_catalog.pg_has_role(current_user, pr.oid, 'USAGE')))) "
          "SELECT c.relrowsecurity, c.relforcerowsecurity, pg_has_role(c.relowner, 'USAGE'), "
          "  EXISTS (SELECT 1 FROM applying WHERE polpermissive AND qual = 'true') "
          "  AND NOT EXISTS (SELECT 1 FROM applying WHERE NOT polpermissive) "
          "FROM pg_catalog.pg_class c WHERE c.oid = $1::oid",
          {oid});
      if (r.rows() == 0) continue;
      const bool rls = r.value(0, 0) == "t";
      const bool forced = r.value(0, 1) == "t";
      const bool owner = r.value(0, 2) == "t";
      const bool open_policy = r.value(0, 3) == "t";
      if (!rls || (owner && !forced)) continue;
      if (open_policy) {
        by_policy.push_back(table);
      } else {
        filtered.push_back(table);
      }
    }
    if (filtered.empty() && !by_policy.empty()) {
      ok("row level security",
         fmt::format("a permissive SELECT policy USING (true) lets role {} read every row of {}", user_,
                     join(by_policy, ", ")));
      return;
    }
    if (filtered.empty()) {
      ok("row level security", "no captured table filters the rows this role reads");
      return;
    }
    fail("row level security",
         fmt::format("row level security is enabled on {} and role {} neither owns {} nor has BYPASSRLS: "
                     "`snapshot` and `rebuild-rollups` would read only the rows a policy lets through "
                     "(no permissive SELECT policy USING (true) applies to it, or a restrictive one does)",
                     join(filtered, ", "), user_, filtered.size() == 1 ? "it" : "them"),
         fmt::format("`ALTER ROLE {} BYPASSRLS;` as a superuser (or a policy such as `CREATE POLICY "
                     "customer_cdc_read ON {} FOR SELECT TO {} USING (true);`)",
                     role(), qualified(filtered.front()), role()));
  }

  void slot() {
    const std::string& name = config_.postgres.slot;
    const pg::Result r = query(
        "SELECT slot_type, coalesce(plugin, ''), coalesce(database::text, ''), active, active_pid, "
        "coalesce(confirmed_flush_lsn::text, ''), "
        "CASE WHEN restart_lsn IS NULL OR pg_is_in_recovery() THEN NULL "
        "     ELSE pg_current_wal_lsn() - restart_lsn END, coalesce(wal_status, ''), temporary "
        "FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
        {name});
    if (r.rows() == 0) {
      if (config_.postgres.create_slot) {
        ok("slot", fmt::format("\"{}\" does not exist yet: it will be created (wal2json) on start "
                               "(postgres.create_slot = true)",
                               name));
      } else {
        fail("slot", fmt::format("\"{}\" does not exist and postgres.create_slot is false", name),
             "`customer-cdc slot create` (or set postgres.create_slot = true)");
      }
      return;
    }
    const std::string type(r.value(0, 0));
    const std::string plugin(r.value(0, 1));
    const std::string database(r.value(0, 2));
    const bool active = r.value(0, 3) == "t";
    const std::string pid = r.optional_value(0, 4).value_or("?");
    const std::string confirmed(r.value(0, 5));
    const std::optional<std::string> retained_text = r.optional_value(0, 6);
    const std::string wal_status(r.value(0, 7));
    const bool temporary = r.value(0, 8) == "t";
    if (type != "logical" || plugin != "wal2json") {
      fail("slot", fmt::format("\"{}\" is a {} slot with plugin '{}', not a logical wal2json slot", name, type,
                               plugin),
           "drop it (`customer-cdc slot drop`; it is recreated with wal2json on start) or set postgres.slot to "
           "another name");
      return;
    }
    if (temporary) {
      fail("slot", fmt::format("\"{}\" is a temporary slot of another session", name),
           "set postgres.slot to another name");
      return;
    }
    if (database != db_) {
      fail("slot", fmt::format("\"{}\" belongs to database {}, postgres.dsn connects to {}", name, database, db_),
           "point postgres.dsn at database " + database + ", or set postgres.slot to another name");
      return;
    }
    if (wal_status == "lost") {
      fail("slot",
           fmt::format("\"{}\" has lost WAL it needed (wal_status = lost): changes were missed", name),
           "`customer-cdc slot drop && customer-cdc slot create`, then `customer-cdc snapshot` to backfill");
      return;
    }
    std::int64_t retained = -1;
    if (retained_text) {
      const auto text = std::string_view(*retained_text);
      const auto dot = text.find('.');  // pg_lsn - pg_lsn is numeric
      std::from_chars(text.data(), text.data() + (dot == std::string_view::npos ? text.size() : dot), retained);
    }
    std::string detail = fmt::format(
        "\"{}\" exists (wal2json, database {}, {}, confirmed_flush_lsn {}, retains {} of WAL{})", name, database,
        active ? "active, pid " + pid : "inactive", confirmed.empty() ? "none" : confirmed,
        retained >= 0 ? fmt::format("{} bytes", retained) : "an unknown amount",
        wal_status.empty() ? "" : ", wal_status " + wal_status);
    if (active) {
      detail += "; note: another process streams from it, a daemon started now waits for it (hot standby)";
    }
    if (retained > kRetainedWalWarnBytes) {
      detail += fmt::format("; WARNING: {} of WAL retained: is the daemon running and keeping up? If the slot "
                            "is abandoned, drop it (`customer-cdc slot drop`) before the disk fills",
                            human_bytes(retained));
    }
    if (wal_status == "unreserved") {
      detail += "; WARNING: wal_status unreserved: WAL is past max_slot_wal_keep_size and about to be removed";
    }
    ok("slot", detail);
  }

  // -- Kafka -------------------------------------------------------------------

  struct KafkaEvents {
    std::mutex mutex;
    std::string last_error;
  };

  static void kafka_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* events = static_cast<KafkaEvents*>(opaque);
    std::lock_guard lock(events->mutex);
    events->last_error = fmt::format("{} ({})", reason != nullptr ? reason : "",
                                     rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
  }

  static void kafka_log(const rd_kafka_t* rk, int level, const char*, const char* line) {
    // librdkafka logs from its own threads; keep the last warning or error for
    // the FAIL line instead of printing it.
    if (level > 4 || line == nullptr) return;
    auto* events = static_cast<KafkaEvents*>(rd_kafka_opaque(rk));
    if (events == nullptr) return;
    std::lock_guard lock(events->mutex);
    events->last_error = line;
  }

  void kafka() {
    if (!config_.kafka.enabled) {
      ok("kafka", "disabled (kafka.enabled = false)");
      return;
    }
    std::vector<std::string> property_names;
    for (const auto& [key, value] : config_.kafka.properties) property_names.push_back(key);
    const std::string properties_hint =
        property_names.empty() ? "" : " (set in [kafka.properties]: " + join(property_names, ", ") + ")";
    const std::string fix = fmt::format(
        "check kafka.brokers ({}), that the brokers are reachable from this host (network, firewall, their "
        "advertised.listeners), and the security.protocol / SASL / SSL properties in [kafka.properties]{}",
        config_.kafka.brokers, properties_hint);

    sinks::KafkaProducerOptions options;
    options.brokers = config_.kafka.brokers;
    options.properties = config_.kafka.properties;
    KafkaEvents events;
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char error[512];
    for (const auto& [key, value] : sinks::kafka_producer_config(options)) {
      if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        // librdkafka's message may quote the value: name the property only.
        fail("kafka", fmt::format("librdkafka rejects the value of property '{}'", key),
             fmt::format("correct or remove \"{}\" in [kafka.properties] (see librdkafka's CONFIGURATION.md)", key));
        return;
      }
    }
    rd_kafka_conf_set_error_cb(conf, &Checker::kafka_error);
    rd_kafka_conf_set_log_cb(conf, &Checker::kafka_log);
    rd_kafka_conf_set_opaque(conf, &events);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    if (rk == nullptr) {
      fail("kafka", fmt::format("cannot create a Kafka producer: {}", error), fix);
      return;
    }
    struct Destroy {
      rd_kafka_t* rk;
      ~Destroy() { rd_kafka_destroy(rk); }
    } destroy{rk};

    const rd_kafka_metadata_t* metadata = nullptr;
    const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &metadata, kKafkaTimeoutMs);
    rd_kafka_poll(rk, 0);  // serve queued error callbacks
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR || metadata == nullptr) {
      std::string last;
      {
        std::lock_guard lock(events.mutex);
        last = events.last_error;
      }
      fail("kafka",
           fmt::format("no metadata from {} within {} s: {}{}", config_.kafka.brokers, kKafkaTimeoutMs / 1000,
                       rd_kafka_err2str(err), last.empty() ? "" : " (last error: " + last + ")"),
           fix);
      return;
    }
    const int brokers = metadata->broker_cnt;
    std::set<std::string> topics;
    for (int i = 0; i < metadata->topic_cnt; ++i) topics.insert(metadata->topics[i].topic);
    rd_kafka_metadata_destroy(metadata);
    std::vector<std::string> present;
    std::vector<std::string> absent;
    for (const auto& table : config_.postgres.tables) {
      const std::string topic = config_.kafka.topic_prefix + "." + table;
      (topics.contains(topic) ? present : absent).push_back(topic);
    }
    if (config_.audit.enabled) {
      const std::string topic = config_.kafka.topic_prefix + ".audit";
      (topics.contains(topic) ? present : absent).push_back(topic);
    }
    std::string detail = fmt::format("{} broker{} reachable via {}", brokers, brokers == 1 ? "" : "s",
                                     config_.kafka.brokers);
    if (!present.empty()) detail += "; topics present: " + join(present, ", ");
    if (!absent.empty()) {
      detail += "; note: topics not created yet: " + join(absent, ", ") +
                " (created on first use where the cluster allows auto.create.topics.enable, else create them)";
    }
    ok("kafka", detail);
  }

  // -- metrics -------------------------------------------------------------------

  void metrics() {
    const std::string& listen = config_.metrics.listen;
    if (listen.empty()) {
      ok("metrics", "disabled (metrics.listen is \"\")");
      return;
    }
    std::string host;
    std::string port;
    if (listen.front() == '[') {
      const auto close = listen.find("]:");
      if (close != std::string::npos) {
        host = listen.substr(1, close - 1);
        port = listen.substr(close + 2);
      }
    } else if (const auto colon = listen.rfind(':'); colon != std::string::npos) {
      host = listen.substr(0, colon);
      port = listen.substr(colon + 1);
    }
    unsigned port_number = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), port_number);
    const std::string fix =
        "set metrics.listen to \"host:port\", e.g. \"127.0.0.1:9187\", \"[::1]:9187\" or \"0.0.0.0:9187\" "
        "(\"\" disables the endpoint)";
    if (host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size() ||
        port_number == 0 || port_number > 65535) {
      fail("metrics", fmt::format("metrics.listen '{}' is not host:port", listen), fix);
      return;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    addrinfo* resolved = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &resolved);
    if (rc != 0 || resolved == nullptr) {
      fail("metrics", fmt::format("metrics.listen host '{}' does not resolve: {}", host, ::gai_strerror(rc)),
           fix);
      return;
    }
    bool all_loopback = true;
    bool wildcard = false;
    bool in_use = false;
    for (addrinfo* a = resolved; a != nullptr; a = a->ai_next) {
      if (a->ai_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
        const std::uint32_t address = ntohl(in->sin_addr.s_addr);
        wildcard |= address == INADDR_ANY;
        all_loopback &= (address >> 24) == 127;
      } else if (a->ai_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
        wildcard |= IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
        all_loopback &= IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) != 0;
      } else {
        all_loopback = false;
      }
      // Whether something listens there already (e.g. a running customer-cdc): a note only.
      const int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
      if (fd >= 0) {
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 && errno == EADDRINUSE) in_use = true;
        ::close(fd);
      }
    }
    ::freeaddrinfo(resolved);
    std::string detail = fmt::format("GET /metrics and /healthz on {}", listen);
    if (all_loopback) {
      detail += " (loopback only: reachable from this host)";
    } else if (wildcard) {
      detail += " (note: all interfaces, reachable from the network without authentication)";
    } else {
      detail += " (note: not loopback, reachable from the network without authentication)";
    }
    if (in_use) detail += "; note: the port is in use right now (a running customer-cdc?)";
    ok("metrics", detail);
  }

  // -- state -------------------------------------------------------------------

  const Config& config_;
  Emit emit_;
  Redactor redactor_;
  bool all_ok_ = true;
  std::unique_ptr<pg::Connection> conn_;
  std::string dsn_user_;
  std::string dsn_db_;
  std::string user_;
  std::string db_;
  std::string version_;
  int version_num_ = 0;
  bool in_recovery_ = false;
  bool superuser_ = false;
  bool replication_ = false;
  bool bypassrls_ = false;
  bool wal_level_ok_ = false;
  bool free_slot_ = false;
  bool free_sender_ = false;
  bool plugin_allowed_ = true;
  std::set<std::string> missing_;  ///< tables the schema item found missing
};

}  // namespace

std::string format_check_item(const CheckItem& item) {
  if (item.ok) return fmt::format("OK   {}: {}", item.item, item.detail);
  return fmt::format("FAIL {}: {} -> fix: {}", item.item, item.detail, item.fix);
}

std::vector<CheckItem> run_checks(const Config& config) {
  std::vector<CheckItem> items;
  try {
    Checker(config, [&](const CheckItem& item) { items.push_back(item); }).run();
  } catch (const std::exception& e) {
    items.push_back({"check", false, fmt::format("internal error: {}", e.what()), "report this as a bug"});
  }
  return items;
}

int cmd_check(const Config& config) {
  // A server that does not answer must not hang the check: bound every
  // connection attempt unless the DSN or the environment sets connect_timeout.
  ::setenv("PGCONNECT_TIMEOUT", "10", /*overwrite=*/0);
  bool all_ok = true;
  try {
    all_ok = Checker(config, [](const CheckItem& item) {
               std::cout << format_check_item(item) << std::endl;  // one line at a time, as items finish
             }).run();
  } catch (const std::exception& e) {
    std::cout << format_check_item({"check", false, fmt::format("internal error: {}", e.what()),
                                    "report this as a bug"})
              << std::endl;
    all_ok = false;
  }
  return all_ok ? 0 : 1;
}

}  // namespace cdc::app
