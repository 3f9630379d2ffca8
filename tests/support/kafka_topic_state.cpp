#include "support/kafka_topic_state.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace cdc::testing {
namespace {

std::string text_of(const rapidjson::Value& v) {
  if (v.IsNull()) return "NULL";
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());  // numbers too (parsed as strings)
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  return "?";
}

std::string format_fields(const Fields& f) {
  std::string out;
  for (const auto& [k, v] : f) out += (out.empty() ? "" : ", ") + k + "=" + v;
  return out;
}

}  // namespace

std::map<std::string, Fields> table_state(PgCluster& pg, const std::string& sql, const std::vector<std::string>& fields) {
  std::map<std::string, Fields> state;
  for (const Row& r : pg.query(sql)) {
    Fields f;
    for (std::size_t i = 0; i < fields.size(); ++i) f[fields[i]] = r[i + 1] ? *r[i + 1] : std::string("NULL");
    state[*r[0]] = std::move(f);
  }
  return state;
}

const std::vector<std::string>& customer_fields() {
  static const std::vector<std::string> f = {"email", "plan_id", "remaining_resources", "metadata"};
  return f;
}
const std::vector<std::string>& plan_fields() {
  static const std::vector<std::string> f = {"name", "price"};
  return f;
}

/// Parses a consumed message; throws std::runtime_error on anything malformed.
Event parse_event(const KafkaMessage& m) {
  Event e;
  e.topic = m.topic;
  e.partition = m.partition;
  e.offset = m.offset;
  if (!m.key) throw std::runtime_error("message without key at " + m.topic + " offset " + std::to_string(m.offset));
  if (m.topic == kSaasAuditTopic) {
    e.key = *m.key;
    rapidjson::Document doc;
    doc.Parse(m.value->c_str());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("source_lsn")) {
      throw std::runtime_error("bad audit message: " + *m.value);
    }
    e.audit_lsn = doc["source_lsn"].GetString();
    return e;
  }
  rapidjson::Document key;
  key.Parse<rapidjson::kParseNumbersAsStringsFlag>(m.key->c_str());
  const char* key_field = m.topic == kSaasCustomerTopic ? "uuid" : "id";
  if (key.HasParseError() || !key.IsObject() || !key.HasMember(key_field)) {
    throw std::runtime_error("bad key: " + *m.key);
  }
  e.key = text_of(key[key_field]);
  if (!m.value) {
    e.tombstone = true;
    return e;
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseNumbersAsStringsFlag>(m.value->c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("op") || !doc.HasMember("source") ||
      !doc.HasMember("after")) {
    throw std::runtime_error("bad envelope: " + *m.value);
  }
  e.op = doc["op"].GetString()[0];
  e.lsn = std::stoull(text_of(doc["source"]["lsn"]));
  if (doc["source"].HasMember("snapshot")) e.snapshot = text_of(doc["source"]["snapshot"]);
  if (doc["source"].HasMember("sequence")) {
    rapidjson::Document sequence;
    sequence.Parse(doc["source"]["sequence"].GetString());
    if (sequence.HasParseError() || !sequence.IsArray() || sequence.Size() != 2) {
      throw std::runtime_error("bad source.sequence: " + *m.value);
    }
    e.sequence = {std::stoull(sequence[0].GetString()), std::stoull(sequence[1].GetString())};
  }
  const rapidjson::Value& after = doc["after"];
  if (after.IsObject()) {
    for (const auto& f : m.topic == kSaasCustomerTopic ? customer_fields() : plan_fields()) {
      e.after[f] = after.HasMember(f.c_str()) ? text_of(after[f.c_str()]) : "<missing>";
    }
  }
  return e;
}

KafkaContent read_kafka(MockKafka& kafka, std::size_t expected_min, std::chrono::milliseconds timeout) {
  KafkaContent out;
  const auto started = std::chrono::steady_clock::now();
  const auto messages =
      kafka.consume_all({kSaasCustomerTopic, kSaasPlansTopic, kSaasAuditTopic}, expected_min, timeout, &out.stats);
  for (const auto& m : messages) {
    Event e = parse_event(m);
    (m.topic == kSaasCustomerTopic ? out.customer : m.topic == kSaasPlansTopic ? out.plans : out.audit).push_back(std::move(e));
  }
  std::cout << "[ kafka    ] " << messages.size() << " messages read in " << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() << " s ("
            << out.customer.size() << " customer, " << out.plans.size() << " plans, " << out.audit.size()
            << " audit)\n";
  return out;
}

/// The topic folded per key in arrival order: r / c / u set the row to
/// `after`, d and tombstones remove it. Also checks that a key stays in one
/// partition.
std::map<std::string, Fields> fold(const std::vector<Event>& events, std::vector<std::string>* problems) {
  std::map<std::string, Fields> state;
  std::map<std::string, std::int32_t> partition_of;
  for (const Event& e : events) {
    const auto [it, inserted] = partition_of.emplace(e.key, e.partition);
    if (!inserted && it->second != e.partition && problems->size() < 10) {
      problems->push_back("key " + e.key + " in partitions " + std::to_string(it->second) + " and " +
                          std::to_string(e.partition));
    }
    if (e.tombstone || e.op == 'd') {
      state.erase(e.key);
    } else if (e.op == 'r' || e.op == 'c' || e.op == 'u') {
      state[e.key] = e.after;
    } else if (problems->size() < 10) {
      problems->push_back(std::string("unexpected op ") + e.op + " for key " + e.key);
    }
  }
  return state;
}

