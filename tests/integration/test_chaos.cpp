// Chaos / soak test (issue 8): a seeded random workload on public.customer and
// public.plans runs for a bounded time while a fault loop keeps hurting the
// pipeline at random:
//
//   kill -9 of the daemon (restarted), SIGTERM (must exit 0; restarted),
//   pg_terminate_backend of its walsender and of its sink connection, a
//   PostgreSQL fast restart, retriable Produce errors from the mock broker,
//   and the broker going down and coming back (half of the time with a kill -9
//   of the daemon while it is down).
//
// The daemon runs with audit + rollups + Kafka (librdkafka's mock cluster in
// this process). At the end (workload and faults stopped, the slot
// acknowledged up to pg_current_wal_lsn()) three things are proven against
// references the daemon has no part in:
//
//   (a) public.audit_logs equals the shadow of the seed trigger
//       (support/audit_shadow): nothing lost, nothing duplicated, same order;
//   (b) analytics.* equal the test's recomputation (support/rollup_check);
//   (c) Kafka: per key, the topic holds every change at least once, in commit
//       order (see verify_key() for exactly what repeats are allowed). The
//       expected per-key sequences come from a second wal2json slot that the
//       test itself reads (peek + advance, in chunks, during the run), and for
//       the audit topic from public.audit_logs once (a) has proven it.
//
// Environment: CDC_CHAOS_SECONDS (length of the fault loop, default 100),
// CDC_CHAOS_SEED (default: random; always printed), CDC_CHAOS_KAFKA_INFLIGHT
// (the producer's max.in.flight.requests.per.connection, default 1: see
// ChaosRun), CDC_CHAOS_TAMPER=1 (a
// self-test: corrupts each result once after the run, so that every
// difference counter must come out above 0 and the test fail). One summary line
// "chaos: seed=... | differences: ..." is printed; every difference must be 0
// and every fault kind must have been injected at least once.

#include <gtest/gtest.h>

#include <librdkafka/rdkafka.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "cdc/core/lsn.hpp"
#include "support/audit_shadow.hpp"
#include "support/daemon_config.hpp"
#include "support/daemon_process.hpp"
#include "support/kafka_mock.hpp"
#include "support/pg_cluster.hpp"
#include "support/rollup_check.hpp"
#include "support/slot_wait.hpp"
#include "support/wal_oracle.hpp"
#include "support/workload.hpp"

namespace cdc::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kSlot = "customer_cdc";
constexpr const char* kOracleSlot = "test_chaos_oracle";
constexpr const char* kCustomerTopic = "saas.public.customer";
constexpr const char* kPlansTopic = "saas.public.plans";
constexpr const char* kAuditTopic = "saas.audit";
// The mock broker keeps at most 5 MiB per partition: the test consumes while
// the run goes on, and more partitions give more headroom.
constexpr int kPartitions = 6;
constexpr std::size_t kMaxDetails = 20;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

Lsn lsn_of(const std::string& text) {
  const auto lsn = parse_lsn(text);
  if (!lsn) throw std::runtime_error("not an LSN: " + text);
  return *lsn;
}

/// Connection-level failures (server restart, terminated backend, refused
/// connection): the workload reconnects and goes on.
bool is_connection_error(const PgError& e, const PgConn* conn) {
  const std::string& s = e.sqlstate();
  return (conn != nullptr && !conn->ok()) || s.empty() || s.rfind("08", 0) == 0 || s == "57P01" || s == "57P02" ||
         s == "57P03";
}

/// Collected problem descriptions, bounded.
struct Details {
  std::vector<std::string> lines;
  void add(const std::string& text) {
    if (lines.size() < kMaxDetails) lines.push_back(text);
  }
  std::string str() const {
    std::string out;
    for (const auto& l : lines) out += "  " + l + "\n";
    return out;
  }
};

// ---------------------------------------------------------------------------
// The oracle (support/wal_oracle): every change of public.customer /
// public.plans, from a second wal2json slot created before the daemon's, read
// in chunks during the run (peek, then advance past what was read).

// ---------------------------------------------------------------------------
// Kafka collector: a consumer thread reading every partition of the three
// topics from the beginning for the whole run, keeping per key only what the
// verification needs (the mock broker trims old messages, so reading at the
// end is not enough for long runs).

struct SeenMessage {
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  Lsn lsn = 0;
  char op = '?';  // c u d r; 't' tombstone; 'a' audit entry
};

