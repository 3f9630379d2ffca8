#pragma once
// The saas.* topics read back whole and compared with the database:
//
//   const KafkaContent k = read_kafka(kafka, expected_min_messages);
//   EXPECT_TRUE(kafka_state_equals_tables(pg, k));   // folded per key == the tables
//   EXPECT_TRUE(kafka_matches_audit(pg, k, &repeats));
//
// Folding: per key in arrival order, r / c / u set the row to `after`, d and
// tombstones remove it. Streamed customer events are checked against
// public.audit_logs.source_lsn (the envelope's source.lsn is the same WAL position).

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "support/kafka_mock.hpp"
#include "support/pg_cluster.hpp"

namespace cdc::testing {

inline constexpr const char* kSaasCustomerTopic = "saas.public.customer";
inline constexpr const char* kSaasPlansTopic = "saas.public.plans";
inline constexpr const char* kSaasAuditTopic = "saas.audit";

using Fields = std::map<std::string, std::string>;

/// One consumed message, parsed.
struct Event {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string key;  ///< customer uuid / plan id / (audit) customer uuid
  bool tombstone = false;
  char op = 0;
  std::uint64_t lsn = 0;      ///< source.lsn (row topics)
  std::pair<std::uint64_t, std::uint64_t> sequence{0, 0};  ///< source.sequence: commit LSN, change LSN
  std::string snapshot;       ///< source.snapshot (row topics): "false", "true", "first", "incremental", ...
  std::string audit_lsn;      ///< source_lsn (audit topic)
  Fields after;               ///< row topics: the compared columns of `after`, as text ("NULL" for null)
};

/// The compared columns of each row topic.
const std::vector<std::string>& customer_fields();
const std::vector<std::string>& plan_fields();

/// Parses a consumed message; throws std::runtime_error on anything malformed.
Event parse_event(const KafkaMessage& m);

struct KafkaContent {
  std::vector<Event> customer, plans, audit;
  ConsumeStats stats;
};

/// Every message of the three topics, parsed, in offset order per partition.
KafkaContent read_kafka(MockKafka& kafka, std::size_t expected_min,
                        std::chrono::milliseconds timeout = std::chrono::seconds(90));

/// The topic folded per key in arrival order; also notes a key seen in two partitions.
std::map<std::string, Fields> fold(const std::vector<Event>& events, std::vector<std::string>* problems);

/// Rows of `sql` by their first column, the rest as `fields` ("NULL" for null).
std::map<std::string, Fields> table_state(PgCluster& pg, const std::string& sql, const std::vector<std::string>& fields);

/// Folded topic state == final table state, for both row topics.
::testing::AssertionResult kafka_state_equals_tables(PgCluster& pg, const KafkaContent& kafka);

/// Streamed customer events (c/u/d) against the audit: every audit entry has
/// its event at the same key and LSN (no gaps), and nothing else was streamed
/// (for workloads whose every update has an audit entry). Per key, a message
/// with a new LSN never follows a higher one (repeats after a restart
/// allowed). The audit topic holds each audit entry (at least once).
::testing::AssertionResult kafka_matches_audit(PgCluster& pg, const KafkaContent& kafka, std::size_t* repeats);

/// Messages of `op` (tombstones excluded).
std::size_t count_op(const std::vector<Event>& events, char op);

}  // namespace cdc::testing
