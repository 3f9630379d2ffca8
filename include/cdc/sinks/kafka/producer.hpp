#pragma once
#include <librdkafka/rdkafka.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cdc/sinks/kafka/producer_config.hpp"

namespace cdc::sinks {

/// What a Producer reports; called from inside Producer::poll().
class ProducerListener {
 public:
  virtual ~ProducerListener() = default;
  /// The delivery report of a message produced with `tag`.
  virtual void delivered(std::uint64_t tag, bool ok) = 0;
  /// Why the producer cannot go on: a failed delivery or a fatal producer error.
  virtual void failed(std::string reason) = 0;
};

/// A librdkafka producer configured by kafka_producer_config. Transport errors
/// (broker down) are only logged: librdkafka retries them.
class Producer {
 public:
  /// Throws KafkaError when librdkafka rejects a property or cannot start.
  Producer(const KafkaProducerOptions& options, ProducerListener& listener);
  /// Purges what is still queued: it was not acknowledged, so it is produced again after a restart.
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  /// Queues a copy of one message (`key` empty: none, `value` nullopt: a
  /// tombstone); false when the queue is full. Throws KafkaError on other errors.
  bool try_produce(const std::string& topic, std::string_view key, std::optional<std::string_view> value,
                   std::uint64_t tag);
  /// Serves delivery reports and errors, waiting up to `timeout_ms` for one.
  void poll(int timeout_ms);
  /// Messages waiting for a delivery report.
  std::size_t queue_length() const;
  /// Asks for the metadata of `topics` now, without waiting for it: the
  /// first message to a topic librdkafka has not seen otherwise waits for its
  /// periodic scan of unknown topics (about 1 s after the producer started).
  void announce_topics(const std::vector<std::string>& topics);

 private:
  static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);
  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque);

  ProducerListener& listener_;
  rd_kafka_t* rk_ = nullptr;
  std::vector<rd_kafka_topic_t*> announced_;  ///< held until the producer goes
};

}  // namespace cdc::sinks