class KafkaCollector {
 public:
  explicit KafkaCollector(const MockKafka& kafka) {
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    auto set = [&](const char* k, const std::string& v) {
      if (rd_kafka_conf_set(conf, k, v.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
        throw std::runtime_error(std::string("consumer config ") + k + ": " + error);
      }
    };
    set("bootstrap.servers", kafka.bootstraps());
    set("group.id", "chaos-collector-" + std::to_string(::getpid()));
    set("auto.offset.reset", "earliest");
    set("enable.auto.commit", "false");
    set("enable.auto.offset.store", "false");
    set("log_level", "2");
    consumer_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
    if (consumer_ == nullptr) throw std::runtime_error(std::string("cannot create the consumer: ") + error);
    rd_kafka_poll_set_consumer(consumer_);
    rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(3 * kPartitions);
    for (const char* topic : {kCustomerTopic, kPlansTopic, kAuditTopic}) {
      for (std::int32_t p = 0; p < kPartitions; ++p) {
        rd_kafka_topic_partition_list_add(assignment, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        next_offset_[{topic, p}] = 0;
      }
    }
    const rd_kafka_resp_err_t err = rd_kafka_assign(consumer_, assignment);
    rd_kafka_topic_partition_list_destroy(assignment);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw std::runtime_error(std::string("assign: ") + rd_kafka_err2str(err));
    thread_ = std::thread([this] { run(); });
  }

  ~KafkaCollector() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    rd_kafka_consumer_close(consumer_);
    rd_kafka_destroy(consumer_);
  }
  KafkaCollector(const KafkaCollector&) = delete;
  KafkaCollector& operator=(const KafkaCollector&) = delete;

  /// Waits until every partition is read up to its high watermark (as the
  /// broker reports it now).
  bool wait_caught_up(std::chrono::milliseconds timeout) {
    std::map<std::pair<std::string, std::int32_t>, std::int64_t> high;
    for (const char* topic : {kCustomerTopic, kPlansTopic, kAuditTopic}) {
      for (std::int32_t p = 0; p < kPartitions; ++p) {
        std::int64_t lo = 0, hi = 0;
        const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(consumer_, topic, p, &lo, &hi, 10000);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
        high[{topic, p}] = hi;
      }
    }
    return wait_until(
        [&] {
          std::lock_guard<std::mutex> lock(mutex_);
          for (const auto& [tp, hi] : high) {
            if (next_offset_[tp] < hi) return false;
          }
          return true;
        },
        timeout, 100ms);
  }

  /// Stops the consumer thread (the data stays).
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  /// Self-test of the verification (CDC_CHAOS_TAMPER=1, after stop()): loses
  /// every copy of one change of the busiest customer key, and swaps the first
  /// deliveries of two changes of another key.
  void tamper_for_self_test() {
    std::vector<std::pair<std::size_t, std::string>> keys;
    for (const auto& [key, v] : customers_) keys.push_back({v.size(), key});
    std::sort(keys.rbegin(), keys.rend());
    if (keys.size() < 2) return;
    auto& lost = customers_[keys[0].second];
    const auto victim = std::find_if(lost.begin(), lost.end(), [](const SeenMessage& m) { return m.op != 't'; });
    if (victim != lost.end()) {
      const Lsn lsn = victim->lsn;
      lost.erase(std::remove_if(lost.begin(), lost.end(), [&](const SeenMessage& m) { return m.op != 't' && m.lsn == lsn; }),
                 lost.end());
    }
    auto& swapped = customers_[keys[1].second];
    std::sort(swapped.begin(), swapped.end(), [](const SeenMessage& a, const SeenMessage& b) { return a.offset < b.offset; });
    for (std::size_t i = 1; i < swapped.size(); ++i) {
      if (swapped[i].op != 't' && swapped[0].op != 't' && swapped[i].lsn != swapped[0].lsn) {
        std::swap(swapped[0].offset, swapped[i].offset);
        break;
      }
    }
  }

  // After stop():
  const std::unordered_map<std::string, std::vector<SeenMessage>>& customers() const { return customers_; }
  const std::unordered_map<std::string, std::vector<SeenMessage>>& plans() const { return plans_; }
  const std::unordered_map<std::string, std::vector<SeenMessage>>& audits() const { return audits_; }
  std::uint64_t messages() const { return messages_; }
  std::uint64_t snapshot_reads() const { return snapshot_reads_; }
  std::uint64_t offset_gaps() const { return offset_gaps_; }
  const Details& bad_messages() const { return bad_; }
  std::uint64_t bad_message_count() const { return bad_count_; }

 private:
  void run() {
    while (!stop_.load()) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_, 100);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->rkt != nullptr) {
        std::lock_guard<std::mutex> lock(mutex_);
        take(rd_kafka_topic_name(m->rkt), *m);
      }
      rd_kafka_message_destroy(m);
    }
  }

  void bad(const std::string& why, const std::string& topic, const rd_kafka_message_t& m) {
    ++bad_count_;
    bad_.add(why + ": " + topic + "[" + std::to_string(m.partition) + "]@" + std::to_string(m.offset));
  }

  void take(const std::string& topic, const rd_kafka_message_t& m) {
    std::int64_t& next = next_offset_[{topic, m.partition}];
    if (m.offset < next) return;  // read twice (after a fetch error): already taken
    if (m.offset > next) {
      ++offset_gaps_;
      bad_.add("consumer skipped offsets " + std::to_string(next) + ".." + std::to_string(m.offset - 1) + " of " +
               topic + "[" + std::to_string(m.partition) + "] (mock broker retention?)");
    }
    next = m.offset + 1;
    ++messages_;
    const std::string key = m.key != nullptr ? std::string(static_cast<const char*>(m.key), m.key_len) : "";
    SeenMessage seen;
    seen.partition = m.partition;
    seen.offset = m.offset;
    if (topic == kAuditTopic) {
      rapidjson::Document v;
      if (m.payload != nullptr) v.Parse(static_cast<const char*>(m.payload), m.len);
      if (m.payload == nullptr || v.HasParseError() || !v.IsObject() || !v.HasMember("source_lsn") ||
          !v["source_lsn"].IsString()) {
        return bad("audit message without source_lsn", topic, m);
      }
      const auto lsn = parse_lsn(v["source_lsn"].GetString());
      if (!lsn) return bad("audit source_lsn not an LSN", topic, m);
      seen.lsn = *lsn;
      seen.op = 'a';
      audits_[key].push_back(seen);
      return;
    }
    const bool customer = topic == kCustomerTopic;
    rapidjson::Document k;
    k.Parse(key.c_str(), key.size());
    const char* key_column = customer ? "uuid" : "id";
    if (k.HasParseError() || !k.IsObject() || !k.HasMember(key_column)) return bad("bad key", topic, m);
    const rapidjson::Value& kv = k[key_column];
    const std::string key_text = kv.IsString() ? kv.GetString() : kv.IsInt64() ? std::to_string(kv.GetInt64()) : "";
    auto& per_key = customer ? customers_ : plans_;
    if (m.payload == nullptr) {
      seen.op = 't';
      per_key[key_text].push_back(seen);
      return;
    }
    rapidjson::Document v;
    v.Parse(static_cast<const char*>(m.payload), m.len);
    if (v.HasParseError() || !v.IsObject() || !v.HasMember("op") || !v["op"].IsString() || !v.HasMember("source") ||
        !v["source"].IsObject() || !v["source"].HasMember("lsn") || !v["source"]["lsn"].IsUint64()) {
      return bad("not an envelope with op and source.lsn", topic, m);
    }
    seen.op = v["op"].GetString()[0];
    seen.lsn = v["source"]["lsn"].GetUint64();
    if (seen.op == 'r') {
      ++snapshot_reads_;
      return;
    }
    per_key[key_text].push_back(seen);
  }

  rd_kafka_t* consumer_ = nullptr;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> next_offset_;
  std::unordered_map<std::string, std::vector<SeenMessage>> customers_, plans_, audits_;
  std::uint64_t messages_ = 0;
  std::uint64_t snapshot_reads_ = 0;
  std::uint64_t offset_gaps_ = 0;
  std::uint64_t bad_count_ = 0;
  Details bad_;
  std::thread thread_;  // last: starts after the other members exist
};