/// Folded topic state == final table state, for both row topics.
::testing::AssertionResult kafka_state_equals_tables(PgCluster& pg, const KafkaContent& kafka) {
  std::vector<std::string> problems;
  struct Topic {
    const char* name;
    const std::vector<Event>* events;
    std::string sql;
    const std::vector<std::string>* fields;
  };
  const std::vector<Topic> topics = {
      {kSaasCustomerTopic, &kafka.customer,
       "SELECT uuid::text, email, plan_id::text, remaining_resources::text, metadata::text FROM public.customer",
       &customer_fields()},
      {kSaasPlansTopic, &kafka.plans, "SELECT id::text, name, price::text FROM public.plans", &plan_fields()},
  };
  std::ostringstream out;
  bool ok = true;
  for (const Topic& t : topics) {
    const auto folded = fold(*t.events, &problems);
    const auto table = table_state(pg, t.sql, *t.fields);
    std::size_t missing = 0, extra = 0, differing = 0;
    for (const auto& [key, row] : table) {
      const auto it = folded.find(key);
      if (it == folded.end()) {
        if (++missing <= 5) out << "  " << t.name << " " << key << ": in the table, not in the topic state\n";
      } else if (it->second != row) {
        if (++differing <= 5) {
          out << "  " << t.name << " " << key << ": table {" << format_fields(row) << "} topic {"
              << format_fields(it->second) << "}\n";
        }
      }
    }
    for (const auto& [key, row] : folded) {
      if (!table.contains(key) && ++extra <= 5) {
        out << "  " << t.name << " " << key << ": in the topic state, not in the table {" << format_fields(row)
            << "}\n";
      }
    }
    if (missing + extra + differing > 0) {
      ok = false;
      out << t.name << ": " << table.size() << " table rows, " << folded.size() << " keys in the topic state; "
          << missing << " missing, " << extra << " extra, " << differing << " differing\n";
    }
  }
  for (const auto& p : problems) out << "  " << p << "\n";
  if (ok && problems.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << out.str();
}

/// Streamed customer events (c/u/d) against the audit: every audit entry has
/// its event at the same key and LSN (no gaps), and nothing else was streamed
/// (the workloads change plan_id or remaining_resources in every update, so
/// every row change has exactly one audit entry). Per key, a message with a
/// new LSN never follows a higher one (repeats after a restart allowed). The
/// audit topic holds each audit entry (at least once).
::testing::AssertionResult kafka_matches_audit(PgCluster& pg, const KafkaContent& kafka, std::size_t* repeats) {
  std::set<std::pair<std::string, std::uint64_t>> audit;
  std::set<std::string> audit_lsns;
  for (const Row& r : pg.query("SELECT customer_uuid::text, (source_lsn - '0/0'::pg_lsn)::text, source_lsn::text "
                               "FROM public.audit_logs")) {
    audit.emplace(*r[0], std::stoull(*r[1]));
    audit_lsns.insert(*r[2]);
  }
  std::ostringstream out;
  std::size_t problems = 0;
  auto problem = [&](const std::string& what) {
    if (++problems <= 10) out << "  " << what << "\n";
  };
  std::set<std::pair<std::string, std::uint64_t>> streamed;
  std::map<std::string, std::uint64_t> highest;
  std::map<std::string, std::set<std::uint64_t>> seen;
  *repeats = 0;
  for (const Event& e : kafka.customer) {
    if (e.tombstone || e.op == 'r') continue;
    const auto [_, fresh] = seen[e.key].insert(e.lsn);
    if (!fresh) {
      ++*repeats;
    } else if (highest[e.key] > e.lsn) {
      problem("key " + e.key + ": new LSN " + std::to_string(e.lsn) + " after " + std::to_string(highest[e.key]) +
              " (out of commit order)");
    }
    highest[e.key] = std::max(highest[e.key], e.lsn);
    streamed.emplace(e.key, e.lsn);
  }
  for (const auto& a : audit) {
    if (!streamed.contains(a)) problem("audit entry " + a.first + " at " + std::to_string(a.second) + ": no Kafka event");
  }
  for (const auto& s : streamed) {
    if (!audit.contains(s)) problem("Kafka event " + s.first + " at " + std::to_string(s.second) + ": no audit entry");
  }
  std::set<std::string> audit_topic;
  for (const Event& e : kafka.audit) audit_topic.insert(e.audit_lsn);
  if (audit_topic != audit_lsns) {
    std::size_t missing = 0;
    for (const auto& l : audit_lsns) missing += audit_topic.contains(l) ? 0 : 1;
    problem("audit topic: " + std::to_string(audit_topic.size()) + " distinct source_lsn, audit_logs " +
            std::to_string(audit_lsns.size()) + ", " + std::to_string(missing) + " of them missing in the topic");
  }
  if (problems == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << problems << " problems (" << audit.size() << " audit entries, "
                                       << streamed.size() << " distinct streamed customer events):\n"
                                       << out.str();
}

std::size_t count_op(const std::vector<Event>& events, char op) {
  return static_cast<std::size_t>(std::count_if(events.begin(), events.end(), [&](const Event& e) {
    return !e.tombstone && e.op == op;
  }));
}

}  // namespace cdc::testing
