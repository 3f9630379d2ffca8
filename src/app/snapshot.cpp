#include "cdc/app/snapshot.hpp"

#include <unistd.h>

#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cdc/stream/slot_check.hpp"
#include "cdc/app/plugin_settings.hpp"
#include "cdc/app/sink_factory.hpp"
#include "cdc/core/clock.hpp"
#include "cdc/core/pg.hpp"
#include "cdc/sinks/kafka/kafka_sink.hpp"
#include "cdc/sinks/postgres/checkpoint.hpp"
#include "cdc/sinks/postgres/postgres_sink.hpp"
#include "cdc/sinks/postgres/rollups/rollup_part.hpp"
#include "cursor_prefetch.hpp"
#include "snapshot_reads.hpp"
#include "table_rows.hpp"

namespace cdc::app {
namespace {

constexpr int kFetchRows = 2000;
constexpr auto kDeliveryWait = std::chrono::milliseconds(200);

/// Streams every row of `table` through a cursor into `reads`.
std::uint64_t publish_table(pg::Connection& conn, const std::string& table, SnapshotReads& reads, sinks::Sink& sink,
                            const std::atomic<bool>& stop) {
  const std::vector<TableColumn> columns = table_columns(conn, table);
  const std::string select = select_list(conn, columns);
  const auto [schema, name] = pg::split_table_name(table);
  conn.exec(fmt::format("DECLARE cdc_snapshot NO SCROLL CURSOR FOR SELECT {} FROM {}.{}", select,
                        conn.quote_identifier(schema), conn.quote_identifier(name)));
  reads.begin_table(schema, name);
  std::uint64_t rows = 0;
  {
    CursorPrefetch batches(conn, "cdc_snapshot", kFetchRows);
    for (;;) {
      if (stop.load()) throw SnapshotStopped("stopped during the snapshot of " + table);
      const pg::Result batch = batches.next();
      if (batch.rows() == 0) break;
      for (int row = 0; row < batch.rows(); ++row) {
        read_row(reads.next(), columns, batch, row);
        reads.add();
      }
      rows += static_cast<std::uint64_t>(batch.rows());
      sink.flush();
    }
  }
  conn.exec("CLOSE cdc_snapshot");
  return rows;
}

std::uint64_t count_rows(pg::Connection& conn, const std::string& table) {
  const auto [schema, name] = pg::split_table_name(table);
  const pg::Result result = conn.exec(
      fmt::format("SELECT count(*) FROM {}.{}", conn.quote_identifier(schema), conn.quote_identifier(name)));
  return std::stoull(std::string(result.value(0, 0)));
}

}  // namespace

SnapshotStats run_snapshot(const Config& config, const std::string& snapshot_name, Lsn consistent_point,
                           bool slot_created, const std::atomic<bool>& stop) {
  SnapshotStats stats;
  stats.consistent_point = consistent_point;
  pg::Connection conn(config.postgres.dsn, {{"options", "-c DateStyle=ISO -c TimeZone=UTC"}});
  if (!sinks::try_lock_slot_writer(conn, config.postgres.slot)) {
    throw sinks::SinkLocked(fmt::format("a customer-cdc daemon is writing for slot \"{}\": stop it before "
                                        "`customer-cdc snapshot`",
                                        config.postgres.slot));
  }
  conn.exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
  conn.exec("SET TRANSACTION SNAPSHOT " + conn.quote_literal(snapshot_name));
  spdlog::info("snapshot at {} of {}", format_lsn(consistent_point), fmt::join(config.postgres.tables, ", "));

  std::unique_ptr<sinks::Sink> kafka;
  if (config.kafka.enabled) kafka = std::make_unique<sinks::KafkaSink>(kafka_options(config));
  const sinks::TxnInfo txn{0, consistent_point, consistent_point, unix_now_us()};
  if (kafka) kafka->begin(txn);
  std::optional<SnapshotReads> reads;
  if (kafka) reads.emplace(*kafka, txn);
  for (const auto& table : config.postgres.tables) {
    stats.rows[table] = kafka ? publish_table(conn, table, *reads, *kafka, stop) : count_rows(conn, table);
    spdlog::info("snapshot: {} rows of {}", stats.rows[table], table);
  }
  if (kafka) {
    reads->finish();
    kafka->commit(txn);
    // Commit nothing until Kafka holds every row: a failure redoes the whole snapshot.
    while (kafka->durable_lsn() < consistent_point) {
      if (stop.load()) throw SnapshotStopped("stopped while Kafka confirmed the snapshot");
      kafka->drain(kDeliveryWait);
      kafka->flush();
    }
  }
  if (config.rollups.enabled) sinks::rebuild_rollups(conn);
  const Lsn checkpoint = slot_created
                             ? consistent_point
                             : sinks::read_checkpoint(conn, config.postgres.slot).lsn;
  sinks::write_checkpoint(conn, config.postgres.slot, checkpoint, consistent_point);
  conn.exec("COMMIT");
  spdlog::info("snapshot at {} complete", format_lsn(consistent_point));
  return stats;
}

SnapshotStats snapshot_existing_slot(const Config& config, const std::atomic<bool>& stop) {
  stream::ReplicationStream exporter(config.postgres.dsn);
  const std::string temporary = fmt::format("{}_snapshot_{}", config.postgres.slot, ::getpid());
  const stream::CreatedSlot created =
      exporter.create_slot(temporary, config.postgres.plugin, {.temporary = true, .snapshot = stream::SlotSnapshot::kExport});
  return run_snapshot(config, created.snapshot_name, created.consistent_point, false, stop);
}

void require_server_support(stream::ReplicationStream& stream, const Config& config) {
  pg::Connection& conn = stream.connection();
  if (const auto problem = server_version_problem(config.postgres, PQserverVersion(conn.get()))) {
    throw FatalError(problem->message());
  }
  if (config.postgres.plugin != "pgoutput") return;
  // A replication connection takes simple queries only (no parameters).
  const pg::Result r = conn.exec("SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = " +
                                 conn.quote_literal(config.postgres.publication));
  if (r.rows() == 0) {
    throw FatalError(fmt::format("publication \"{}\" (postgres.publication) does not exist: run `customer-cdc "
                                 "migrate` as the owner of the captured tables (it creates it), then start again",
                                 config.postgres.publication));
  }
}

Lsn prepare_stream(stream::ReplicationStream& stream, const Config& config, const std::atomic<bool>& stop) {
  require_server_support(stream, config);
  const std::string& slot = config.postgres.slot;
  const std::string& mode = config.postgres.snapshot_mode;
  std::optional<stream::SlotState> state = stream.slot_state(slot);
  if (!state) {
    if (!config.postgres.create_slot) {
      throw FatalError(fmt::format("replication slot \"{}\" does not exist and postgres.create_slot is false: "
                                   "create it with `customer-cdc slot create`, then backfill with "
                                   "`customer-cdc snapshot` (if the slot was dropped or lost in a failover, "
                                   "changes since its last position were not captured)",
                                   slot));
    }
    if (config.audit.enabled || config.rollups.enabled) {
      // A checkpoint means this slot was streamed before: it vanished (dropped,
      // or a failover to a replica without it). A fresh slot would silently
      // skip every change since, so stop and say how to recover.
      pg::Connection conn(config.postgres.dsn);
      const sinks::Checkpoint checkpoint = sinks::read_checkpoint(conn, slot);
      if (checkpoint.exists) {
        throw FatalError(fmt::format(
            "replication slot \"{}\" disappeared (dropped, or a failover to a server without it): its checkpoint "
            "is at {}, changes after that were not captured and a new slot cannot replay them. To recover: "
            "`customer-cdc snapshot` (creates the slot and republishes the current state), then start again; "
            "audit entries for the missed changes cannot be rebuilt",
            slot, format_lsn(checkpoint.lsn)));
      }
    }
    const bool snapshot = mode != "never";
    const stream::CreatedSlot created = stream.create_slot(
        slot, config.postgres.plugin, {.snapshot = snapshot ? stream::SlotSnapshot::kExport : stream::SlotSnapshot::kNothing});
    spdlog::info("created replication slot \"{}\" ({}) at {}", slot, config.postgres.plugin,
                 format_lsn(created.consistent_point));
    if (snapshot) {
      run_snapshot(config, created.snapshot_name, created.consistent_point, true, stop);
    } else if (config.audit.enabled || config.rollups.enabled) {
      pg::Connection conn(config.postgres.dsn);
      sinks::write_checkpoint(conn, slot, created.consistent_point, std::nullopt);
    }
    state = stream.slot_state(slot);
    if (!state) throw FatalError(fmt::format("replication slot \"{}\" vanished right after creation", slot));
    stream::check_slot_usable(*state, config.postgres.plugin);
    return state->confirmed_flush_lsn;
  }
  stream::check_slot_usable(*state, config.postgres.plugin);
  bool snapshot = mode == "always";
  if (mode == "initial" && (config.rollups.enabled || config.kafka.enabled)) {
    pg::Connection conn(config.postgres.dsn);
    const sinks::Checkpoint checkpoint = sinks::read_checkpoint(conn, slot);
    snapshot = checkpoint.snapshot_lsn == 0;
    if (snapshot) spdlog::info("snapshot_mode = initial and no snapshot completed yet for slot \"{}\"", slot);
  }
  if (snapshot) snapshot_existing_slot(config, stop);
  return state->confirmed_flush_lsn;
}

}  // namespace cdc::app
