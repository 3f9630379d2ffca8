#pragma once
// An in-process Kafka-protocol broker for black-box tests: librdkafka's mock
// cluster, reachable over loopback by the daemon (a child process), plus a
// real librdkafka consumer to read back what was produced.
//
//   cdc::testing::MockKafka kafka;                  // 1 broker, id 1
//   kafka.create_topic("saas.public.customer", 3);
//   ... daemon config: brokers = kafka.bootstraps() ...
//   kafka.push_produce_errors(10, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
//   kafka.broker_down(1); ... kafka.broker_up(1);
//   auto messages = kafka.consume_all({"saas.public.customer"}, 100, 60s);
//
// The cluster's threads live in the test process: it serves requests while the
// test blocks elsewhere (waits, SQL). Every wait is bounded.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cdc::testing {

/// One consumed Kafka message.
struct KafkaMessage {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::optional<std::string> key;    ///< nullopt: no key
  std::optional<std::string> value;  ///< nullopt: null value (a tombstone)
};

/// What consume_all() saw besides the messages.
struct ConsumeStats {
  bool complete = false;  ///< every partition reached EOF with >= expected_min_count messages
  std::size_t partitions = 0;
  std::vector<std::string> errors;  ///< consumer errors other than partition EOF
};

class MockKafka {
 public:
  /// Starts a mock cluster of `brokers` brokers (ids 1..brokers) on loopback.
  /// Throws std::runtime_error on failure.
  explicit MockKafka(int brokers = 1);
  /// Destroys the cluster (connected clients see the brokers go away).
  ~MockKafka();
  MockKafka(const MockKafka&) = delete;
  MockKafka& operator=(const MockKafka&) = delete;

  /// "127.0.0.1:port[,...]" for bootstrap.servers.
  const std::string& bootstraps() const { return bootstraps_; }
  int broker_count() const { return brokers_; }
  rd_kafka_mock_cluster_t* cluster() const { return cluster_; }

  /// Creates a topic with `partitions` partitions (replication factor capped
  /// at the broker count). Throws std::runtime_error on failure.
  void create_topic(const std::string& name, int partitions, int replication_factor = 1);

  /// The next `count` Produce requests (to any broker) fail with `err`
  /// (rd_kafka_mock_push_request_errors, ApiKey Produce = 0).
  void push_produce_errors(std::size_t count, rd_kafka_resp_err_t err);
  /// The next Produce requests fail with `errors`, in order.
  void push_produce_errors(const std::vector<rd_kafka_resp_err_t>& errors);
  /// The next Produce requests to broker `broker_id` fail with `err` after
  /// `rtt_ms` (rd_kafka_mock_broker_push_request_error_rtts); unlike the
  /// cluster-wide stack, this one can be counted with broker_produce_errors_pending().
  void push_broker_produce_errors(std::int32_t broker_id, std::size_t count, rd_kafka_resp_err_t err,
                                  int rtt_ms = 0);
  /// Errors still stacked for Produce requests to `broker_id`.
  std::size_t broker_produce_errors_pending(std::int32_t broker_id) const;
  /// Drops whatever is left of the cluster-wide Produce error stack.
  void clear_produce_errors();

  /// Takes broker `id` down (closes its connections, refuses new ones) / up.
  void broker_down(std::int32_t id);
  void broker_up(std::int32_t id);

  /// Reads every message of `topics` from the beginning with a fresh consumer
  /// (random group id, auto.offset.reset=earliest, enable.partition.eof; the
  /// partitions are assigned directly, so no group rebalance is involved).
  /// Stops once every partition of every topic is at its end and at least
  /// `expected_min_count` messages were read, or when `timeout` passes (then
  /// returns what it has; `stats->complete` tells which). Messages are in
  /// arrival order: per partition, in offset order.
  std::vector<KafkaMessage> consume_all(const std::vector<std::string>& topics, std::size_t expected_min_count,
                                        std::chrono::milliseconds timeout, ConsumeStats* stats = nullptr) const;

 private:
  int brokers_ = 0;
  rd_kafka_t* handle_ = nullptr;  ///< dummy producer that owns the cluster
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstraps_;
};

}  // namespace cdc::testing
