#pragma once
#include <atomic>
#include <memory>
#include <vector>

#include "cdc/app/config.hpp"
#include "cdc/sinks/kafka/kafka_sink.hpp"
#include "cdc/sinks/sink.hpp"

namespace cdc::app {

/// Kafka sink options from the config, with the database name and the
/// captured tables' primary keys read from the catalog.
sinks::KafkaSinkOptions kafka_options(const Config& config);

/// The enabled sinks: Postgres (audit and/or rollups) first, then Kafka.
/// `sink_backend_pid` (if given) gets the Postgres sink's server process, or 0.
std::vector<std::unique_ptr<sinks::Sink>> make_sinks(const Config& config, std::atomic<int>* sink_backend_pid = nullptr);

}  // namespace cdc::app
