#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "cdc/sinks/kafka/delivery_tracker.hpp"
#include "cdc/sinks/kafka/kafka_error.hpp"
#include "cdc/sinks/kafka/producer.hpp"
#include "cdc/sinks/kafka/producer_config.hpp"
#include "cdc/sinks/kafka/records.hpp"
#include "cdc/sinks/sink.hpp"

namespace cdc::sinks {

/// The producer's connection and the records' routing, set from the config.
struct KafkaSinkOptions : KafkaProducerOptions, KafkaRecordOptions {
  /// Transactions ending at or below this position were delivered by an
  /// earlier run (the position recorded with the Postgres checkpoint,
  /// customer_cdc.checkpoint.kafka_lsn); 0: none known.
  Lsn resume_lsn = 0;
};

/// Publishes the records of KafkaRecords through the idempotent Producer; a
/// transaction counts as durable once the DeliveryTracker has a successful
/// delivery report of each of its messages (and of every earlier
/// transaction's).
class KafkaSink : public Sink, private RecordOutput, private ProducerListener {
 public:
  explicit KafkaSink(KafkaSinkOptions options);
  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  std::string name() const override { return "kafka"; }
  /// What an earlier run recorded as delivered (options.resume_lsn): after a
  /// slot stepped back (PostgreSQL crash recovery) only what came after it
  /// is published again. Without a record, every transaction the slot sends
  /// (repeats after a restart carry source.lsn).
  Lsn resume_position() const override { return resume_; }
  void begin(const TxnInfo& txn) override;
  /// Row changes, truncates and snapshot reads (op "r", source.snapshot "true", no audit entry).
  void change(const TxnInfo& txn, const decode::Change& change) override;
  void commit(const TxnInfo& txn) override;
  /// On <prefix>.dead_letter, keyed by {"lsn": WAL position}.
  void dead_letter(const TxnInfo& txn, const DeadLetter& letter) override;
  /// Delivery reports are served every few milliseconds (or after many
  /// transactions), not after every commit: with one-row transactions a poll
  /// per commit was a large share of the daemon's CPU.
  bool wants_flush() const override;
  void flush() override;
  void abort() override;
  void drain(std::chrono::milliseconds timeout) override;
  Lsn durable_lsn() const override { return deliveries_.durable_lsn(); }

  /// Messages waiting for a delivery report.
  std::size_t queue_depth() const override { return producer_.queue_length(); }

 private:
  /// Queues one record of the open transaction; waits while the producer queue is full.
  void produce(const std::string& topic, std::string_view key, std::optional<std::string_view> value) override;
  void delivered(std::uint64_t txn_seq, bool ok) override;
  void failed(std::string reason) override;
  void throw_if_failed();

  const Lsn resume_;
  KafkaRecords records_;
  DeliveryTracker deliveries_;
  std::chrono::steady_clock::time_point last_poll_{};  ///< of flush()
  std::string failure_;  ///< first delivery failure, empty when none
  /// Last: destroyed first, while its final delivery reports can still reach the members above.
  Producer producer_;
};

}  // namespace cdc::sinks
