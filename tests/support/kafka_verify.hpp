#pragma once
// Kafka verification against references the daemon has no part in: the row
// topics against a wal2json oracle slot (support/wal_oracle), the audit topic
// against public.audit_logs (to be proven equal to the seed trigger's shadow
// first, support/audit_shadow).
//
//   CdcTopics topics(6);
//   topics.create(kafka);                        // before the daemon starts
//   create_oracle_slot(pg, "test_oracle");       // before the daemon's slot
//   KafkaCollector collector(kafka, topics);     // reads for the whole run
//   ... workload, daemon caught up (wait_slot_caught_up) ...
//   oracle.peek(pg.conn());                      // or drain() during long runs
//   ASSERT_TRUE(collector.wait_caught_up(60s));
//   collector.stop();
//   const KafkaVerification v = verify_kafka(pg, oracle, collector);
//   EXPECT_EQ(v.counts.missing, 0u) << v.details.str();
//   EXPECT_EQ(v.counts.out_of_order, 0u) << v.details.str() << collector.bad_messages().str();
//   EXPECT_EQ(collector.offset_gaps(), 0u) << collector.bad_messages().str();
//
// Per key, the topic must hold every change at least once, its first
// deliveries in commit order; the only repeats allowed are of changes already
// delivered for that key (at-least-once across restarts). The exact rules are
// at verify_kafka().

#include <librdkafka/rdkafka.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cdc/core/lsn.hpp"
#include "support/kafka_mock.hpp"
#include "support/pg_cluster.hpp"
#include "support/wal_oracle.hpp"

namespace cdc::testing {

/// Collected problem descriptions, bounded (the first 20 are kept).
struct Details {
  std::vector<std::string> lines;
  void add(const std::string& text);
  /// One indented line per description.
  std::string str() const;
};

/// The daemon's three topics for a topic_prefix, and their partition count.
struct CdcTopics {
  explicit CdcTopics(int partitions_, const std::string& prefix = "saas");
  std::string customer;
  std::string plans;
  std::string audit;
  int partitions;

  std::array<std::string, 3> all() const { return {customer, plans, audit}; }
  /// Creates the three topics on the mock broker.
  void create(MockKafka& kafka) const;
};

/// One message of a key as the verification needs it.
struct SeenMessage {
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  Lsn lsn = 0;
  char op = '?';  ///< c u d r; 't' tombstone; 'a' audit entry
};

/// A consumer thread reading every partition of the topics from the
/// beginning for its whole lifetime, keeping per key only what the
/// verification needs (the mock broker trims old messages, so reading at the
/// end is not enough for long runs). Snapshot reads (op "r") are only counted.
class KafkaCollector {
 public:
  /// The topics must exist. Throws std::runtime_error if the consumer cannot start.
  KafkaCollector(const MockKafka& kafka, CdcTopics topics);
  ~KafkaCollector();
  KafkaCollector(const KafkaCollector&) = delete;
  KafkaCollector& operator=(const KafkaCollector&) = delete;

  /// Waits until every partition is read up to its high watermark (as the
  /// broker reports it now).
  bool wait_caught_up(std::chrono::milliseconds timeout);

  /// Stops the consumer thread (the data stays).
  void stop();

  /// Self-test of the verification (after stop()): loses every copy of one
  /// change of the busiest customer key, and swaps the first deliveries of
  /// two changes of another key.
  void tamper_for_self_test();

  // After stop(): per key (uuid or id as text; customer uuid for the audit topic).
  const std::unordered_map<std::string, std::vector<SeenMessage>>& customers() const { return customers_; }
  const std::unordered_map<std::string, std::vector<SeenMessage>>& plans() const { return plans_; }
  const std::unordered_map<std::string, std::vector<SeenMessage>>& audits() const { return audits_; }
  std::uint64_t messages() const { return messages_; }
  std::uint64_t snapshot_reads() const { return snapshot_reads_; }
  /// Offsets the consumer skipped (the mock broker's retention trimmed them before they were read).
  std::uint64_t offset_gaps() const { return offset_gaps_; }
  /// Unreadable messages and offset gaps, described.
  const Details& bad_messages() const { return bad_; }
  std::uint64_t bad_message_count() const { return bad_count_; }

 private:
  void run();
  void bad(const std::string& why, const std::string& topic, const rd_kafka_message_t& m);
  void take(const std::string& topic, const rd_kafka_message_t& m);

  const CdcTopics topics_;
  rd_kafka_t* consumer_ = nullptr;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  /// Per (topic, partition), the offset the next message must have.
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> next_offset_;
  std::unordered_map<std::string, std::vector<SeenMessage>> customers_, plans_, audits_;
  std::uint64_t messages_ = 0;
  std::uint64_t snapshot_reads_ = 0;
  std::uint64_t offset_gaps_ = 0;
  std::uint64_t bad_count_ = 0;
  Details bad_;
  std::thread thread_;  // last: starts after the other members exist
};

struct KafkaCounts {
  std::uint64_t missing = 0;
  std::uint64_t out_of_order = 0;
  std::uint64_t redelivered = 0;  ///< allowed repeats (information)
  std::uint64_t keys = 0;         ///< keys verified (to show the check is not vacuous)
};

struct KafkaVerification {
  KafkaCounts counts;
  Details details;               ///< what is missing or out of order, with the whole story of each such key
  std::uint64_t audit_rows = 0;  ///< rows of public.audit_logs with a source_lsn
};

/// Every key of the row topics against the oracle's changes, every key of the
/// audit topic against public.audit_logs (ORDER BY source_lsn). Per key, with
/// the messages in offset order, allowed, and only this (at-least-once with
/// restarts):
///   * a message whose LSN was already delivered earlier for this key (a
///     re-delivery after a restart; replays repeat a suffix of what was sent,
///     possibly several times, possibly interleaved with new changes);
/// Then the first deliveries, in offset order, must be exactly the expected changes:
///   * an expected change never delivered is missing;
///   * a first delivery that comes after a later change of the key was already
///     delivered, a message with an LSN that is not one of the key's changes or
///     with the wrong op, messages of one key on several partitions are out of
///     order: a consumer that drops repeats by remembering the highest
///     source.lsn per key (README, Delivery) would lose them.
/// Customer topic: every delete is, at least once, directly followed by its
/// tombstone (else missing), and a tombstone directly follows a delete (else
/// out of order). The collector's unreadable messages and offset gaps count as
/// out of order (they cannot be placed). Call after collector.stop().
KafkaVerification verify_kafka(PgCluster& pg, const WalOracle& oracle, const KafkaCollector& collector);

}  // namespace cdc::testing
