#include "cdc/sinks/kafka/kafka_sink.hpp"

#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace cdc::sinks {
namespace {

constexpr int kQueueFullPollMs = 100;
/// wants_flush(): at most this long, or this many committed transactions,
/// between two polls for delivery reports while transactions are in flight.
constexpr auto kPollGap = std::chrono::milliseconds(5);
constexpr std::size_t kPollEveryTxns = 256;

}  // namespace

KafkaSink::KafkaSink(KafkaSinkOptions options) : records_(options, *this) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  for (const auto& [key, value] : kafka_producer_config(options)) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw KafkaError(fmt::format("kafka property '{}': {}", key, error));
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, &KafkaSink::on_delivery);
  rd_kafka_conf_set_error_cb(conf, &KafkaSink::on_error);
  rd_kafka_conf_set_opaque(conf, this);
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (rk_ == nullptr) throw KafkaError(fmt::format("cannot create the Kafka producer: {}", error));
}

KafkaSink::~KafkaSink() {
  if (rk_ != nullptr) {
    // Anything still queued was not acknowledged; it is produced again after the restart.
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(rk_, 1000);
    rd_kafka_destroy(rk_);
  }
}

void KafkaSink::on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* sink = static_cast<KafkaSink*>(opaque);
  sink->delivered(reinterpret_cast<std::uintptr_t>(message->_private), message->err, message);
}

void KafkaSink::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* sink = static_cast<KafkaSink*>(opaque);
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    char fatal[512];
    rd_kafka_fatal_error(rk, fatal, sizeof fatal);
    if (sink->failure_.empty()) sink->failure_ = fmt::format("Kafka producer fatal error: {}", fatal);
    return;
  }
  // Transport errors (broker down, all brokers down) are retried by librdkafka.
  spdlog::warn("kafka: {} ({})", reason, rd_kafka_err2name(code));
}

void KafkaSink::delivered(DeliveryTracker::Seq txn_seq, rd_kafka_resp_err_t err, const rd_kafka_message_t* message) {
  const bool ok = err == RD_KAFKA_RESP_ERR_NO_ERROR;
  if (!ok && failure_.empty()) {
    failure_ = fmt::format("Kafka delivery to {} failed: {}", rd_kafka_topic_name(message->rkt),
                           rd_kafka_err2str(err));
  }
  deliveries_.report(txn_seq, ok);
}

void KafkaSink::throw_if_failed() {
  if (!failure_.empty()) throw KafkaError(failure_);
}

void KafkaSink::begin(const TxnInfo& txn) {
  throw_if_failed();
  deliveries_.begin(txn.end_lsn);
  records_.begin();
}

void KafkaSink::produce(const std::string& topic, std::string_view key, std::optional<std::string_view> value) {
  const DeliveryTracker::Seq seq = deliveries_.open();
  const void* key_data = key.empty() ? nullptr : key.data();
  void* value_data = value ? const_cast<char*>(value->data()) : nullptr;
  const std::size_t value_size = value ? value->size() : 0;
  void* opaque = reinterpret_cast<void*>(static_cast<std::uintptr_t>(seq));
  for (;;) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key_data, key.size()), RD_KAFKA_V_VALUE(value_data, value_size),
        RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      throw KafkaError(fmt::format("cannot produce to {}: {}", topic, rd_kafka_err2str(err)));
    }
    // Backpressure: the producer queue is full (broker slow or down). Serve
    // delivery reports until there is room; the stream reader keeps the
    // server connection alive meanwhile.
    rd_kafka_poll(rk_, kQueueFullPollMs);
    throw_if_failed();
  }
  deliveries_.message_produced(seq);
}

void KafkaSink::change(const TxnInfo& txn, const decode::Change& change) { records_.change(txn, change); }

void KafkaSink::dead_letter(const TxnInfo& txn, const DeadLetter& letter) { records_.dead_letter(txn, letter); }

void KafkaSink::commit(const TxnInfo&) { deliveries_.commit(); }

bool KafkaSink::wants_flush() const {
  if (deliveries_.in_flight() == 0) return false;
  return deliveries_.in_flight() >= kPollEveryTxns || std::chrono::steady_clock::now() - last_poll_ >= kPollGap;
}

void KafkaSink::flush() {
  last_poll_ = std::chrono::steady_clock::now();
  rd_kafka_poll(rk_, 0);
  throw_if_failed();
}

void KafkaSink::abort() { deliveries_.abort(); }

void KafkaSink::drain(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (deliveries_.in_flight() > 0 && std::chrono::steady_clock::now() < until && failure_.empty()) {
    rd_kafka_poll(rk_, 50);
  }
}

std::size_t KafkaSink::queue_depth() const { return static_cast<std::size_t>(rd_kafka_outq_len(rk_)); }

}  // namespace cdc::sinks
