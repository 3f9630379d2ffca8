#include "cdc/sinks/postgres/checkpoint.hpp"

#include <fmt/format.h>

#include "cdc/core/pg_time.hpp"

namespace cdc::sinks {
namespace {

/// Whether customer_cdc.checkpoint has the kafka_lsn column: a schema not yet migrated lacks it.
bool checkpoint_records_kafka(pg::Connection& conn) {
  return conn.exec("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = "
                   "to_regclass('customer_cdc.checkpoint') AND attname = 'kafka_lsn' AND NOT attisdropped)")
             .value(0, 0) == "t";
}

}  // namespace

Checkpoint read_checkpoint(pg::Connection& conn, const std::string& slot) {
  Checkpoint checkpoint;
  checkpoint.records_kafka = checkpoint_records_kafka(conn);
  const pg::Result result = conn.exec_params(
      fmt::format("SELECT lsn::text, snapshot_lsn::text, {} FROM customer_cdc.checkpoint WHERE slot_name = $1",
                  checkpoint.records_kafka ? "kafka_lsn::text" : "NULL"),
      {slot});
  if (result.rows() == 0) return checkpoint;
  checkpoint.exists = true;
  checkpoint.lsn = parse_lsn(result.value(0, 0)).value_or(0);
  if (!result.is_null(0, 1)) checkpoint.snapshot_lsn = parse_lsn(result.value(0, 1)).value_or(0);
  if (!result.is_null(0, 2)) checkpoint.kafka_lsn = parse_lsn(result.value(0, 2)).value_or(0);
  return checkpoint;
}

std::string checkpoint_upsert(const pg::Connection& conn, const std::string& slot, Lsn lsn,
                              std::optional<Lsn> snapshot_lsn, std::optional<SourceCommit> source,
                              std::optional<Lsn> kafka_lsn) {
  const std::string snapshot = snapshot_lsn ? fmt::format("'{}'", format_lsn(*snapshot_lsn)) : "NULL";
  const std::string xid = source ? std::to_string(source->xid) : "NULL";
  const std::string commit_time = source ? fmt::format("'{}'", format_timestamp_utc(source->commit_time_us)) : "NULL";
  // The column is named only when given: a schema not yet migrated lacks it.
  const std::string kafka_column = kafka_lsn ? ", kafka_lsn" : "";
  const std::string kafka_value = kafka_lsn ? fmt::format(", '{}'::pg_lsn", format_lsn(*kafka_lsn)) : "";
  const std::string kafka_update = kafka_lsn ? ", kafka_lsn = excluded.kafka_lsn" : "";
  return fmt::format(
      "INSERT INTO customer_cdc.checkpoint AS c (slot_name, lsn, snapshot_lsn, source_xid, source_commit_time, "
      "updated_at{}) VALUES ({}, '{}'::pg_lsn, {}::pg_lsn, {}::bigint, {}::timestamptz, now(){}) "
      "ON CONFLICT (slot_name) DO UPDATE SET lsn = excluded.lsn, "
      "snapshot_lsn = coalesce(excluded.snapshot_lsn, c.snapshot_lsn), "
      "source_xid = coalesce(excluded.source_xid, c.source_xid), "
      "source_commit_time = coalesce(excluded.source_commit_time, c.source_commit_time), updated_at = now(){}",
      kafka_column, conn.quote_literal(slot), format_lsn(lsn), snapshot, xid, commit_time, kafka_value, kafka_update);
}

void write_checkpoint(pg::Connection& conn, const std::string& slot, Lsn lsn, std::optional<Lsn> snapshot_lsn) {
  conn.exec(checkpoint_upsert(conn, slot, lsn, snapshot_lsn, std::nullopt));
}

bool move_checkpoint(pg::Connection& conn, const std::string& from, const std::string& to, Lsn lsn) {
  const pg::Result moved = conn.exec_params(
      "WITH old AS (DELETE FROM customer_cdc.checkpoint WHERE slot_name = $1 RETURNING *) "
      "INSERT INTO customer_cdc.checkpoint AS c (slot_name, lsn, snapshot_lsn, source_xid, source_commit_time, "
      "updated_at) SELECT $2, greatest(lsn, $3::pg_lsn), snapshot_lsn, source_xid, source_commit_time, now() FROM old "
      "ON CONFLICT (slot_name) DO UPDATE SET lsn = excluded.lsn, snapshot_lsn = excluded.snapshot_lsn, "
      "source_xid = excluded.source_xid, source_commit_time = excluded.source_commit_time, updated_at = now() "
      "RETURNING 1",
      {from, to, format_lsn(lsn)});
  return moved.rows() > 0;
}

bool forget_checkpoint(pg::Connection& conn, const std::string& slot) {
  if (conn.exec("SELECT to_regclass('customer_cdc.checkpoint') IS NOT NULL").value(0, 0) != "t") return false;
  conn.exec_params("DELETE FROM customer_cdc.checkpoint WHERE slot_name = $1", {slot});
  return true;
}

}  // namespace cdc::sinks
