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
#include "support/daemon_process.hpp"
#include "support/kafka_mock.hpp"
#include "support/pg_cluster.hpp"
#include "support/rollup_check.hpp"

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
// The oracle: every change of public.customer / public.plans, from a second
// wal2json slot created before the daemon's, read in chunks with peek and then
// advanced past what was read (a lost result is read again; transactions at
// or below the last end position are skipped).

struct ExpectedChange {
  Lsn lsn = 0;
  char op = '?';  // c | u | d
};

class Oracle {
 public:
  /// Reads everything the slot has now. Returns false on a (connection) error;
  /// what was read so far is kept.
  bool drain(PgConn& conn) {
    try {
      for (;;) {
        const Rows rows = conn.query(
            "SELECT data FROM pg_logical_slot_peek_changes($1, NULL, 20000, 'format-version', '2', "
            "'include-xids', '1', 'include-lsn', '1', 'include-transaction', '1', "
            "'add-tables', 'public.customer,public.plans')",
            {kOracleSlot});
        if (rows.empty()) return true;
        Lsn upto = 0;
        parse(rows, upto);
        if (upto == 0) return true;
        conn.query("SELECT 1 FROM pg_replication_slot_advance($1, $2::pg_lsn)", {kOracleSlot, format_lsn(upto)});
        if (rows.size() < 20000) return true;
      }
    } catch (const std::exception& e) {
      last_error_ = e.what();
      return false;
    }
  }

  const std::string& last_error() const { return last_error_; }
  std::uint64_t transactions() const { return txns_; }
  std::uint64_t changes() const { return changes_; }
  /// Per (table, key), the changes in commit order.
  const std::map<std::pair<std::string, std::string>, std::vector<ExpectedChange>>& by_key() const { return by_key_; }

 private:
  void parse(const Rows& rows, Lsn& upto) {
    std::vector<std::pair<std::pair<std::string, std::string>, ExpectedChange>> pending;
    bool open = false;
    for (const Row& row : rows) {
      if (!row[0]) continue;
      rapidjson::Document doc;
      doc.Parse(row[0]->c_str(), row[0]->size());
      if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("action")) {
        throw std::runtime_error("oracle: bad wal2json line " + row[0]->substr(0, 200));
      }
      const std::string action = doc["action"].GetString();
      if (action == "B") {
        open = true;
        pending.clear();
      } else if (action == "C") {
        if (!open) throw std::runtime_error("oracle: C without B");
        open = false;
        const Lsn end = lsn_of(doc["nextlsn"].GetString());
        upto = std::max(upto, end);
        if (end <= last_end_) continue;  // read before (an advance that did not happen)
        last_end_ = end;
        if (pending.empty()) continue;
        ++txns_;
        for (auto& [key, change] : pending) {
          by_key_[key].push_back(change);
          ++changes_;
        }
      } else if (action == "I" || action == "U" || action == "D") {
        const std::string table = doc["table"].GetString();
        ExpectedChange change;
        change.op = action == "I" ? 'c' : action == "U" ? 'u' : 'd';
        change.lsn = lsn_of(doc["lsn"].GetString());
        const char* tuple = action == "D" ? "identity" : "columns";
        const std::string key_column = table == "customer" ? "uuid" : "id";
        std::string key;
        for (const auto& column : doc[tuple].GetArray()) {
          if (key_column != column["name"].GetString()) continue;
          const rapidjson::Value& v = column["value"];
          key = v.IsString() ? v.GetString() : std::to_string(v.GetInt64());
        }
        pending.push_back({{table, key}, change});
      }
    }
  }

  Lsn last_end_ = 0;
  std::uint64_t txns_ = 0;
  std::uint64_t changes_ = 0;
  std::map<std::pair<std::string, std::string>, std::vector<ExpectedChange>> by_key_;
  std::string last_error_;
};

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
// The workload: one connection, one transaction at a time (so that the audit
// shadow's id order is the commit order), reconnecting after faults.