// ---------------------------------------------------------------------------
// Per-key Kafka verification.
//
// `expected` is the key's changes in commit order (strictly increasing LSNs),
// `got` what the topic holds for the key in offset order. Allowed, and only
// this (at-least-once with restarts):
//   * a message whose LSN was already delivered earlier for this key (a
//     re-delivery after a restart; replays repeat a suffix of what was sent,
//     possibly several times, possibly interleaved with new changes);
// Then the first deliveries, in offset order, must be exactly `expected`:
//   * an expected change never delivered is missing (kafka_missing);
//   * a first delivery that comes after a later change of the key was already
//     delivered, a message with an LSN that is not one of the key's changes or
//     with the wrong op, messages of one key on several partitions are out of
//     order (kafka_out_of_order): a consumer that drops repeats by remembering
//     the highest source.lsn per key (README, Delivery) would lose them.
// Customer topic: every delete is, at least once, directly followed by its
// tombstone (else missing), and a tombstone directly follows a delete (else
// out of order).

struct KafkaCounts {
  std::uint64_t missing = 0;
  std::uint64_t out_of_order = 0;
  std::uint64_t redelivered = 0;
  std::uint64_t keys = 0;
};

void verify_key(const std::string& who, const std::vector<ExpectedChange>& expected, std::vector<SeenMessage> got,
                bool tombstones, KafkaCounts& counts, Details& details) {
  ++counts.keys;
  const std::uint64_t problems_before = counts.missing + counts.out_of_order;
  std::sort(got.begin(), got.end(), [](const SeenMessage& a, const SeenMessage& b) {
    return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset);
  });
  if (!got.empty() && got.front().partition != got.back().partition) {
    ++counts.out_of_order;
    details.add(who + ": messages on partitions " + std::to_string(got.front().partition) + " and " +
                std::to_string(got.back().partition));
  }
  std::unordered_map<Lsn, std::size_t> index;
  for (std::size_t i = 0; i < expected.size(); ++i) index.emplace(expected[i].lsn, i);
  std::vector<bool> delivered(expected.size(), false);
  std::vector<bool> tombstoned(expected.size(), false);
  long max_index = -1;
  for (std::size_t j = 0; j < got.size(); ++j) {
    const SeenMessage& m = got[j];
    if (m.op == 't') {
      if (j == 0 || got[j - 1].op != 'd') {
        ++counts.out_of_order;
        details.add(who + ": tombstone at offset " + std::to_string(m.offset) + " does not follow a delete");
      } else if (const auto it = index.find(got[j - 1].lsn); it != index.end()) {
        tombstoned[it->second] = true;
      }
      continue;
    }
    const auto it = index.find(m.lsn);
    if (it == index.end()) {
      ++counts.out_of_order;
      details.add(who + ": message at offset " + std::to_string(m.offset) + " with lsn " + format_lsn(m.lsn) +
                  " (op " + m.op + ") is no change of this key");
      continue;
    }
    const std::size_t i = it->second;
    if (m.op != 'a' && m.op != expected[i].op) {
      ++counts.out_of_order;
      details.add(who + ": op " + m.op + " at offset " + std::to_string(m.offset) + " for the change at " +
                  format_lsn(m.lsn) + ", which is op " + expected[i].op);
    }
    if (delivered[i]) {
      ++counts.redelivered;
      continue;
    }
    delivered[i] = true;
    if (static_cast<long>(i) < max_index) {
      ++counts.out_of_order;
      details.add(who + ": first delivery of " + format_lsn(m.lsn) + " (offset " + std::to_string(m.offset) +
                  ") after the later change " + format_lsn(expected[static_cast<std::size_t>(max_index)].lsn));
    }
    max_index = std::max(max_index, static_cast<long>(i));
  }
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (!delivered[i] || (tombstones && expected[i].op == 'd' && !tombstoned[i])) {
      ++counts.missing;
      details.add(who + ": missing " + (delivered[i] ? "tombstone after " : "change ") + expected[i].op + " at " +
                  format_lsn(expected[i].lsn));
    }
  }
  if (counts.missing + counts.out_of_order != problems_before) {
    // The whole story of the key, for the report.
    std::string text = who + ": expected";
    for (const auto& e : expected) text += " " + format_lsn(e.lsn) + e.op;
    text += "; got (offset:lsn op)";
    for (std::size_t j = 0; j < got.size() && j < 60; ++j) {
      text += " " + std::to_string(got[j].offset) + ":" + (got[j].op == 't' ? std::string("-") : format_lsn(got[j].lsn)) +
              got[j].op;
    }
    details.add(text);
  }
}

