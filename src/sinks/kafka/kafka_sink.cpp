#include "cdc/sinks/kafka/kafka_sink.hpp"

#include <chrono>

namespace cdc::sinks {
namespace {

constexpr int kQueueFullPollMs = 100;
/// wants_flush(): at most this long, or this many committed transactions,
/// between two polls for delivery reports while transactions are in flight.
constexpr auto kPollGap = std::chrono::milliseconds(5);
constexpr std::size_t kPollEveryTxns = 256;

}  // namespace

KafkaSink::KafkaSink(KafkaSinkOptions options)
    : resume_(options.resume_lsn),
      records_(options, *this),
      deliveries_(options.resume_lsn),
      producer_(options, *this) {
  producer_.announce_topics(records_.topics());
}

void KafkaSink::delivered(std::uint64_t txn_seq, bool ok) { deliveries_.report(txn_seq, ok); }

void KafkaSink::failed(std::string reason) {
  if (failure_.empty()) failure_ = std::move(reason);
}

void KafkaSink::throw_if_failed() {
  if (!failure_.empty()) throw KafkaError(failure_);
}

void KafkaSink::begin(const TxnInfo& txn) {
  throw_if_failed();
  deliveries_.begin(txn.end_lsn);
  records_.begin(txn);
}

void KafkaSink::produce(const std::string& topic, std::string_view key, std::optional<std::string_view> value) {
  const DeliveryTracker::Seq seq = deliveries_.open();
  while (!producer_.try_produce(topic, key, value, seq)) {
    // Backpressure: the producer queue is full (broker slow or down). Serve
    // delivery reports until there is room; the stream reader keeps the
    // server connection alive meanwhile.
    producer_.poll(kQueueFullPollMs);
    throw_if_failed();
  }
  deliveries_.message_produced(seq);
}

void KafkaSink::change(const TxnInfo& txn, const decode::Change& change) { records_.change(txn, change); }

void KafkaSink::dead_letter(const TxnInfo& txn, const DeadLetter& letter) { records_.dead_letter(txn, letter); }

void KafkaSink::commit(const TxnInfo& txn) {
  records_.commit(txn);
  deliveries_.commit(txn.end_lsn);
}

bool KafkaSink::wants_flush() const {
  if (deliveries_.in_flight() == 0) return false;
  return deliveries_.in_flight() >= kPollEveryTxns || std::chrono::steady_clock::now() - last_poll_ >= kPollGap;
}

void KafkaSink::flush() {
  last_poll_ = std::chrono::steady_clock::now();
  producer_.poll(0);
  throw_if_failed();
}

void KafkaSink::abort() { deliveries_.abort(); }

void KafkaSink::drain(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (deliveries_.in_flight() > 0 && std::chrono::steady_clock::now() < until && failure_.empty()) {
    producer_.poll(50);
  }
}

}  // namespace cdc::sinks
