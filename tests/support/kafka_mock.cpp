#include "support/kafka_mock.hpp"

#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

namespace cdc::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::int16_t kProduceApiKey = 0;  // RD_KAFKAP_Produce

void set_or_throw(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
  char error[512];
  if (rd_kafka_conf_set(conf, key, value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("librdkafka property ") + key + ": " + error);
  }
}

std::string random_group_id() {
  std::random_device rd;
  std::mt19937_64 rng(rd());
  return "cdc-test-" + std::to_string(rng());
}

void check(rd_kafka_resp_err_t err, const std::string& what) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error("mock Kafka: " + what + ": " + rd_kafka_err2str(err));
  }
}

struct ConsumerDeleter {
  void operator()(rd_kafka_t* rk) const {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
};

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const { rd_kafka_topic_partition_list_destroy(list); }
};

/// Partition count of `topic` as the cluster reports it; 0 when unknown yet.
int partition_count(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_topic_t* handle = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (handle == nullptr) return 0;
  const rd_kafka_metadata_t* metadata = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, handle, &metadata, 5000);
  int count = 0;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR && metadata != nullptr) {
    for (int t = 0; t < metadata->topic_cnt; ++t) {
      const rd_kafka_metadata_topic_t& md = metadata->topics[t];
      if (topic == md.topic && md.err == RD_KAFKA_RESP_ERR_NO_ERROR) count = md.partition_cnt;
    }
  }
  if (metadata != nullptr) rd_kafka_metadata_destroy(metadata);
  rd_kafka_topic_destroy(handle);
  return count;
}

}  // namespace

MockKafka::MockKafka(int brokers) : brokers_(brokers) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set_or_throw(conf, "log_level", "3");
  // The dummy handle never produces; it only owns the cluster's threads.
  handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (handle_ == nullptr) throw std::runtime_error(std::string("cannot create a librdkafka handle: ") + error);
  cluster_ = rd_kafka_mock_cluster_new(handle_, brokers);
  if (cluster_ == nullptr) {
    rd_kafka_destroy(handle_);
    throw std::runtime_error("cannot create the librdkafka mock cluster");
  }
  bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster_);
}

MockKafka::~MockKafka() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (handle_ != nullptr) rd_kafka_destroy(handle_);
}

void MockKafka::create_topic(const std::string& name, int partitions, int replication_factor) {
  check(rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, std::min(replication_factor, brokers_)),
        "create topic " + name);
}

void MockKafka::push_produce_errors(std::size_t count, rd_kafka_resp_err_t err) {
  push_produce_errors(std::vector<rd_kafka_resp_err_t>(count, err));
}

void MockKafka::push_produce_errors(const std::vector<rd_kafka_resp_err_t>& errors) {
  if (errors.empty()) return;
  rd_kafka_mock_push_request_errors_array(cluster_, kProduceApiKey, errors.size(), errors.data());
}

void MockKafka::push_broker_produce_errors(std::int32_t broker_id, std::size_t count, rd_kafka_resp_err_t err,
                                           int rtt_ms) {
  for (std::size_t i = 0; i < count; ++i) {
    check(rd_kafka_mock_broker_push_request_error_rtts(cluster_, broker_id, kProduceApiKey, 1,
                                                       static_cast<int>(err), rtt_ms),
          "push produce errors to broker " + std::to_string(broker_id));
  }
}

std::size_t MockKafka::broker_produce_errors_pending(std::int32_t broker_id) const {
  std::size_t count = 0;
  check(rd_kafka_mock_broker_error_stack_cnt(cluster_, broker_id, kProduceApiKey, &count),
        "error stack of broker " + std::to_string(broker_id));
  return count;
}

void MockKafka::clear_produce_errors() { rd_kafka_mock_clear_request_errors(cluster_, kProduceApiKey); }

void MockKafka::broker_down(std::int32_t id) {
  check(rd_kafka_mock_broker_set_down(cluster_, id), "broker " + std::to_string(id) + " down");
}

void MockKafka::broker_up(std::int32_t id) {
  check(rd_kafka_mock_broker_set_up(cluster_, id), "broker " + std::to_string(id) + " up");
}

std::vector<KafkaMessage> MockKafka::consume_all(const std::vector<std::string>& topics,
                                                 std::size_t expected_min_count, std::chrono::milliseconds timeout,
                                                 ConsumeStats* stats) const {
  ConsumeStats local;
  ConsumeStats& st = stats != nullptr ? *stats : local;
  st = ConsumeStats{};
  const auto deadline = Clock::now() + timeout;

  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set_or_throw(conf, "bootstrap.servers", bootstraps_);
  set_or_throw(conf, "group.id", random_group_id());
  set_or_throw(conf, "auto.offset.reset", "earliest");
  set_or_throw(conf, "enable.partition.eof", "true");
  set_or_throw(conf, "enable.auto.commit", "false");
  set_or_throw(conf, "enable.auto.offset.store", "false");
  set_or_throw(conf, "log_level", "3");
  std::unique_ptr<rd_kafka_t, ConsumerDeleter> consumer(
      rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error));
  if (!consumer) throw std::runtime_error(std::string("cannot create a Kafka consumer: ") + error);
  rd_kafka_poll_set_consumer(consumer.get());

  // Every partition of every topic, from the beginning.
  std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter> assignment(
      rd_kafka_topic_partition_list_new(16));
  std::map<std::pair<std::string, std::int32_t>, bool> at_eof;
  for (const std::string& topic : topics) {
    int partitions = 0;
    while ((partitions = partition_count(consumer.get(), topic)) == 0 && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (partitions == 0) {
      st.errors.push_back("topic " + topic + " unknown to the cluster");
      continue;
    }
    for (std::int32_t p = 0; p < partitions; ++p) {
      rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
      at_eof[{topic, p}] = false;
    }
  }
  st.partitions = at_eof.size();
  const rd_kafka_resp_err_t assign_err = rd_kafka_assign(consumer.get(), assignment.get());
  if (assign_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error(std::string("cannot assign partitions: ") + rd_kafka_err2str(assign_err));
  }

  std::vector<KafkaMessage> out;
  std::size_t eof_count = 0;
  auto done = [&] { return eof_count == at_eof.size() && out.size() >= expected_min_count; };
  while (!done() && Clock::now() < deadline) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer.get(), 100);
    if (message == nullptr) continue;
    const std::string topic = message->rkt != nullptr ? rd_kafka_topic_name(message->rkt) : std::string();
    const auto slot = at_eof.find({topic, message->partition});
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (slot != at_eof.end() && !slot->second) {
        slot->second = true;
        ++eof_count;
      }
    } else if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (st.errors.size() < 20) {
        st.errors.push_back(std::string(rd_kafka_err2name(message->err)) + ": " + rd_kafka_message_errstr(message));
      }
    } else {
      if (slot != at_eof.end() && slot->second) {
        slot->second = false;
        --eof_count;
      }
      KafkaMessage m;
      m.topic = topic;
      m.partition = message->partition;
      m.offset = message->offset;
      if (message->key != nullptr) m.key.emplace(static_cast<const char*>(message->key), message->key_len);
      if (message->payload != nullptr) {
        m.value.emplace(static_cast<const char*>(message->payload), message->len);
      }
      out.push_back(std::move(m));
    }
    rd_kafka_message_destroy(message);
  }
  st.complete = done();
  if (!st.complete) {
    std::cerr << "[MockKafka] consume_all timed out: " << out.size() << " messages (expected at least "
              << expected_min_count << "), " << eof_count << "/" << at_eof.size() << " partitions at EOF"
              << std::endl;
  }
  return out;
}

}  // namespace cdc::testing