// ---------------------------------------------------------------------------
// The end-of-run comparisons (b) and (c).

/// analytics.* against the recomputation (support/rollup_check); returns the
/// number of differing rows, with the first differences in `report`.
std::int64_t compare_rollups(PgCluster& pg, bool same_day, std::string& report) {
  using namespace rollup_check;
  std::int64_t diff = 0;
  auto compare = [&](const std::string& what, const std::string& expected, const std::string& actual) {
    std::int64_t n = 0;
    const ::testing::AssertionResult r = same_rows(pg, what, expected, actual, &n);
    diff += n;
    if (!r) report += std::string(r.message()) + "\n";
  };
  compare("plan_rollup vs customers * price", kExpectedPlanRollup, kActualPlanRollup);
  compare("plan_changes_daily vs audit history", kPlanChangesFromAudit, kActualPlanChanges);
  if (same_day) {
    compare("plan_changes_daily vs test trigger", kPlanChangesFromShadow, kActualPlanChanges);
    compare("usage_daily vs test trigger", kUsageFromShadow, kActualUsage);
  } else {
    compare("plan_changes_daily vs test trigger (summed over days)", without_day(kPlanChangesFromShadow, "f, t", "n"),
            without_day(kActualPlanChanges, "f, t", "n"));
    compare("usage_daily vs test trigger (summed over days)",
            without_day(kUsageFromShadow, "customer_uuid, resource", "consumed"),
            without_day(kActualUsage, "customer_uuid, resource", "consumed"));
  }
  return diff;
}

/// Every key of the row topics against the oracle, every key of the audit
/// topic against public.audit_logs; returns the number of audit rows.
std::uint64_t verify_kafka(PgCluster& pg, const WalOracle& oracle, const KafkaCollector& collector,
                           KafkaCounts& counts, Details& details) {
  static const std::vector<SeenMessage> kNone;
  for (const auto& [table_key, expected] : oracle.by_key()) {
    const auto& topic = table_key.first == "customer" ? collector.customers() : collector.plans();
    const auto found = topic.find(table_key.second);
    verify_key(table_key.first + " " + table_key.second, expected, found == topic.end() ? kNone : found->second,
               table_key.first == "customer", counts, details);
  }
  for (const auto* topic : {&collector.customers(), &collector.plans()}) {
    for (const auto& [key, messages] : *topic) {
      const std::string table = topic == &collector.customers() ? "customer" : "plans";
      if (oracle.by_key().count({table, key}) == 0) {
        verify_key(table + " " + key + " (no change in the WAL)", {}, messages, false, counts, details);
      }
    }
  }
  std::map<std::string, std::vector<ExpectedChange>> audit_expected;
  std::uint64_t audit_rows = 0;
  // (ORDER BY the pg_lsn column, not its text: "0/F..." sorts after "0/1...")
  for (const Row& r : pg.query("SELECT customer_uuid::text, source_lsn::text AS lsn FROM public.audit_logs "
                               "WHERE source_lsn IS NOT NULL ORDER BY source_lsn")) {
    audit_expected[*r[0]].push_back(ExpectedChange{lsn_of(*r[1]), 'a'});
    ++audit_rows;
  }
  for (const auto& [key, expected] : audit_expected) {
    const auto found = collector.audits().find(key);
    verify_key("audit " + key, expected, found == collector.audits().end() ? kNone : found->second, false, counts,
               details);
  }
  for (const auto& [key, messages] : collector.audits()) {
    if (audit_expected.count(key) == 0) {
      verify_key("audit " + key + " (no audit row)", {}, messages, false, counts, details);
    }
  }
  // Unreadable messages and consumer gaps count as out of order (the test
  // cannot place them).
  counts.out_of_order += collector.bad_message_count();
  return audit_rows;
}

// ---------------------------------------------------------------------------
// The workload (support/workload): one connection, one transaction at a time
// (so that the audit shadow's id order is the commit order), reconnecting
// after faults.

WorkloadKnobs chaos_knobs(std::uint32_t seed) {
  WorkloadKnobs knobs;
  knobs.seed = seed;
  knobs.mix = {{Statement::SignUp, 10},        {Statement::InsertOnPlan, 6},    {Statement::ResourceUpdate, 23},
               {Statement::KeyEdit, 5},        {Statement::SameValueUpdate, 2}, {Statement::PlanChange, 16},
               {Statement::SameRowChanges, 14}, {Statement::Delete, 7},          {Statement::PriceChange, 6},
               {Statement::MetadataUpdate, 4}, {Statement::RolledBack, 3},      {Statement::Savepoint, 4}};
  // Now and then a price change inside a transaction of customer changes.
  knobs.long_chance = 0.05;
  knobs.long_statements = {2, 4};
  knobs.customers_per_statement = {1, 4};
  knobs.rows_per_insert = {1, 3};
  knobs.deletes_per_statement = {1, 2};
  knobs.min_customers = 50;
  knobs.email_domain = "chaos.test";
  return knobs;
}