class ChaosWorkload {
 public:
  ChaosWorkload(const PgCluster& pg, std::uint32_t seed) : pg_(pg), rng_(seed), salt_(seed) {}

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
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  void run() {
    std::uint64_t until_big = static_cast<std::uint64_t>(pick(60, 200));
    bool first = true;
    while (!stop_.load()) {
      if (!conn_ || !conn_->ok()) {
        if (!connect()) continue;
      }
      try {
        if (first) {
          // Starting population, one big transaction.
          exec("INSERT INTO auth.users (email, raw_user_meta_data) SELECT 'init' || g || '@chaos.test', "
               "jsonb_build_object('g', g) FROM generate_series(1, 800) g");
          exec("UPDATE public.customer SET plan_id = 1 + (hashtext(email) & 3) % 3 WHERE email LIKE 'init%' "
               "AND (hashtext(email) & 3) <> 3");
          reload();
          first = false;
          ++big_;
        } else if (--until_big == 0) {
          until_big = static_cast<std::uint64_t>(pick(100, 300));
          big_transaction();
          ++big_;
        } else {
          small_transaction();
        }
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
          } catch (const std::exception&) {
            conn_.reset();
          }
        }
      } catch (const std::exception&) {
        ++interrupted_;
        conn_.reset();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(pick(0, 6)));
    }
  }

  bool connect() {
    try {
      conn_ = std::make_unique<PgConn>(pg_.conninfo());
      conn_->set_timeout(60s);
      reload();
      ++reconnects_;
      return true;
    } catch (const std::exception&) {
      conn_.reset();
      std::this_thread::sleep_for(200ms);
      return false;
    }
  }

  void exec(const std::string& sql) { conn_->exec(sql); }

  void reload() {
    pool_.clear();
    for (const Row& r : conn_->query("SELECT uuid::text FROM public.customer ORDER BY uuid")) pool_.push_back(*r[0]);
    plans_.clear();
    for (const Row& r : conn_->query("SELECT id::text FROM public.plans ORDER BY id")) plans_.push_back(*r[0]);
  }

  std::string customer() {
    if (pool_.empty()) return "00000000-0000-0000-0000-000000000000";
    return pool_[static_cast<std::size_t>(pick(0, static_cast<int>(pool_.size()) - 1))];
  }
  /// "'{u1,u2}'::uuid[]" of n random customers.
  std::string customers(int n) {
    std::string out = "'{";
    for (int i = 0; i < n; ++i) out += (i > 0 ? "," : "") + customer();
    return out + "}'::uuid[]";
  }
  std::string plan_or_null() {
    if (plans_.empty() || chance(0.15)) return "NULL";
    return plans_[static_cast<std::size_t>(pick(0, static_cast<int>(plans_.size()) - 1))];
  }
  std::string email() { return "w" + std::to_string(salt_) + "-" + std::to_string(++counter_) + "@chaos.test"; }

  /// A resource update statement for the customers matching `where`.
  std::string resource_update(const std::string& where) {
    const std::string set = "UPDATE public.customer SET remaining_resources = ";
    const std::string object = " AND (remaining_resources IS NULL OR jsonb_typeof(remaining_resources) = 'object')";
    const int kind = pick(0, 99);
    if (kind < 55) {  // consumption (sometimes an increase, sometimes 0)
      const char* key = chance(0.6) ? "api_calls" : "storage_gb";
      const int amount = chance(0.15) ? -pick(1, 50) : pick(0, 300);
      return set + "jsonb_set(coalesce(remaining_resources, '{}'), '{" + key + "}', to_jsonb(coalesce((" +
             "remaining_resources ->> '" + key + "')::numeric, 1000) - " + std::to_string(amount) + "))" + " WHERE " +
             where + object + " AND coalesce(jsonb_typeof(remaining_resources -> '" + key + "'), 'number') = 'number'";
    }
    if (kind < 70) {  // two keys at once, one fractional
      return set + "coalesce(remaining_resources, '{}') || jsonb_build_object('api_calls', coalesce((" +
             "remaining_resources ->> 'api_calls')::numeric, 500) - " + std::to_string(pick(1, 40)) +
             ", 'storage_gb', coalesce((remaining_resources ->> 'storage_gb')::numeric, 20) - 0." +
             std::to_string(pick(1, 9)) + ")" + " WHERE " + where + object +
             " AND coalesce(jsonb_typeof(remaining_resources -> 'api_calls'), 'number') = 'number'"
             " AND coalesce(jsonb_typeof(remaining_resources -> 'storage_gb'), 'number') = 'number'";
    }
    if (kind < 78) return set + "coalesce(remaining_resources, '{}') || '{\"seats\": " + std::to_string(pick(1, 9)) +
                          "}'" + " WHERE " + where + object;
    if (kind < 84) return set + "remaining_resources - 'storage_gb' WHERE " + where + object;
    if (kind < 90) return set + "plan_resources WHERE " + where;
    if (kind < 94) return set + "NULL WHERE " + where;
    // jsonb equal to the old value (no audit row, but a Kafka update)
    return set + "remaining_resources WHERE " + where;
  }

  std::string plan_update(const std::string& where) {
    return "UPDATE public.customer SET plan_id = " + plan_or_null() + " WHERE " + where;
  }

  void small_transaction() {
    const int roll = pick(0, 99);
    if (pool_.size() < 50 || roll < 10) {  // sign-ups through auth.users (handle_new_user)
      const int n = pick(1, 3);
      std::string sql = "INSERT INTO auth.users (email, raw_user_meta_data) VALUES ";
      for (int i = 0; i < n; ++i) sql += std::string(i > 0 ? ", " : "") + "('" + email() + "', '{\"w\": 1}')";
      for (const Row& r : conn_->query(sql + " RETURNING id::text")) pool_.push_back(*r[0]);
      return;
    }
    if (roll < 16) {  // created directly on a plan
      const std::string plan = plan_or_null();
      const Value uuid = conn_->scalar(
          "INSERT INTO public.customer (uuid, email, plan_id, plan_resources, remaining_resources) "
          "SELECT gen_random_uuid(), $1, p.id, p.resources, p.resources FROM (SELECT " + plan +
              "::bigint AS id) x LEFT JOIN public.plans p ON p.id = x.id RETURNING uuid::text",
          {email()});
      if (uuid) pool_.push_back(*uuid);
      return;
    }
    if (roll < 46) return exec(resource_update("uuid = ANY(" + customers(pick(1, 4)) + ")"));
    if (roll < 62) return exec(plan_update("uuid = ANY(" + customers(pick(1, 3)) + ")"));
    if (roll < 76) {  // several changes in one transaction, often of the same customer
      const std::string who = customers(pick(1, 2));
      std::string sql = "BEGIN;";
      const int n = pick(2, 5);
      for (int i = 0; i < n; ++i) {
        const std::string where = "uuid = ANY(" + (chance(0.6) ? who : customers(1)) + ")";
        sql += (chance(0.3) ? plan_update(where) : resource_update(where)) + ";";
      }
      if (chance(0.3)) sql += "UPDATE public.plans SET price = price + 0.25, updated_at = now() WHERE id = " +
                              (plans_.empty() ? std::string("1") : plans_[0]) + ";";
      return exec(sql + "COMMIT");
    }
    if (roll < 83) {  // deletes
      const int n = pick(1, 2);
      std::vector<std::string> gone;
      for (int i = 0; i < n; ++i) gone.push_back(customer());
      std::string list = "'{";
      for (std::size_t i = 0; i < gone.size(); ++i) list += (i > 0 ? "," : "") + gone[i];
      exec("DELETE FROM public.customer WHERE uuid = ANY(" + list + "}'::uuid[])");
      for (const auto& g : gone) pool_.erase(std::remove(pool_.begin(), pool_.end(), g), pool_.end());
      return;
    }
    if (roll < 89) {  // plan price changes
      const int cents = pick(-300, 500);
      return exec("UPDATE public.plans SET price = greatest(1, price + " + std::to_string(cents / 100.0).substr(0, 5) +
                  "), updated_at = now() WHERE id = " + (plans_.empty() ? std::string("1") : plan_or_null()));
    }
    if (roll < 93) {  // email / metadata only: no audit row, a Kafka update
      return exec("UPDATE public.customer SET metadata = jsonb_build_object('n', " + std::to_string(++counter_) +
                  "), updated_at = now() WHERE uuid = ANY(" + customers(pick(1, 2)) + ")");
    }
    if (roll < 96) {  // rolled back: appears nowhere
      return exec("BEGIN;" + plan_update("uuid = ANY(" + customers(2) + ")") + ";" +
                  resource_update("uuid = ANY(" + customers(2) + ")") + "; DELETE FROM public.customer WHERE uuid = ANY(" +
                  customers(1) + "); ROLLBACK");
    }
    // a savepoint rolled back inside a committed transaction
    return exec("BEGIN;" + resource_update("uuid = ANY(" + customers(1) + ")") + "; SAVEPOINT s;" +
                plan_update("uuid = ANY(" + customers(1) + ")") + "; ROLLBACK TO SAVEPOINT s;" +
                plan_update("uuid = ANY(" + customers(1) + ")") + "; COMMIT");
  }

  void big_transaction() {
    const std::string sample = "uuid IN (SELECT uuid FROM public.customer ORDER BY md5(uuid::text || '" +
                               std::to_string(salt_) + "-" + std::to_string(++counter_) + "') LIMIT ";
    switch (pick(0, 3)) {
      case 0:  // bulk sign-up
        exec("INSERT INTO auth.users (email, raw_user_meta_data) SELECT 'bulk" + std::to_string(++counter_) + "-' || g || "
             "'@chaos.test', '{}' FROM generate_series(1, " + std::to_string(pick(300, 1500)) + ") g");
        break;
      case 1:  // bulk consumption
        exec(resource_update(sample + std::to_string(pick(500, 2500)) + ")"));
        break;
      case 2:  // bulk plan moves, with a price change in the same transaction
        exec("BEGIN;" + plan_update(sample + std::to_string(pick(300, 1200)) + ")") +
             "; UPDATE public.plans SET price = price + 1, updated_at = now(); COMMIT");
        break;
      default:  // bulk delete
        exec("DELETE FROM public.customer WHERE " + sample + std::to_string(pick(100, 500)) + ")");
        break;
    }
    reload();
  }

  const PgCluster& pg_;
  std::mt19937 rng_;
  std::uint32_t salt_;
  std::unique_ptr<PgConn> conn_;
  std::vector<std::string> pool_;
  std::vector<std::string> plans_;
  std::uint64_t counter_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> committed_{0}, big_{0}, reconnects_{0}, interrupted_{0}, sql_errors_{0};
  mutable std::mutex mutex_;
  Details errors_;
  std::thread thread_;
};

