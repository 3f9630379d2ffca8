// customer-cdc: PostgreSQL logical replication to audit entries,
// analytics rollups and Kafka events.
#include <CLI/CLI.hpp>

#include <malloc.h>

#include <cstdlib>
#include <iostream>
#include <optional>

#include <spdlog/spdlog.h>

#include "cdc/app/check.hpp"
#include "cdc/app/commands.hpp"
#include "cdc/app/config.hpp"
#include "cdc/app/daemon.hpp"
#include "cdc/app/logging.hpp"
#include "cdc/app/metrics.hpp"
#include "cdc/app/online_snapshot.hpp"
#include "cdc/app/slot_switch.hpp"
#include "cdc/core/conninfo.hpp"
#include "cdc/core/lsn.hpp"
#include "cdc/core/version.hpp"

namespace {

constexpr const char* kDefaultConfig = "/etc/customer-cdc/customer-cdc.toml";
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

}  // namespace

int main(int argc, char** argv) {
  // Few malloc arenas: the reader, writer and librdkafka threads would each
  // grow their own, and peak RSS is part of the contract (bounded memory).
  mallopt(M_ARENA_MAX, 2);
  using namespace cdc::app;
  CLI::App app{"customer-cdc: streams committed changes of the SaaS billing schema from a PostgreSQL logical "
               "replication slot (wal2json by default) into audit entries, analytics rollups and Kafka events."};
  app.set_version_flag("--version", "customer-cdc " + std::string(cdc::kVersion));
  std::string config_path;
  app.add_option("--config", config_path,
                 std::string("TOML configuration file (default ") + kDefaultConfig +
                     ", or $CUSTOMER_CDC_CONFIG)");
  app.require_subcommand(1);

  auto* run = app.add_subcommand("run", "the daemon: stream, write audit entries and rollups, publish to Kafka, "
                                        "until SIGTERM/SIGINT");
  std::string end_lsn_text;
  run->add_option("--end-lsn", end_lsn_text,
                  "stop once every transaction committing before this WAL position (e.g. 0/16B3748) is delivered "
                  "and acknowledged (the slot is then confirmed up to it), and exit 0");
  auto* check = app.add_subcommand(
      "check", "preflight: connection, server version, wal_level, free replication slots and WAL senders, "
               "the output plugin loadable, REPLICATION privilege, schema, replica identity FULL on public.customer, "
               "table privileges, slot state, Kafka reachable, metrics address; one line per item, OK or "
               "FAIL with the fix; exit 0 only if all pass");
  auto* migrate = app.add_subcommand("migrate", "apply schema/*.sql in name order (idempotent)");
  std::string schema_dir;
  migrate->add_option("--schema-dir", schema_dir, "apply the .sql files of this directory instead of the "
                                                  "schema built into the binary");
  auto* slot = app.add_subcommand("slot", "manage the logical replication slot");
  slot->require_subcommand(1);
  auto* slot_create = slot->add_subcommand("create", "create the slot (with postgres.plugin, wal2json by default) if missing");
  auto* slot_drop = slot->add_subcommand("drop", "drop the slot");
  auto* slot_status = slot->add_subcommand("status", "print slot name, plugin, active, confirmed_flush_lsn, "
                                                     "retained WAL bytes");
  auto* slot_switch = slot->add_subcommand(
      "switch", "move from the slot given by --from (e.g. a wal2json slot) to postgres.slot and postgres.plugin of "
                "this configuration without losing or repeating a change: creates the new slot at a position P, "
                "delivers what the old slot holds before P, moves the checkpoint, drops the old slot; stop the "
                "daemon first; safe to run again after an interruption");
  std::string switch_from;
  slot_switch->add_option("--from", switch_from, "the slot the daemon streamed from until now")->required();
  auto* snapshot = app.add_subcommand(
      "snapshot", "backfill: publish every existing row of the captured tables (op r) to Kafka. With the daemon "
                  "running: asks it for an online snapshot (chunked, resumable, while it keeps streaming); without "
                  "it: the offline snapshot, which also rebuilds the rollups, consistent with the slot");
  SnapshotCommand snapshot_command;
  snapshot->add_option("--table", snapshot_command.tables,
                       "online: only this captured table (repeatable; default: every captured table)");
  snapshot->add_option("--where", snapshot_command.where,
                       "online: only rows matching this SQL condition, e.g. \"plan_id = 3\"");
  snapshot->add_flag("--wait", snapshot_command.wait, "online: follow the snapshot to its end (a progress bar in a terminal)");
  snapshot->add_flag("--cancel", snapshot_command.cancel, "cancel the online snapshot that is requested or running");
  auto* snapshot_status = snapshot->add_subcommand(
      "status", "the latest online snapshot: state, table, rows done, estimated total, rate, ETA");
  auto* rebuild = app.add_subcommand("rebuild-rollups", "recompute the rollup tables from the source tables and the audit history, in one transaction");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  bool explicit_config = !config_path.empty();
  if (!explicit_config) {
    if (const char* env = std::getenv("CUSTOMER_CDC_CONFIG"); env != nullptr && *env != '\0') {
      config_path = env;
      explicit_config = true;
    } else {
      config_path = kDefaultConfig;
    }
  }

  std::optional<cdc::Lsn> end_lsn;
  if (!end_lsn_text.empty() && !(end_lsn = cdc::parse_lsn(end_lsn_text))) {
    std::cerr << "error: --end-lsn " << end_lsn_text << ": not a WAL position (e.g. 0/16B3748)\n";
    return kExitUsage;
  }

  Config config;
  try {
    config = load_config(config_path, process_environment(), /*allow_missing=*/!explicit_config);
    setup_logging(config.log_level, config.log_format);
    if (const auto problem = cdc::pg::conninfo_problem(config.postgres.dsn)) {
      throw ConfigError("postgres.dsn: " + *problem);
    }
  } catch (const ConfigError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitUsage;
  }

  try {
    if (*run) {
      Signals signals;
      install_signal_handlers(signals);
      cdc::pipeline::Progress progress;
      std::unique_ptr<MetricsServer> metrics;
      if (!config.metrics.listen.empty()) metrics = std::make_unique<MetricsServer>(config.metrics.listen, progress,
                                                     BuildInfo{std::string(cdc::kVersion), config.postgres.plugin},
                                                     config.metrics.ready_max_lag_seconds);
      return run_daemon(config, signals, progress, [&] {
        return load_config(config_path, process_environment(), /*allow_missing=*/!explicit_config);
      }, end_lsn.value_or(0));
    }
    if (*migrate) return cmd_migrate(config, schema_dir.empty() ? std::nullopt : std::optional(schema_dir));
    if (*slot_create) return cmd_slot_create(config);
    if (*slot_drop) return cmd_slot_drop(config);
    if (*slot_status) return cmd_slot_status(config);
    if (*slot_switch) {
      Signals signals;
      install_signal_handlers(signals);
      return cmd_slot_switch(config, switch_from, signals);
    }
    if (*rebuild) return cmd_rebuild_rollups(config);
    if (*check) return cmd_check(config);
    if (*snapshot) {
      Signals signals;
      install_signal_handlers(signals);
      snapshot_command.status = static_cast<bool>(*snapshot_status);
      return cmd_snapshot_command(config, snapshot_command, signals.stop);
    }
  } catch (const ConfigError& e) {
    spdlog::error("configuration: {}", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return kExitRuntime;
  }
  return kExitRuntime;
}