class ChaosWorkload {
 public:
  ChaosWorkload(const PgCluster& pg, std::uint32_t seed) : pg_(pg), workload_(chaos_knobs(seed)) {}

  void start() { thread_ = std::thread([this] { run(); }); }
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  ~ChaosWorkload() { stop(); }

  std::uint64_t committed() const { return committed_.load(); }
  std::uint64_t big() const { return big_.load(); }
  std::uint64_t reconnects() const { return reconnects_.load(); }
  std::uint64_t interrupted() const { return interrupted_.load(); }
  std::uint64_t sql_errors() const { return sql_errors_.load(); }
  std::string errors() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return errors_.str();
  }

 private:
  /// The next transaction: the starting population first, then now and then a big one.
  WorkloadTransaction next() {
    if (first_) return workload_.big(Big::SignUps, 800);
    if (until_big_ == 0) {
      until_big_ = workload_.pick(100, 300);
      switch (workload_.pick(0, 3)) {
        case 0:
          return workload_.big(Big::SignUps, workload_.pick(300, 1500));
        case 1:
          return workload_.big(Big::Consume, workload_.pick(500, 2500));
        case 2:
          return workload_.big(Big::PlanMoves, workload_.pick(300, 1200));
        default:
          return workload_.big(Big::Deletes, workload_.pick(100, 500));
      }
    }
    --until_big_;
    return workload_.next();
  }

  void run() {
    until_big_ = workload_.pick(60, 200);
    while (!stop_.load()) {
      if (!conn_ || !conn_->ok()) {
        if (!connect()) continue;
      }
      try {
        const WorkloadTransaction tx = next();
        workload_.execute(*conn_, tx);
        first_ = false;
        if (tx.big) ++big_;
        ++committed_;
      } catch (const PgError& e) {
        if (is_connection_error(e, conn_.get())) {
          ++interrupted_;  // committed or not: the references know (shadow, WAL)
          conn_.reset();
        } else {
          ++sql_errors_;
          {
            std::lock_guard<std::mutex> lock(mutex_);
            errors_.add(e.what());
          }
          try {
            conn_->exec("ROLLBACK");
            workload_.load(*conn_);
          } catch (const std::exception&) {
            conn_.reset();
          }
        }
      } catch (const std::exception&) {
        ++interrupted_;
        conn_.reset();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(workload_.pick(0, 6)));
    }
  }

  bool connect() {
    try {
      conn_ = std::make_unique<PgConn>(pg_.conninfo());
      conn_->set_timeout(60s);
      workload_.load(*conn_);
      ++reconnects_;
      return true;
    } catch (const std::exception&) {
      conn_.reset();
      std::this_thread::sleep_for(200ms);
      return false;
    }
  }

  const PgCluster& pg_;
  Workload workload_;
  std::unique_ptr<PgConn> conn_;
  bool first_ = true;
  int until_big_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> committed_{0}, big_{0}, reconnects_{0}, interrupted_{0}, sql_errors_{0};
  mutable std::mutex mutex_;
  Details errors_;
  std::thread thread_;
};

// ---------------------------------------------------------------------------
// The run: mock Kafka, the cluster, the daemon (restarted after faults), logs.

