#pragma once
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace cdc::app {

struct PostgresConfig {
  std::string dsn = "host=127.0.0.1 port=5432 dbname=app user=customer_cdc";
  std::string slot = "customer_cdc";
  bool create_slot = true;
  std::vector<std::string> tables = {"public.customer", "public.plans"};
  int status_interval_ms = 10000;
  /// Nothing from the server for this long: the stream is stalled (reconnect).
  int stream_timeout_ms = 30000;
  /// A sink statement waiting this long for a lock is cancelled (a call that
  /// hangs 5 s longer ends the connection) and its batch retried; after half
  /// of it the sink is reported stalled.
  int sink_timeout_ms = 60000;
  std::string snapshot_mode = "initial";  ///< initial | never | always
  std::string plugin = "wal2json";        ///< the output plugin (decode::supported_plugins())
  std::string publication = "customer_cdc";  ///< pgoutput: the publication of the captured tables
  bool binary = false;                       ///< pgoutput: binary mode (PostgreSQL 14+)
  bool streaming = false;  ///< pgoutput: protocol 2 streaming of in-progress transactions (PostgreSQL 14+)
  /// Where streamed transactions wait for their commit; "" = spool_directory()'s default.
  std::string spool_dir;
};

struct AuditConfig {
  bool enabled = true;
};

struct RollupsConfig {
  bool enabled = true;
};

struct KafkaConfig {
  bool enabled = false;
  std::string brokers = "127.0.0.1:9092";
  std::string topic_prefix = "saas";
  bool tombstones_on_delete = true;
  bool schemas = false;               ///< {"schema","payload"} as the JSON converter with schemas.enable=true
  bool transaction_metadata = false;  ///< transaction blocks and <prefix>.transaction BEGIN/END records
  std::map<std::string, std::string> properties;  ///< passed to librdkafka as is
};

/// Poison messages (undecodable, or a captured change the sinks cannot map):
/// stop (default) or record them and go on.
struct DeadLetterConfig {
  bool enabled = false;  ///< record in customer_cdc.dead_letter / <prefix>.dead_letter and continue
};

/// Online snapshots (`customer-cdc snapshot` while the daemon runs).
struct SnapshotConfig {
  int chunk_size = 1024;               ///< rows per chunk (one watermark window)
  int throttle_rows_per_second = 0;    ///< 0: unlimited
};

struct MetricsConfig {
  std::string listen = "127.0.0.1:9187";  ///< "" disables
  /// /readyz answers 200 while streaming with at most this lag.
  int ready_max_lag_seconds = 60;
};

struct Config {
  std::string log_level = "info";   ///< debug | info | warn | error
  std::string log_format = "text";  ///< text | json
  PostgresConfig postgres;
  AuditConfig audit;
  RollupsConfig rollups;
  KafkaConfig kafka;
  MetricsConfig metrics;
  DeadLetterConfig dead_letter;
  SnapshotConfig snapshot;
};

/// A configuration problem; what() names the key (or file) and what is wrong.
/// Maps to exit code 2.
/// Bad configuration: `main` exits with code 2 (not a daemon-loop error).
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Environment lookup, injectable for tests.
using EnvLookup = std::map<std::string, std::string>;

/// Snapshot of the process environment restricted to CUSTOMER_CDC_* variables.
EnvLookup process_environment();

/// Parses TOML text (source_name is used in messages), applies
/// CUSTOMER_CDC_<SECTION>_<KEY> / CUSTOMER_CDC_<KEY> overrides and validates.
/// Throws ConfigError on a syntax error, unknown key, wrong type or bad value.
Config parse_config(const std::string& toml_text, const std::string& source_name,
                    const EnvLookup& env);

/// Reads the file and calls parse_config. A missing file is a ConfigError,
/// unless allow_missing is set (then defaults + environment are used).
Config load_config(const std::string& path, const EnvLookup& env, bool allow_missing = false);

}  // namespace cdc::app
