#pragma once
#include <map>
#include <string>

namespace cdc::sinks {

/// Where the producer connects, and the user's librdkafka properties.
struct KafkaProducerOptions {
  std::string brokers;
  std::map<std::string, std::string> properties;  ///< librdkafka properties, applied last
};

/// The librdkafka configuration of the sink's producer: safe defaults
/// (idempotent producer, acks=all, no delivery timeout, Java-compatible
/// partitioner), then the user's properties. Shared with `check`.
std::map<std::string, std::string> kafka_producer_config(const KafkaProducerOptions& options);

}  // namespace cdc::sinks
