#include "cdc/sinks/kafka/producer_config.hpp"

namespace cdc::sinks {

std::map<std::string, std::string> kafka_producer_config(const KafkaProducerOptions& options) {
  std::map<std::string, std::string> config = {
      {"bootstrap.servers", options.brokers},
      {"client.id", "customer-cdc"},
      {"enable.idempotence", "true"},  // acks=all, ordered retries without duplicates
      {"acks", "all"},
      {"message.timeout.ms", "0"},     // never give up on a message: an outage only stalls the stream
      {"linger.ms", "5"},
      {"compression.type", "lz4"},
      {"queue.buffering.max.messages", "100000"},
      {"queue.buffering.max.kbytes", "8192"},
      {"batch.size", "262144"},  // per-partition batch buffers count towards RSS too  // bounded memory; a full queue backpressures the stream
      {"partitioner", "murmur2_random"},  // same partitions for a key as the Java client
  };
  for (const auto& [key, value] : options.properties) config[key] = value;
  return config;
}

}  // namespace cdc::sinks
