#pragma once
// A throwaway PostgreSQL 15 cluster per test (real server, no mocks), plus a
// small libpq wrapper for SQL in tests.
//
//   cdc::testing::PgCluster pg;                      // initdb + start + app db + schema/*.sql
//   pg.exec("INSERT INTO customer ...");
//   auto n = pg.scalar("SELECT count(*) FROM audit_log WHERE id = $1", {"42"});
//   pg.restart();                                    // same port, cached conn reconnects
//   DaemonProcess d({"run"}, {{"CUSTOMER_CDC_POSTGRES_DSN", pg.conninfo()}});
//
// The server runs as the `postgres` OS user (PostgreSQL refuses root) on a
// free 127.0.0.1 port with wal_level=logical; superuser `postgres` (or
// Options::superuser), trust auth.

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace cdc::testing {

using Value = std::optional<std::string>;  ///< nullopt = SQL NULL
using Row = std::vector<Value>;
using Rows = std::vector<Row>;

/// A failed SQL command; what() is the server's message, sqlstate() its code
/// ("" for client-side errors such as a lost connection or timeout).
class PgError : public std::runtime_error {
 public:
  PgError(const std::string& message, std::string sqlstate)
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

/// RAII libpq connection. Every call is bounded by timeout() (default 120 s):
/// on expiry the query is cancelled and PgError("... timed out ...") thrown.
class PgConn {
 public:
  /// Connects (connect_timeout=10 unless conninfo says otherwise); throws
  /// std::runtime_error with PQerrorMessage on failure.
  explicit PgConn(const std::string& conninfo);
  ~PgConn();
  PgConn(PgConn&& other) noexcept;
  PgConn& operator=(PgConn&& other) noexcept;
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  /// Runs one or more ';'-separated statements (simple protocol). Throws
  /// PgError on the first error.
  void exec(const std::string& sql);
  /// Rows of the last statement's result. With params, `sql` must be a single
  /// statement using $1, $2, ... (text parameters, nullopt = NULL).
  Rows query(const std::string& sql, const std::vector<Value>& params = {});
  /// First column of the first row; nullopt if NULL or no rows.
  Value scalar(const std::string& sql, const std::vector<Value>& params = {});

  bool ok() const;                 ///< connection status is CONNECTION_OK
  PGconn* raw() const { return conn_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }
  /// NOTICE/WARNING messages received so far (not printed to stderr).
  const std::vector<std::string>& notices() const { return notices_; }

 private:
  /// Sends the query and collects all results; returns the rows of the last
  /// result. Throws PgError on error/timeout.
  Rows run(const std::string& sql, const std::vector<Value>* params);
  static void notice_receiver(void* arg, const PGresult* res);

  PGconn* conn_ = nullptr;
  std::chrono::milliseconds timeout_{120000};
  std::vector<std::string> notices_;
};

/// Options of PgCluster (a namespace-level struct so that `Options = {}` works
/// as a default argument).
struct PgClusterOptions {
  std::string database = "app";  ///< created after start; "" = only `postgres`
  bool apply_schema = true;      ///< psql -f CDC_SOURCE_DIR/schema/*.sql (name order)
  std::string schema_dir;        ///< "" = CDC_SOURCE_DIR "/schema"
  std::vector<std::string> extra_conf;  ///< appended to postgresql.conf (last wins)
  std::string bin_dir = "/usr/lib/postgresql/15/bin";
  /// The bootstrap superuser (initdb -U) that conninfo(), conn() and psql use.
  /// Another name leaves `postgres` free to be an ordinary role, as on Supabase.
  std::string superuser = "postgres";
};

class PgCluster {
 public:
  using Options = PgClusterOptions;

  /// initdb, configure, start, create the database, apply the schema. Throws
  /// std::runtime_error (with the tool's output) on failure; the directory is
  /// then kept and its path printed.
  explicit PgCluster(Options options = {});
  /// pg_ctl stop -m immediate; removes the directory unless the current test
  /// failed or CDC_KEEP_TEST_CLUSTER=1 (then prints its path and the log tail).
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  int port() const { return port_; }
  const std::string& database() const { return options_.database; }
  /// "host=127.0.0.1 port=N user=<superuser> dbname=<db or default db>"
  std::string conninfo(std::string db = "") const;
  /// The same as another role (trust authentication: no password).
  std::string conninfo_as(const std::string& user, std::string db = "") const;
  std::string dir() const { return dir_; }
  std::string data_dir() const { return dir_ + "/data"; }
  std::string log_path() const { return dir_ + "/log"; }
  std::string socket_dir() const { return dir_; }
  std::string log_text() const;
  bool is_running() const { return running_; }

  /// pg_ctl stop -m <mode> (smart | fast | immediate); no-op if stopped.
  void stop(std::string mode = "fast");
  /// pg_ctl start -w on the same port; no-op if running.
  void start();
  void restart(std::string mode = "fast");

  /// New connection to `db` (default: the cluster's database).
  PgConn connect(std::string db = "") const;
  /// Cached connection to the default database (re-opened after a restart or
  /// when it went bad).
  PgConn& conn();
  void exec(const std::string& sql) { conn().exec(sql); }
  Rows query(const std::string& sql, const std::vector<Value>& params = {}) {
    return conn().query(sql, params);
  }
  Value scalar(const std::string& sql, const std::vector<Value>& params = {}) {
    return conn().scalar(sql, params);
  }

  /// Runs `sql` (may contain psql meta-commands) through
  /// `psql -X -q -A -t -v ON_ERROR_STOP=1`; returns its stdout. Throws
  /// std::runtime_error with psql's output on failure.
  std::string psql(const std::string& sql, std::string db = "") const;
  /// psql -v ON_ERROR_STOP=1 -q -f <file> against `db`; throws on failure.
  void psql_file(const std::string& path, std::string db = "") const;
  /// Applies every *.sql file of the schema dir in name order (what the
  /// constructor does when Options::apply_schema is set).
  void apply_schema(std::string db = "") const;

  /// Whether this PostgreSQL build knows the `output_plugin_libraries`
  /// setting (the Debian build does not). Determined once per process.
  static bool supports_output_plugin_libraries(const std::string& bin_dir);

 private:
  void init();
  void write_config();
  void start_once();
  void cleanup_after_failed_construction();
  std::string bin(const char* tool) const { return options_.bin_dir + "/" + tool; }
  /// Runs a PostgreSQL tool as the postgres OS user; throws with output on failure.
  std::string run_as_postgres(const std::vector<std::string>& argv,
                              std::chrono::milliseconds timeout) const;

  Options options_;
  std::string dir_;
  std::string base_conf_;  ///< postgresql.conf as written by initdb
  int port_ = 0;
  bool running_ = false;
  std::unique_ptr<PgConn> conn_;
};

/// Picks a currently free TCP port on 127.0.0.1 (bind to port 0, read, close).
int pick_free_port();

/// Quotes a value for a libpq key=value conninfo string if needed.
std::string conninfo_quote(const std::string& value);

}  // namespace cdc::testing
