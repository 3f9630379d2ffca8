#pragma once
#include <memory>
#include <vector>

#include "cdc/app/config.hpp"
#include "cdc/pipeline/progress.hpp"
#include "cdc/sinks/kafka/kafka_sink.hpp"
#include "cdc/sinks/sink.hpp"

namespace cdc::app {

/// Kafka sink options from the config, with the database name and the
/// captured tables' primary keys read from the catalog.
sinks::KafkaSinkOptions kafka_options(const Config& config);

/// The enabled sinks: Postgres (audit and/or rollups) first, then Kafka.
/// With `progress`, the Postgres sink's server process and connection are
/// published there for the monitor (Progress::sink_backend_pid, sink_connection).
std::vector<std::unique_ptr<sinks::Sink>> make_sinks(const Config& config, pipeline::Progress* progress = nullptr);

}  // namespace cdc::app
