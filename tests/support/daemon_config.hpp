#pragma once
// The daemon's TOML configuration file for a test, written from a few knobs.
//
//   DaemonConfig config(pg.conninfo());
//   config.rollups = true;
//   DaemonProcess daemon({"--config", write_daemon_config(config), "run"});
//
// A knob left unset is not written, so the daemon's default applies. Sections
// come in the order of the README's configuration table.

#include <optional>
#include <string>

namespace cdc::testing {

struct DaemonConfig {
  explicit DaemonConfig(std::string dsn_) : dsn(std::move(dsn_)) {}

  /// Raw TOML written first (top-level keys must precede every table).
  std::string top;
  std::optional<std::string> log_level;

  // [postgres]
  std::string dsn;
  std::optional<std::string> slot;
  std::optional<int> status_interval_ms;
  std::optional<int> stream_timeout_ms;
  std::optional<int> sink_timeout_ms;
  std::optional<std::string> snapshot_mode;
  std::optional<bool> create_slot;
  std::optional<std::string> plugin;
  /// Raw TOML lines of [postgres] (publication = ..., binary = ...).
  std::string postgres_extra;

  // [audit], [rollups]: the section is written only when set.
  std::optional<bool> audit;
  std::optional<bool> rollups;

  // [kafka]: written when `kafka` is set.
  std::optional<bool> kafka;
  std::optional<std::string> brokers;
  std::optional<std::string> topic_prefix;
  /// Raw TOML lines of [kafka] (schemas = true, ...).
  std::string kafka_extra;
  /// Raw `"key" = "value"` lines of [kafka.properties]; the table is written when set.
  std::optional<std::string> kafka_properties;

  /// [metrics] listen; "" turns the endpoint off (the usual test setting).
  std::optional<std::string> metrics_listen = std::string();

  /// Raw TOML appended at the end (more tables).
  std::string extra;

  std::string toml() const;
};

/// Writes config.toml() to a fresh temporary .toml file; returns its path.
std::string write_daemon_config(const DaemonConfig& config);

}  // namespace cdc::testing
