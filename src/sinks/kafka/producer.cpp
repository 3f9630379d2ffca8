#include "cdc/sinks/kafka/producer.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cdc/sinks/kafka/kafka_error.hpp"

namespace cdc::sinks {

Producer::Producer(const KafkaProducerOptions& options, ProducerListener& listener) : listener_(listener) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  for (const auto& [key, value] : kafka_producer_config(options)) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw KafkaError(fmt::format("kafka property '{}': {}", key, error));
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, &Producer::on_delivery);
  rd_kafka_conf_set_error_cb(conf, &Producer::on_error);
  rd_kafka_conf_set_opaque(conf, this);
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (rk_ == nullptr) throw KafkaError(fmt::format("cannot create the Kafka producer: {}", error));
}

Producer::~Producer() {
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_flush(rk_, 1000);
  for (rd_kafka_topic_t* topic : announced_) rd_kafka_topic_destroy(topic);
  rd_kafka_destroy(rk_);
}

void Producer::announce_topics(const std::vector<std::string>& topics) {
  // A new topic handle queries its leader at once.
  for (const auto& topic : topics) {
    if (rd_kafka_topic_t* handle = rd_kafka_topic_new(rk_, topic.c_str(), nullptr)) announced_.push_back(handle);
  }
}

void Producer::on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* producer = static_cast<Producer*>(opaque);
  const bool ok = message->err == RD_KAFKA_RESP_ERR_NO_ERROR;
  if (!ok) {
    producer->listener_.failed(fmt::format("Kafka delivery to {} failed: {}", rd_kafka_topic_name(message->rkt),
                                           rd_kafka_err2str(message->err)));
  }
  producer->listener_.delivered(reinterpret_cast<std::uintptr_t>(message->_private), ok);
}

void Producer::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* producer = static_cast<Producer*>(opaque);
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    char fatal[512];
    rd_kafka_fatal_error(rk, fatal, sizeof fatal);
    producer->listener_.failed(fmt::format("Kafka producer fatal error: {}", fatal));
    return;
  }
  // Transport errors (broker down, all brokers down) are retried by librdkafka.
  spdlog::warn("kafka: {} ({})", reason, rd_kafka_err2name(code));
}

bool Producer::try_produce(const std::string& topic, std::string_view key, std::optional<std::string_view> value,
                           std::uint64_t tag) {
  const void* key_data = key.empty() ? nullptr : key.data();
  void* value_data = value ? const_cast<char*>(value->data()) : nullptr;
  const std::size_t value_size = value ? value->size() : 0;
  void* opaque = reinterpret_cast<void*>(static_cast<std::uintptr_t>(tag));
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_KEY(key_data, key.size()), RD_KAFKA_V_VALUE(value_data, value_size), RD_KAFKA_V_OPAQUE(opaque),
      RD_KAFKA_V_END);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
  if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) return false;
  throw KafkaError(fmt::format("cannot produce to {}: {}", topic, rd_kafka_err2str(err)));
}

void Producer::poll(int timeout_ms) { rd_kafka_poll(rk_, timeout_ms); }

std::size_t Producer::queue_length() const { return static_cast<std::size_t>(rd_kafka_outq_len(rk_)); }

}  // namespace cdc::sinks
