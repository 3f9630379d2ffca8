#include "support/kafka_verify.hpp"

#include <rapidjson/document.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <tuple>

#include "support/daemon_process.hpp"
#include "support/lsn_text.hpp"

namespace cdc::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kMaxDetails = 20;

/// One key: `expected` its changes in commit order (strictly increasing LSNs),
/// `got` what the topic holds for it; the rules are at verify_kafka().
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

}  // namespace

void Details::add(const std::string& text) {
  if (lines.size() < kMaxDetails) lines.push_back(text);
}

std::string Details::str() const {
  std::string out;
  for (const auto& l : lines) out += "  " + l + "\n";
  return out;
}

CdcTopics::CdcTopics(int partitions_, const std::string& prefix)
    : customer(prefix + ".public.customer"),
      plans(prefix + ".public.plans"),
      audit(prefix + ".audit"),
      partitions(partitions_) {}

void CdcTopics::create(MockKafka& kafka) const {
  for (const std::string& topic : all()) kafka.create_topic(topic, partitions);
}

// ---------------------------------------------------------------------------
// KafkaCollector

KafkaCollector::KafkaCollector(const MockKafka& kafka, CdcTopics topics) : topics_(std::move(topics)) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const char* k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(std::string("consumer config ") + k + ": " + error);
    }
  };
  set("bootstrap.servers", kafka.bootstraps());
  set("group.id", "kafka-verify-collector-" + std::to_string(::getpid()));
  set("auto.offset.reset", "earliest");
  set("enable.auto.commit", "false");
  set("enable.auto.offset.store", "false");
  set("log_level", "2");
  consumer_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
  if (consumer_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("cannot create the consumer: ") + error);
  }
  rd_kafka_poll_set_consumer(consumer_);
  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(3 * topics_.partitions);
  for (const std::string& topic : topics_.all()) {
    for (std::int32_t p = 0; p < topics_.partitions; ++p) {
      rd_kafka_topic_partition_list_add(assignment, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
      next_offset_[{topic, p}] = 0;
    }
  }
  const rd_kafka_resp_err_t err = rd_kafka_assign(consumer_, assignment);
  rd_kafka_topic_partition_list_destroy(assignment);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_destroy(consumer_);
    throw std::runtime_error(std::string("assign: ") + rd_kafka_err2str(err));
  }
  thread_ = std::thread([this] { run(); });
}

KafkaCollector::~KafkaCollector() {
  stop();
  rd_kafka_consumer_close(consumer_);
  rd_kafka_destroy(consumer_);
}

bool KafkaCollector::wait_caught_up(std::chrono::milliseconds timeout) {
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> high;
  for (const std::string& topic : topics_.all()) {
    for (std::int32_t p = 0; p < topics_.partitions; ++p) {
      std::int64_t lo = 0, hi = 0;
      const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(consumer_, topic.c_str(), p, &lo, &hi, 10000);
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

void KafkaCollector::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void KafkaCollector::tamper_for_self_test() {
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

void KafkaCollector::run() {
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

void KafkaCollector::bad(const std::string& why, const std::string& topic, const rd_kafka_message_t& m) {
  ++bad_count_;
  bad_.add(why + ": " + topic + "[" + std::to_string(m.partition) + "]@" + std::to_string(m.offset));
}

void KafkaCollector::take(const std::string& topic, const rd_kafka_message_t& m) {
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
  if (topic == topics_.audit) {
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
  const bool customer = topic == topics_.customer;
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

// ---------------------------------------------------------------------------

KafkaVerification verify_kafka(PgCluster& pg, const WalOracle& oracle, const KafkaCollector& collector) {
  static const std::vector<SeenMessage> kNone;
  KafkaVerification result;
  KafkaCounts& counts = result.counts;
  Details& details = result.details;
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
  // (ORDER BY the pg_lsn column, not its text: "0/F..." sorts after "0/1...")
  for (const Row& r : pg.query("SELECT customer_uuid::text, source_lsn::text AS lsn FROM public.audit_logs "
                               "WHERE source_lsn IS NOT NULL ORDER BY source_lsn")) {
    audit_expected[*r[0]].push_back(ExpectedChange{lsn_of(*r[1]), 'a'});
    ++result.audit_rows;
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
  return result;
}
}  // namespace cdc::testing