// ---------------------------------------------------------------------------
// Faults

enum Fault { kKill9, kSigterm, kWalsenderKill, kSinkConnKill, kPgRestart, kBrokerErrors, kBrokerDownUp, kFaultKinds };
constexpr std::array<const char*, kFaultKinds> kFaultNames = {
    "kill9", "sigterm", "walsender_kill", "sink_conn_kill", "pg_restart", "broker_errors", "broker_down_up"};

class ChaosRun {
 public:
  ChaosRun() : kafka_(1), pg_(cluster_options()) {
    for (const char* topic : {kCustomerTopic, kPlansTopic, kAuditTopic}) kafka_.create_topic(topic, kPartitions);
    install_audit_shadow(pg_);
    rollup_check::install_rollup_shadow(pg_);
    pg_.exec(std::string("SELECT 'x' FROM pg_create_logical_replication_slot('") + kOracleSlot + "', 'wal2json')");
    std::ostringstream toml;
    toml << "log_level = \"info\"\n"
         << "[postgres]\n"
         << "dsn = \"" << pg_.conninfo() << "\"\n"
         << "slot = \"" << kSlot << "\"\n"
         << "status_interval_ms = 1000\n"
         << "[audit]\nenabled = true\n"
         << "[rollups]\nenabled = true\n"
         << "[kafka]\nenabled = true\n"
         << "brokers = \"" << kafka_.bootstraps() << "\"\n"
         << "topic_prefix = \"saas\"\n";
    // librdkafka's mock broker does not check the idempotent producer's
    // sequence numbers (it only does for transactional producers): when an
    // injected retriable error fails one Produce request while later ones of
    // the same partition are in flight, those are appended and the retried
    // batch lands after them. A real broker rejects the later batches
    // (OUT_OF_ORDER_SEQUENCE_NUMBER) and the client resends them in order.
    // One request in flight keeps the mock in order; CDC_CHAOS_KAFKA_INFLIGHT=5
    // (librdkafka's idempotent maximum) shows the effect (see the issue notes).
    const std::string in_flight = env_or("CDC_CHAOS_KAFKA_INFLIGHT", "1");
    toml << "[kafka.properties]\n\"max.in.flight.requests.per.connection\" = \"" << in_flight << "\"\n"
         << "[metrics]\nlisten = \"\"\n";
    config_ = write_temp_file(toml.str(), ".toml");
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
    std::ostringstream out;
    try {
      for (const Row& r : pg_.query("SELECT slot_name, active::text, active_pid::text, confirmed_flush_lsn::text, "
                                    "pg_current_wal_lsn()::text FROM pg_replication_slots ORDER BY 1")) {
        out << "slot " << *r[0] << " active=" << r[1].value_or("NULL") << " pid=" << r[2].value_or("NULL")
            << " confirmed=" << r[3].value_or("NULL") << " current=" << r[4].value_or("NULL") << "\n";
      }
      out << "checkpoint=" << pg_.scalar("SELECT max(lsn)::text FROM customer_cdc.checkpoint").value_or("NULL")
          << "\n";
    } catch (const std::exception& e) {
      out << "(diagnostic query failed: " << e.what() << ")\n";
    }
    if (daemon_) {
      out << "daemon " << (daemon_->running() ? "running" : "exited");
      if (auto status = daemon_->exit_status()) out << " with status " << *status;
      out << "; log tail:\n" << tail_lines(daemon_->log_text(), 40);
    }
    return out.str();
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
  Oracle oracle;
  PgConn oracle_conn = pg.connect();

  std::mt19937 rng(seed);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const std::string first_day = *pg.scalar("SELECT (clock_timestamp() AT TIME ZONE 'UTC')::date::text");

  std::array<int, kFaultKinds> faults{};
  int unexpected_exits = 0;
  int sigterm_failures = 0;
  int oracle_errors = 0;
  int kill9_while_broker_down = 0;
  Details fault_problems;

  ChaosWorkload workload(pg, seed + 1);
  workload.start();
  const auto started = Clock::now();
  auto last_drain = Clock::now();

  // Every kind once in a random order, then random kinds.
  std::vector<int> order(kFaultKinds);
  for (int i = 0; i < kFaultKinds; ++i) order[static_cast<std::size_t>(i)] = i;
  std::shuffle(order.begin(), order.end(), rng);
  std::size_t next_in_order = 0;

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
    const auto pause_until = Clock::now() + std::chrono::milliseconds(pick(300, 3000));
    while (Clock::now() < pause_until) {
      if (Clock::now() - last_drain > 5s) drain_oracle();
      std::this_thread::sleep_for(50ms);
    }
    check_daemon("between faults");
    const int fault = next_in_order < order.size() ? order[next_in_order++] : pick(0, kFaultKinds - 1);
    run.log_event(std::string("fault ") + kFaultNames[static_cast<std::size_t>(fault)]);
    switch (fault) {
      case kKill9: {
        run.daemon().kill9();
        if (run.daemon().wait_exit(10s) != 128 + SIGKILL) fault_problems.add("kill -9: unexpected exit status");
        run.start_daemon();
        ++faults[kKill9];
        break;
      }
      case kSigterm: {
        run.daemon().terminate();
        const std::optional<int> status = run.daemon().wait_exit(60s);
        if (status != 0) {
          ++sigterm_failures;
          fault_problems.add("SIGTERM: exit status " + (status ? std::to_string(*status) : std::string("(hung)")) +
                             ": " + tail_lines(run.daemon().log_text(), 8));
        }
        run.start_daemon();
        ++faults[kSigterm];
        break;
      }
      case kWalsenderKill: {
        bool done = false;
        wait_until(
            [&] {
              try {
                done = pg.scalar("SELECT pg_terminate_backend(active_pid)::text FROM pg_replication_slots "
                                 "WHERE slot_name = $1 AND active_pid IS NOT NULL",
                                 {kSlot}) == "true";
              } catch (const std::exception&) {
              }
              return done;
            },
            75s, 100ms);  // the daemon may be in its reconnect backoff (up to 30 s)
        if (done) {
          ++faults[kWalsenderKill];
        } else {
          fault_problems.add("walsender_kill: the daemon's walsender did not show up within 75 s");
        }
        break;
      }
      case kSinkConnKill: {
        Value killed;
        wait_until(
            [&] {
              try {
                killed = pg.scalar(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::text FROM pg_stat_activity "
                    "WHERE application_name = 'customer-cdc' AND backend_type = 'client backend' "
                    "AND pid <> pg_backend_pid()");
              } catch (const std::exception&) {
              }
              return killed && *killed != "0";
            },
            75s, 100ms);
        if (killed && *killed != "0") {
          ++faults[kSinkConnKill];
        } else {
          fault_problems.add("sink_conn_kill: no client connection of the daemon within 75 s");
        }
        break;
      }
      case kPgRestart: {
        try {
          pg.restart("fast");
          ++faults[kPgRestart];
        } catch (const std::exception& e) {
          fault_problems.add(std::string("pg restart failed: ") + e.what());
          try {
            pg.start();
          } catch (const std::exception&) {
          }
        }
        break;
      }
      case kBrokerErrors: {
        static const std::array<rd_kafka_resp_err_t, 4> kRetriable = {
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE};
        run.kafka().push_produce_errors(static_cast<std::size_t>(pick(3, 30)),
                                        kRetriable[static_cast<std::size_t>(pick(0, 3))]);
        ++faults[kBrokerErrors];
        break;
      }
      case kBrokerDownUp: {
        // Half of the time the daemon is also killed while the broker is down:
        // Postgres then holds changes that Kafka never got, and the restart
        // must deliver them (CONTRACT.md section 7, the two sinks' positions).
        const bool kill_while_down = pick(0, 1) == 0;
        run.kafka().broker_down(1);
        std::this_thread::sleep_for(std::chrono::milliseconds(pick(500, 4000)));
        if (kill_while_down) {
          run.log_event("kill -9 while the broker is down");
          run.daemon().kill9();
          run.daemon().wait_exit(10s);
          ++faults[kKill9];
          ++kill9_while_broker_down;
          std::this_thread::sleep_for(std::chrono::milliseconds(pick(0, 1000)));
        }
        run.kafka().broker_up(1);
        run.log_event("broker up");
        if (kill_while_down) run.start_daemon();
        ++faults[kBrokerDownUp];
        break;
      }
      default:
        break;
    }
  }
  const double fault_seconds = seconds_since(started);

