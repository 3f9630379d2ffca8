#pragma once
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cdc/core/errors.hpp"
#include "cdc/sinks/audit/audit_mapping.hpp"
#include "cdc/sinks/envelope.hpp"
#include "cdc/sinks/sink.hpp"

namespace cdc::sinks {

/// A Kafka delivery failed for good, or the producer hit a fatal error. The
/// session restarts (from the acknowledged position) with a new producer.
class KafkaError : public CategorizedError<ErrorCategory::Retryable> {
 public:
  using CategorizedError::CategorizedError;
};

struct KafkaSinkOptions {
  std::string brokers;
  std::string topic_prefix = "saas";
  bool tombstones_on_delete = true;
  bool audit_topic = true;                          ///< publish audit entries on <prefix>.audit
  std::map<std::string, std::string> properties;    ///< librdkafka properties, applied last
  EnvelopeContext context;
  /// "schema.table" -> primary key columns, for message keys.
  std::map<std::string, std::vector<std::string>> primary_keys;
};

/// The librdkafka configuration the sink uses: safe defaults (idempotent
/// producer, acks=all, no delivery timeout, Java-compatible partitioner),
/// then the user's properties. Exposed for tests and `check`.
std::map<std::string, std::string> kafka_producer_config(const KafkaSinkOptions& options);

/// Publishes every row change as a Debezium envelope on
/// <prefix>.<schema>.<table> (keyed by primary key, a tombstone after a
/// delete) and every audit entry on <prefix>.audit (keyed by customer uuid).
/// A transaction counts as durable once every one of its messages has a
/// successful delivery report and every earlier transaction is durable too
/// (a ring of in-flight transactions, oldest first).
class KafkaSink : public Sink {
 public:
  explicit KafkaSink(KafkaSinkOptions options);
  ~KafkaSink() override;
  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  std::string name() const override { return "kafka"; }
  /// Kafka holds nothing it can vouch for across runs: it takes every
  /// transaction the slot sends (repeats after a restart carry source.lsn).
  Lsn resume_position() const override { return 0; }
  void begin(const TxnInfo& txn) override;
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
  Lsn durable_lsn() const override { return durable_; }

  /// Publishes one existing row as a snapshot read (op "r", source.snapshot
  /// "true") inside the open transaction (begin .. commit), without audit entry.
  void snapshot_row(const TxnInfo& txn, const decode::Change& row);

  /// Messages waiting for a delivery report.
  std::size_t queue_depth() const override;

 private:
  struct InFlightTxn {
    Lsn end_lsn = 0;
    std::size_t pending = 0;  ///< messages without a delivery report
    bool committed = false;
  };

  static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);
  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  void delivered(std::uint64_t txn_seq, rd_kafka_resp_err_t err, const rd_kafka_message_t* message);
  /// What the sink needs of a captured table, looked up once.
  struct TableInfo {
    std::string schema;
    std::string table;
    std::string topic;                                     ///< <prefix>.<schema>.<table>
    const std::vector<std::string>* key_columns = nullptr;  ///< into options_.primary_keys
    bool is_customer = false;                              ///< public.customer: audit entries
  };

  /// `value` nullptr: a tombstone.
  void produce(const std::string& topic, std::string_view key, const JsonBuffer* value);
  /// One envelope of `change` as action `as` (and the tombstone after a delete).
  void publish_row(const TxnInfo& txn, const decode::Change& change, decode::Action as, const TableInfo& table);
  void advance();
  void throw_if_failed();
  const TableInfo& table_info(const decode::Change& change);

  KafkaSinkOptions options_;
  rd_kafka_t* rk_ = nullptr;
  std::deque<InFlightTxn> ring_;
  std::uint64_t ring_base_ = 0;   ///< sequence number of ring_.front()
  Lsn durable_ = 0;
  std::chrono::steady_clock::time_point last_poll_{};  ///< of flush()
  std::string failure_;           ///< first delivery failure, empty when none
  std::string audit_topic_;
  std::string dead_letter_topic_;
  std::map<std::string, TableInfo> tables_;   ///< by "schema.table"
  const TableInfo* last_table_ = nullptr;
  SourceLsnSequence source_lsns_;
  JsonBuffer key_buffer_;
  JsonBuffer value_buffer_;
};

}  // namespace cdc::sinks
