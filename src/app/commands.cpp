#include "cdc/app/commands.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cdc/app/embedded_schema.hpp"
#include "cdc/app/publication.hpp"
#include "cdc/app/snapshot.hpp"
#include "cdc/core/pg.hpp"
#include "cdc/sinks/postgres/checkpoint.hpp"
#include "cdc/sinks/postgres/postgres_sink.hpp"
#include "cdc/sinks/postgres/rollups/rollup_part.hpp"
#include "cdc/stream/replication_stream.hpp"

namespace cdc::app {
namespace {

std::vector<SchemaFile> schema_from_dir(const std::string& dir) {
  std::vector<SchemaFile> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".sql") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    files.push_back({entry.path().filename().string(), text.str()});
  }
  if (ec) throw ConfigError(fmt::format("--schema-dir {}: {}", dir, ec.message()));
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return files;
}

}  // namespace

int cmd_migrate(const Config& config, const std::optional<std::string>& schema_dir) {
  const std::vector<SchemaFile> files = schema_dir ? schema_from_dir(*schema_dir) : embedded_schema();
  if (files.empty()) {
    spdlog::error("no schema files found{}", schema_dir ? " in " + *schema_dir : "");
    return 1;
  }
  pg::Connection conn(config.postgres.dsn);
  for (const auto& file : files) {
    try {
      conn.exec("BEGIN");
      conn.exec(file.sql);
      conn.exec("COMMIT");
    } catch (const pg::Error& e) {
      spdlog::error("migrate: {} failed: {}", file.name, e.what());
      return 1;
    }
    std::cout << "applied " << file.name << "\n";
  }
  std::cout << "schema is up to date (" << files.size() << " files)\n";
  if (config.postgres.plugin == "pgoutput") {
    try {
      std::cout << ensure_publication(conn, config) << "\n";
    } catch (const pg::Error& e) {
      spdlog::error("migrate: publication \"{}\": {}", config.postgres.publication, e.what());
      return 1;
    }
  }
  return 0;
}

int cmd_slot_create(const Config& config) {
  stream::ReplicationStream stream(config.postgres.dsn);
  if (auto state = stream.slot_state(config.postgres.slot)) {
    std::cout << fmt::format("slot \"{}\" already exists (plugin {}, confirmed_flush_lsn {})\n", state->name,
                             state->plugin, format_lsn(state->confirmed_flush_lsn));
    if (state->plugin == config.postgres.plugin) return 0;
    spdlog::error("slot \"{}\" uses plugin {}, postgres.plugin is {}: drop it (`customer-cdc slot drop`) or set "
                  "postgres.slot to another name",
                  state->name, state->plugin, config.postgres.plugin);
    return 1;
  }
  require_server_support(stream, config);
  const Lsn consistent = stream.create_slot(config.postgres.slot, config.postgres.plugin).consistent_point;
  std::cout << fmt::format("created slot \"{}\" ({}) at {}\n", config.postgres.slot, config.postgres.plugin,
                           format_lsn(consistent));
  return 0;
}

int cmd_slot_drop(const Config& config) {
  stream::ReplicationStream stream(config.postgres.dsn);
  if (!stream.slot_state(config.postgres.slot)) {
    std::cout << fmt::format("slot \"{}\" does not exist\n", config.postgres.slot);
    return 0;
  }
  stream.drop_slot(config.postgres.slot);
  std::cout << fmt::format("dropped slot \"{}\"\n", config.postgres.slot);
  // A deliberate drop: forget the checkpoint too, so the next start creates a
  // fresh slot instead of reporting a vanished one.
  pg::Connection conn(config.postgres.dsn);
  if (sinks::forget_checkpoint(conn, config.postgres.slot)) std::cout << "removed its checkpoint\n";
  return 0;
}

int cmd_slot_status(const Config& config) {
  stream::ReplicationStream stream(config.postgres.dsn);
  const auto state = stream.slot_state(config.postgres.slot);
  if (!state) {
    std::cout << fmt::format("slot \"{}\" does not exist (create it with `customer-cdc slot create`)\n",
                             config.postgres.slot);
    return 1;
  }
  std::cout << fmt::format("slot_name            {}\n", state->name)
            << fmt::format("plugin               {}\n", state->plugin)
            << fmt::format("database             {}\n", state->database)
            << fmt::format("active               {}{}\n", state->active ? "true" : "false",
                           state->active_pid ? fmt::format(" (pid {})", *state->active_pid) : "")
            << fmt::format("confirmed_flush_lsn  {}\n", format_lsn(state->confirmed_flush_lsn))
            << fmt::format("restart_lsn          {}\n", format_lsn(state->restart_lsn))
            << fmt::format("retained_wal_bytes   {}\n",
                           state->retained_wal_bytes ? std::to_string(*state->retained_wal_bytes) : "unknown")
            << fmt::format("wal_status           {}\n", state->wal_status);
  return 0;
}

int cmd_snapshot(const Config& config, const std::atomic<bool>& stop) {
  SnapshotStats stats;
  try {
    stream::ReplicationStream stream(config.postgres.dsn);
    if (stream.slot_state(config.postgres.slot)) {
      stats = snapshot_existing_slot(config, stop);
    } else {
      require_server_support(stream, config);
      const stream::CreatedSlot created = stream.create_slot(config.postgres.slot, config.postgres.plugin,
                                                             {.snapshot = stream::SlotSnapshot::kExport});
      std::cout << fmt::format("created slot \"{}\" ({}) at {}\n", config.postgres.slot, config.postgres.plugin,
                               format_lsn(created.consistent_point));
      stats = run_snapshot(config, created.snapshot_name, created.consistent_point, true, stop);
    }
  } catch (const SnapshotStopped& e) {
    spdlog::warn("{}; nothing was committed", e.what());
    return 1;
  } catch (const sinks::SinkLocked& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  for (const auto& [table, rows] : stats.rows) std::cout << fmt::format("{}: {} rows\n", table, rows);
  std::cout << fmt::format("snapshot consistent at {}{}{}\n", format_lsn(stats.consistent_point),
                           config.kafka.enabled ? ", published to Kafka" : "",
                           config.rollups.enabled ? ", rollups rebuilt" : "");
  return 0;
}

int cmd_rebuild_rollups(const Config& config) {
  {
    stream::ReplicationStream stream(config.postgres.dsn);
    if (stream.slot_state(config.postgres.slot)) {
      // Exact with respect to the slot: rebuilt inside a snapshot exported at a
      // known position, from which the daemon applies table-state changes.
      Config rollups_only = config;
      rollups_only.rollups.enabled = true;
      rollups_only.kafka.enabled = false;
      const std::atomic<bool> never_stop{false};
      try {
        const SnapshotStats stats = snapshot_existing_slot(rollups_only, never_stop);
        std::cout << fmt::format("rebuilt rollups consistent with slot \"{}\" at {}\n", config.postgres.slot,
                                 format_lsn(stats.consistent_point));
      } catch (const sinks::SinkLocked& e) {
        spdlog::error("{}", e.what());
        return 1;
      }
      return 0;
    }
  }
  pg::Connection conn(config.postgres.dsn);
  if (!sinks::try_lock_slot_writer(conn, config.postgres.slot)) {
    spdlog::error("a customer-cdc daemon is writing for slot \"{}\": stop it before rebuilding", config.postgres.slot);
    return 1;
  }
  conn.exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
  sinks::rebuild_rollups(conn);
  conn.exec("COMMIT");
  std::cout << "rebuilt rollups from the current tables (no slot yet)\n";
  return 0;
}

}  // namespace cdc::app