  // Quiesce: workload off, broker healthy, daemon running and caught up.
  workload.stop();
  run.kafka().clear_produce_errors();
  check_daemon("after the fault loop");
  ASSERT_TRUE(run.wait_streaming(120s)) << run.diagnostics();
  const std::string target = *pg.scalar("SELECT pg_current_wal_lsn()::text");
  const bool caught_up = wait_until(
      [&] {
        if (!run.daemon().running()) return true;
        return pg.scalar("SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots WHERE slot_name = $2",
                         {target, kSlot}) == "t";
      },
      240s, 200ms);
  ASSERT_TRUE(caught_up && run.daemon().running()) << "no catch-up to " << target << "\n" << run.diagnostics();
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
  std::int64_t rollup_diff = 0;
  std::string rollup_report;
  {
    using namespace rollup_check;
    auto compare = [&](const std::string& what, const std::string& expected, const std::string& actual) {
      std::int64_t n = 0;
      const ::testing::AssertionResult r = same_rows(pg, what, expected, actual, &n);
      rollup_diff += n;
      if (!r) rollup_report += std::string(r.message()) + "\n";
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
  }

  // (c) Kafka: the row topics against the oracle, the audit topic against
  // public.audit_logs (proven equal to the shadow in (a)).
  KafkaCounts kafka_counts;
  Details kafka_details;
  static const std::vector<SeenMessage> kNone;
  for (const auto& [table_key, expected] : oracle.by_key()) {
    const auto& topic = table_key.first == "customer" ? collector.customers() : collector.plans();
    const auto found = topic.find(table_key.second);
    verify_key(table_key.first + " " + table_key.second, expected, found == topic.end() ? kNone : found->second,
               table_key.first == "customer", kafka_counts, kafka_details);
  }
  for (const auto* topic : {&collector.customers(), &collector.plans()}) {
    for (const auto& [key, messages] : *topic) {
      const std::string table = topic == &collector.customers() ? "customer" : "plans";
      if (oracle.by_key().count({table, key}) == 0) {
        verify_key(table + " " + key + " (no change in the WAL)", {}, messages, false, kafka_counts, kafka_details);
      }
    }
  }
  std::map<std::string, std::vector<ExpectedChange>> audit_expected;
  std::uint64_t audit_rows = 0;
  for (const Row& r : pg.query("SELECT customer_uuid::text, source_lsn::text FROM public.audit_logs "
                               "WHERE source_lsn IS NOT NULL ORDER BY source_lsn")) {
    audit_expected[*r[0]].push_back(ExpectedChange{lsn_of(*r[1]), 'a'});
    ++audit_rows;
  }
  for (const auto& [key, expected] : audit_expected) {
    const auto found = collector.audits().find(key);
    verify_key("audit " + key, expected, found == collector.audits().end() ? kNone : found->second, false,
               kafka_counts, kafka_details);
  }
  for (const auto& [key, messages] : collector.audits()) {
    if (audit_expected.count(key) == 0) {
      verify_key("audit " + key + " (no audit row)", {}, messages, false, kafka_counts, kafka_details);
    }
  }
  // Unreadable messages and consumer gaps count as out of order (the test
  // cannot place them).
  kafka_counts.out_of_order += collector.bad_message_count();

  std::ostringstream summary;
  summary << "chaos: seed=" << seed << " duration=" << static_cast<int>(fault_seconds) << "s txns="
          << oracle.transactions() << " changes=" << oracle.changes() << " faults:";
  for (int f = 0; f < kFaultKinds; ++f) summary << " " << kFaultNames[static_cast<std::size_t>(f)] << "=" << faults[f];
  summary << " | differences: audit_missing=" << audit.missing << " audit_duplicated=" << audit.extra
          << " audit_order=" << audit.differences << " rollup_diff=" << rollup_diff
          << " kafka_missing=" << kafka_counts.missing << " kafka_out_of_order=" << kafka_counts.out_of_order
          << " | info: total=" << static_cast<int>(total_seconds) << "s daemon_starts=" << run.daemon_starts()
          << " kill9_while_broker_down=" << kill9_while_broker_down << " unexpected_exits=" << unexpected_exits << " sigterm_failures=" << sigterm_failures
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
  for (int f = 0; f < kFaultKinds; ++f) {
    EXPECT_GE(faults[f], 1) << "fault " << kFaultNames[static_cast<std::size_t>(f)] << " was never injected";
  }
  EXPECT_EQ(unexpected_exits, 0) << fault_problems.str();
  EXPECT_EQ(sigterm_failures, 0) << fault_problems.str();
  EXPECT_TRUE(fault_problems.lines.empty()) << fault_problems.str();
  EXPECT_EQ(workload.sql_errors(), 0u) << workload.errors();
  // Not vacuous: the workload ran, every sink got plenty.
  EXPECT_GE(oracle.transactions(), 50u * static_cast<std::uint64_t>(std::min(seconds, 60)));
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