class ChaosRun {
 public:
  ChaosRun() : kafka_(1), pg_(cluster_options()) {
    for (const char* topic : {kCustomerTopic, kPlansTopic, kAuditTopic}) kafka_.create_topic(topic, kPartitions);
    install_audit_shadow(pg_);
    rollup_check::install_rollup_shadow(pg_);
    create_oracle_slot(pg_, kOracleSlot);
    DaemonConfig config(pg_.conninfo());
    config.log_level = "info";
    config.slot = kSlot;
    config.status_interval_ms = 1000;
    config.audit = true;
    config.rollups = true;
    config.kafka = true;
    config.brokers = kafka_.bootstraps();
    config.topic_prefix = "saas";
    // librdkafka's mock broker does not check the idempotent producer's
    // sequence numbers (it only does for transactional producers): when an
    // injected retriable error fails one Produce request while later ones of
    // the same partition are in flight, those are appended and the retried
    // batch lands after them. A real broker rejects the later batches
    // (OUT_OF_ORDER_SEQUENCE_NUMBER) and the client resends them in order.
    // One request in flight keeps the mock in order; CDC_CHAOS_KAFKA_INFLIGHT=5
    // (librdkafka's idempotent maximum) shows the effect (see the issue notes).
    const std::string in_flight = env_or("CDC_CHAOS_KAFKA_INFLIGHT", "1");
    config.kafka_properties = "\"max.in.flight.requests.per.connection\" = \"" + in_flight + "\"";
    config_ = write_daemon_config(config);
    char dir[] = "/tmp/cdc-chaos-XXXXXX";
    if (::mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
    log_dir_ = dir;
    daemon_log_ = log_dir_ + "/daemons.log";
  }

  ~ChaosRun() {
    retire_daemon();
    if (current_test_failed() || keep_test_artifacts()) {
      std::cout << "[chaos] logs of every daemon run kept in " << daemon_log_ << ", fault timeline in " << log_dir_
                << "/faults.log" << std::endl;
    } else {
      std::error_code ec;
      std::filesystem::remove_all(log_dir_, ec);
    }
  }

  static PgClusterOptions cluster_options() {
    PgClusterOptions options;
    options.extra_conf = {"track_commit_timestamp = on", "max_wal_senders = 10", "max_replication_slots = 10"};
    return options;
  }

  MockKafka& kafka() { return kafka_; }
  PgCluster& pg() { return pg_; }
  DaemonProcess& daemon() { return *daemon_; }
  const std::string& daemon_log() const { return daemon_log_; }
  int daemon_starts() const { return starts_; }

  void start_daemon() {
    retire_daemon();
    daemon_ = std::make_unique<DaemonProcess>(std::vector<std::string>{"--config", config_, "run"});
    ++starts_;
  }

  /// Appends the daemon's log to the combined log and drops it.
  void retire_daemon() {
    if (!daemon_) return;
    if (daemon_->running()) {
      daemon_->kill9();
      daemon_->wait_exit(10s);
    }
    std::ofstream out(daemon_log_, std::ios::app);
    out << "==== daemon run #" << starts_ << " (pid " << daemon_->pid() << ", exit "
        << daemon_->exit_status().value_or(-1) << ") ====\n"
        << daemon_->log_text();
    daemon_.reset();
  }

  /// A line in the fault timeline (UTC, like the daemon's log lines).
  void log_event(const std::string& what) {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", std::gmtime(&t));
    std::ofstream out(log_dir_ + "/faults.log", std::ios::app);
    out << stamp << "." << std::setw(3) << std::setfill('0') << ms << "Z " << what << " (daemon run #" << starts_
        << ")\n";
  }

  bool wait_streaming(std::chrono::milliseconds timeout) {
    return wait_until(
        [&] { return !daemon_->running() || daemon_->log_text().find("streaming slot") != std::string::npos; },
        timeout, 50ms) &&
           daemon_->running();
  }

  std::string diagnostics() {
    return slot_diagnostics(pg_, daemon_.get(), kSlot, 40) + slot_diagnostics(pg_, nullptr, kOracleSlot);
  }

 private:
  MockKafka kafka_;
  PgCluster pg_;
  std::string config_;
  std::string log_dir_;
  std::string daemon_log_;
  std::unique_ptr<DaemonProcess> daemon_;
  int starts_ = 0;
};

// ---------------------------------------------------------------------------
// Faults: one table row per kind (name, weight, action). An action returns
// whether the fault was injected; what went wrong goes to `problems`.

/// What a fault acts on, and what it counts besides its own injections.
struct FaultScene {
  ChaosRun& run;
  std::mt19937& rng;
  Details& problems;
  int kill9 = 0;  ///< extra kill -9s (broker_down_up kills the daemon half of the time)
  int kill9_while_broker_down = 0;
  int sigterm_failures = 0;

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
};

struct FaultKind {
  const char* name;
  int weight;  ///< relative frequency after every kind ran once
  bool (*inject)(FaultScene&);
};

bool inject_kill9(FaultScene& s) {
  s.run.daemon().kill9();
  if (s.run.daemon().wait_exit(10s) != 128 + SIGKILL) s.problems.add("kill -9: unexpected exit status");
  s.run.start_daemon();
  return true;
}

bool inject_sigterm(FaultScene& s) {
  s.run.daemon().terminate();
  const std::optional<int> status = s.run.daemon().wait_exit(60s);
  if (status != 0) {
    ++s.sigterm_failures;
    s.problems.add("SIGTERM: exit status " + (status ? std::to_string(*status) : std::string("(hung)")) + ": " +
                   tail_lines(s.run.daemon().log_text(), 8));
  }
  s.run.start_daemon();
  return true;
}

bool inject_walsender_kill(FaultScene& s) {
  bool done = false;
  wait_until(
      [&] {
        try {
          done = s.run.pg().scalar("SELECT pg_terminate_backend(active_pid)::text FROM pg_replication_slots "
                                   "WHERE slot_name = $1 AND active_pid IS NOT NULL",
                                   {kSlot}) == "true";
        } catch (const std::exception&) {
        }
        return done;
      },
      75s, 100ms);  // the daemon may be in its reconnect backoff (up to 30 s)
  if (!done) s.problems.add("walsender_kill: the daemon's walsender did not show up within 75 s");
  return done;
}

bool inject_sink_conn_kill(FaultScene& s) {
  Value killed;
  wait_until(
      [&] {
        try {
          killed = s.run.pg().scalar(
              "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::text FROM pg_stat_activity "
              "WHERE application_name = 'customer-cdc' AND backend_type = 'client backend' "
              "AND pid <> pg_backend_pid()");
        } catch (const std::exception&) {
        }
        return killed && *killed != "0";
      },
      75s, 100ms);
  const bool done = killed && *killed != "0";
  if (!done) s.problems.add("sink_conn_kill: no client connection of the daemon within 75 s");
  return done;
}

bool inject_pg_restart(FaultScene& s) {
  try {
    s.run.pg().restart("fast");
    return true;
  } catch (const std::exception& e) {
    s.problems.add(std::string("pg restart failed: ") + e.what());
    try {
      s.run.pg().start();
    } catch (const std::exception&) {
    }
    return false;
  }
}

bool inject_broker_errors(FaultScene& s) {
  static const std::array<rd_kafka_resp_err_t, 4> kRetriable = {
      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE};
  s.run.kafka().push_produce_errors(static_cast<std::size_t>(s.pick(3, 30)),
                                    kRetriable[static_cast<std::size_t>(s.pick(0, 3))]);
  return true;
}

bool inject_broker_down_up(FaultScene& s) {
  // Half of the time the daemon is also killed while the broker is down:
  // Postgres then holds changes that Kafka never got, and the restart must
  // deliver them (README "Data flow": the acknowledged position is the lowest
  // position every sink holds durably).
  const bool kill_while_down = s.pick(0, 1) == 0;
  s.run.kafka().broker_down(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(s.pick(500, 4000)));
  if (kill_while_down) {
    s.run.log_event("kill -9 while the broker is down");
    s.run.daemon().kill9();
    s.run.daemon().wait_exit(10s);
    ++s.kill9;
    ++s.kill9_while_broker_down;
    std::this_thread::sleep_for(std::chrono::milliseconds(s.pick(0, 1000)));
  }
  s.run.kafka().broker_up(1);
  s.run.log_event("broker up");
  if (kill_while_down) s.run.start_daemon();
  return true;
}

/// kill9 first: broker_down_up counts its kills there.
constexpr std::array<FaultKind, 7> kFaults = {{
    {"kill9", 1, inject_kill9},
    {"sigterm", 1, inject_sigterm},
    {"walsender_kill", 1, inject_walsender_kill},
    {"sink_conn_kill", 1, inject_sink_conn_kill},
    {"pg_restart", 1, inject_pg_restart},
    {"broker_errors", 1, inject_broker_errors},
    {"broker_down_up", 1, inject_broker_down_up},
}};
constexpr std::size_t kFaultKinds = kFaults.size();

/// Every kind once in a random order, then kinds at random by weight.
class FaultSchedule {
 public:
  explicit FaultSchedule(std::mt19937& rng) : rng_(rng) {
    for (std::size_t i = 0; i < kFaultKinds; ++i) order_.push_back(static_cast<int>(i));
    std::shuffle(order_.begin(), order_.end(), rng_);
  }
  std::size_t next() {
    if (next_in_order_ < order_.size()) return static_cast<std::size_t>(order_[next_in_order_++]);
    int total = 0;
    for (const FaultKind& f : kFaults) total += f.weight;
    int roll = std::uniform_int_distribution<int>(0, total - 1)(rng_);
    for (std::size_t i = 0; i < kFaultKinds; ++i) {
      if (roll < kFaults[i].weight) return i;
      roll -= kFaults[i].weight;
    }
    return kFaultKinds - 1;
  }

