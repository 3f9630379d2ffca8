#include "cdc/app/sink_factory.hpp"

#include <spdlog/spdlog.h>

#include "cdc/core/pg.hpp"
#include "cdc/sinks/postgres/audit_part.hpp"
#include "cdc/sinks/postgres/postgres_sink.hpp"
#include "cdc/sinks/postgres/rollups/rollup_part.hpp"

namespace cdc::app {

sinks::KafkaSinkOptions kafka_options(const Config& config) {
  sinks::KafkaSinkOptions options;
  options.brokers = config.kafka.brokers;
  options.topic_prefix = config.kafka.topic_prefix;
  options.tombstones_on_delete = config.kafka.tombstones_on_delete;
  options.properties = config.kafka.properties;
  options.context.name = config.kafka.topic_prefix;
  options.schemas = config.kafka.schemas;
  options.transaction_metadata = config.kafka.transaction_metadata;
  options.tables = config.postgres.tables;
  if (options.schemas) {
    options.not_null_columns = [dsn = config.postgres.dsn](const std::string& table) {
      pg::Connection conn(dsn);
      const pg::Result rows = conn.exec_params(
          "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 "
          "AND NOT a.attisdropped AND a.attnotnull ORDER BY a.attnum",
          {table});
      std::vector<std::string> names;
      for (int row = 0; row < rows.rows(); ++row) names.emplace_back(rows.value(row, 0));
      return names;
    };
  }

  pg::Connection conn(config.postgres.dsn);
  options.context.db = PQdb(conn.get());
  const pg::Result keys = conn.exec_params(
      "SELECT n.nspname || '.' || c.relname, a.attname "
      "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
      "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
      "WHERE i.indisprimary AND n.nspname || '.' || c.relname = ANY($1::text[]) "
      "ORDER BY 1, array_position(i.indkey::int2[], a.attnum)",
      {pg::array_literal(config.postgres.tables)});
  for (int row = 0; row < keys.rows(); ++row) {
    options.primary_keys[std::string(keys.value(row, 0))].emplace_back(keys.value(row, 1));
  }
  for (const auto& table : config.postgres.tables) {
    if (!options.primary_keys.contains(table)) {
      spdlog::warn("{} has no primary key: its Kafka messages have no key (no per-key ordering)", table);
    }
  }
  return options;
}

std::vector<std::unique_ptr<sinks::Sink>> make_sinks(const Config& config, pipeline::Progress* progress) {
  std::vector<std::unique_ptr<sinks::Sink>> out;
  sinks::PostgresSink* postgres = nullptr;
  std::vector<std::unique_ptr<sinks::PgPart>> parts;
  if (config.audit.enabled) parts.push_back(std::make_unique<sinks::AuditPart>());
  if (config.rollups.enabled) parts.push_back(std::make_unique<sinks::RollupPart>());
  if (!parts.empty()) {
    sinks::PostgresSinkOptions options;
    options.dsn = config.postgres.dsn;
    options.slot = config.postgres.slot;
    options.lock_timeout = std::chrono::milliseconds(config.postgres.sink_timeout_ms);
    if (progress) options.watch = &progress->sink_connection;
    auto sink = std::make_unique<sinks::PostgresSink>(std::move(options), std::move(parts));
    if (progress) progress->sink_backend_pid.store(sink->backend_pid());
    postgres = sink.get();
    out.push_back(std::move(sink));
  } else if (progress) {
    progress->sink_backend_pid.store(0);
  }
  if (config.kafka.enabled) {
    // The Kafka position rides on the Postgres checkpoint (without Postgres
    // sinks there is none: Kafka takes whatever the slot sends).
    sinks::KafkaSinkOptions options = kafka_options(config);
    if (postgres) options.resume_lsn = postgres->recorded_kafka_position();
    auto kafka = std::make_unique<sinks::KafkaSink>(std::move(options));
    if (postgres) postgres->record_position_of(*kafka);
    out.push_back(std::move(kafka));
  }
  return out;
}

}  // namespace cdc::app