 private:
  std::mt19937& rng_;
  std::vector<int> order_;
  std::size_t next_in_order_ = 0;
};

TEST(Chaos, RandomFaultsLoseAndDuplicateNothing) {
  const int seconds = std::stoi(env_or("CDC_CHAOS_SECONDS", "100"));
  const std::uint32_t seed = static_cast<std::uint32_t>(
      std::stoul(env_or("CDC_CHAOS_SEED", std::to_string(std::random_device{}()))));
  std::cout << "[chaos] seed=" << seed << " duration=" << seconds << "s (CDC_CHAOS_SEED=" << seed
            << " to repeat the workload and fault choices)" << std::endl;
  ASSERT_GT(seconds, 0);

  ChaosRun run;
  PgCluster& pg = run.pg();
  std::cout << "[chaos] daemon logs: " << run.daemon_log() << ", cluster: " << pg.dir() << std::endl;
  run.start_daemon();
  ASSERT_TRUE(run.wait_streaming(60s)) << run.diagnostics();
  KafkaCollector collector(run.kafka());
  WalOracle oracle(kOracleSlot);
  PgConn oracle_conn = pg.connect();

  std::mt19937 rng(seed);
  const std::string first_day = *pg.scalar("SELECT (clock_timestamp() AT TIME ZONE 'UTC')::date::text");

  std::array<int, kFaultKinds> faults{};
  int unexpected_exits = 0;
  int oracle_errors = 0;
  Details fault_problems;
  FaultScene scene{run, rng, fault_problems};

  ChaosWorkload workload(pg, seed + 1);
  workload.start();
  const auto started = Clock::now();
  auto last_drain = Clock::now();

  FaultSchedule schedule(rng);

  bool oracle_reconnect = false;
  /// Reads the oracle slot; after a failure the next call reconnects first.
  auto drain_oracle = [&] {
    last_drain = Clock::now();
    try {
      if (oracle_reconnect || !oracle_conn.ok()) oracle_conn = pg.connect();
      oracle_reconnect = !oracle.drain(oracle_conn);
    } catch (const std::exception&) {
      oracle_reconnect = true;
    }
    if (oracle_reconnect) ++oracle_errors;
    return !oracle_reconnect;
  };

  /// Waits (bounded) until the daemon streams again, restarting it if it exited on its own.
  auto check_daemon = [&](const char* when) {
    if (!run.daemon().running()) {
      ++unexpected_exits;
      fault_problems.add(std::string("daemon exited by itself (") + when + ", status " +
                         std::to_string(run.daemon().exit_status().value_or(-1)) + "): " +
                         tail_lines(run.daemon().log_text(), 5));
      run.start_daemon();
    }
  };

  while (seconds_since(started) < seconds) {
    // A pause of random length (the daemon is sometimes still starting up,
    // sometimes streaming for a while), reading the oracle now and then.
    const auto pause_until = Clock::now() + std::chrono::milliseconds(scene.pick(300, 3000));
    while (Clock::now() < pause_until) {
      if (Clock::now() - last_drain > 5s) drain_oracle();
      std::this_thread::sleep_for(50ms);
    }
    check_daemon("between faults");
    const std::size_t fault = schedule.next();
    run.log_event(std::string("fault ") + kFaults[fault].name);
    if (kFaults[fault].inject(scene)) ++faults[fault];
  }
  faults[0] += scene.kill9;
  const double fault_seconds = seconds_since(started);

  // Quiesce: workload off, broker healthy, daemon running and caught up.
  workload.stop();
  run.kafka().clear_produce_errors();
  check_daemon("after the fault loop");
  ASSERT_TRUE(run.wait_streaming(120s)) << run.diagnostics();
  ASSERT_TRUE(wait_slot_caught_up(pg, &run.daemon(), 240s, kSlot));
  const double total_seconds = seconds_since(started);
  ASSERT_TRUE(wait_until(drain_oracle, 60s, 500ms)) << "cannot read the oracle slot: " << oracle.last_error();
  ASSERT_TRUE(collector.wait_caught_up(120s)) << "the test's Kafka consumer did not reach the high watermarks";
  collector.stop();
  if (env_or("CDC_CHAOS_TAMPER", "") == "1") {
    // Self-test: each kind of difference once; the test must then fail with
    // every difference counter above 0.
    std::cout << "[chaos] CDC_CHAOS_TAMPER=1: removing, duplicating and corrupting results on purpose" << std::endl;
    pg.exec("DELETE FROM public.audit_logs WHERE id = (SELECT min(id) FROM public.audit_logs)");
    pg.exec("INSERT INTO public.audit_logs (created_at, customer_uuid, action, old_value, new_value, source_lsn, "
            "source_xid) SELECT created_at, customer_uuid, action, old_value, new_value, '0/1', source_xid "
            "FROM public.audit_logs WHERE id = (SELECT max(id) FROM public.audit_logs)");
    pg.exec("UPDATE analytics.plan_rollup SET customers = customers + 1 "
            "WHERE plan_id = (SELECT min(plan_id) FROM analytics.plan_rollup)");
    collector.tamper_for_self_test();
  }
  const bool same_day = first_day == *pg.scalar("SELECT (clock_timestamp() AT TIME ZONE 'UTC')::date::text");

  // (a) audit rows vs the shadow of the seed trigger.
  const AuditShadowComparison audit = compare_audit_with_shadow(pg);

  // (b) rollups vs the recomputation.
  std::string rollup_report;
  const std::int64_t rollup_diff = compare_rollups(pg, same_day, rollup_report);

  // (c) Kafka: the row topics against the oracle, the audit topic against
  // public.audit_logs (proven equal to the shadow in (a)).
  KafkaCounts kafka_counts;
  Details kafka_details;
  const std::uint64_t audit_rows = verify_kafka(pg, oracle, collector, kafka_counts, kafka_details);

  std::ostringstream summary;
  summary << "chaos: seed=" << seed << " duration=" << static_cast<int>(fault_seconds) << "s txns="
          << oracle.txns().size() << " changes=" << oracle.changes().size() << " faults:";
  for (std::size_t f = 0; f < kFaultKinds; ++f) summary << " " << kFaults[f].name << "=" << faults[f];
  summary << " | differences: audit_missing=" << audit.missing << " audit_duplicated=" << audit.extra
          << " audit_order=" << audit.differences << " rollup_diff=" << rollup_diff
          << " kafka_missing=" << kafka_counts.missing << " kafka_out_of_order=" << kafka_counts.out_of_order
          << " | info: total=" << static_cast<int>(total_seconds) << "s daemon_starts=" << run.daemon_starts()
          << " kill9_while_broker_down=" << scene.kill9_while_broker_down << " unexpected_exits=" << unexpected_exits << " sigterm_failures=" << scene.sigterm_failures
          << " audit_rows=" << audit.ours << " kafka_messages=" << collector.messages()
          << " redelivered=" << kafka_counts.redelivered << " workload_interrupted=" << workload.interrupted()
          << " oracle_retries=" << oracle_errors;
  std::cout << summary.str() << std::endl;

  EXPECT_EQ(audit.missing, 0) << audit.first_differences;
  EXPECT_EQ(audit.extra, 0) << audit.first_differences;
  EXPECT_EQ(audit.differences, 0) << "public.audit_logs (ORDER BY id) vs the shadow:\n" << audit.first_differences;
  EXPECT_EQ(audit.null_lsn, 0);
  EXPECT_EQ(audit.distinct_lsn, audit.ours) << "source_lsn values are not unique";
  EXPECT_EQ(rollup_diff, 0) << rollup_report;
  EXPECT_EQ(kafka_counts.missing, 0u) << kafka_details.str();
  EXPECT_EQ(kafka_counts.out_of_order, 0u) << kafka_details.str() << collector.bad_messages().str();
  EXPECT_EQ(collector.offset_gaps(), 0u) << collector.bad_messages().str();
  for (std::size_t f = 0; f < kFaultKinds; ++f) {
    EXPECT_GE(faults[f], 1) << "fault " << kFaults[f].name << " was never injected";
  }
  EXPECT_EQ(unexpected_exits, 0) << fault_problems.str();
  EXPECT_EQ(scene.sigterm_failures, 0) << fault_problems.str();
  EXPECT_TRUE(fault_problems.lines.empty()) << fault_problems.str();
  EXPECT_EQ(workload.sql_errors(), 0u) << workload.errors();
  // Not vacuous: the workload ran, every sink got plenty.
  EXPECT_GE(oracle.txns().size(), 50u * static_cast<std::uint64_t>(std::min(seconds, 60)));
  EXPECT_GE(workload.big(), 2u);
  EXPECT_GE(audit.shadow, 1000);
  EXPECT_GE(audit_rows, 1000u);
  EXPECT_GT(kafka_counts.keys, 500u);
  EXPECT_GT(rollup_check::count_of(pg, "SELECT count(*) FROM analytics.usage_daily WHERE consumed > 0"), 10);
  EXPECT_GT(rollup_check::count_of(pg, "SELECT count(*) FROM analytics.plan_changes_daily"), 3);

  run.daemon().terminate();
  EXPECT_EQ(run.daemon().wait_exit(60s), 0) << run.diagnostics();
}

}  // namespace
}  // namespace cdc::testing
