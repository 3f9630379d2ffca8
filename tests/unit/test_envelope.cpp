// Golden tests of the Kafka message builders (src/sinks/kafka/envelope.cpp): the
// Debezium envelope (value), the message key, the audit-topic message, ISO
// timestamps and Debezium ops.
//
// Inputs are wal2json v2 fixture lines (tests/fixtures/wal2json/, decoded with
// the production decoder) or hand-written wal2json lines. Expected outputs are
// hand-written JSON documents in tests/fixtures/kafka/; both sides are parsed
// with RapidJSON and compared as DOMs, strictly typed (a string "1" differs
// from the number 1, an integer from a float), member order ignored. The
// top-level ts_ms (processing time) is compared with the now_ms passed in, not
// with the golden file.
#include <gtest/gtest.h>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cdc/decode/change.hpp"
#include "cdc/decode/wal2json/wal2json.hpp"
#include "cdc/core/lsn.hpp"
#include "cdc/sinks/audit/audit_mapping.hpp"
#include "cdc/sinks/kafka/envelope.hpp"
#include "cdc/sinks/sink.hpp"
#include "support/columns.hpp"

namespace cdc::sinks {
namespace {

using namespace cdc::testing;  // column builders, Action, Change, Column

constexpr std::int64_t kNowMs = 1800000000123;  // a fixed "processing time"

// ---------------------------------------------------------------------------
// Fixtures and JSON helpers

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) throw std::runtime_error("cannot open " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> load_wal2json(const std::string& name) {
  std::istringstream in(read_file(std::string(CDC_FIXTURES_DIR) + "/wal2json/" + name));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<Change> decode_all(const std::vector<std::string>& lines) {
  std::vector<Change> out;
  for (const std::string& line : lines) out.push_back(decode::decode_wal2json(line, 0));
  return out;
}

/// The transaction of a Begin message, as the dispatcher builds it.
TxnInfo txn_of(const Change& begin) {
  EXPECT_EQ(begin.action, Action::Begin);
  return TxnInfo{begin.xid, begin.lsn, begin.next_lsn, begin.timestamp_us};
}

EnvelopeContext context() {
  EnvelopeContext c;
  c.connector = "customer-cdc";
  c.version = "0.1.0";
  c.name = "saas";
  c.db = "app";
  return c;
}

rapidjson::Document parse(const std::string& json, const std::string& what) {
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  if (doc.HasParseError()) {
    throw std::runtime_error(what + " is not valid JSON (" + rapidjson::GetParseError_En(doc.GetParseError()) +
                             " at offset " + std::to_string(doc.GetErrorOffset()) + "): " + json);
  }
  return doc;
}

rapidjson::Document golden(const std::string& name) {
  return parse(read_file(std::string(CDC_FIXTURES_DIR) + "/kafka/" + name), "golden file " + name);
}

std::string to_text(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

const char* type_name(const rapidjson::Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsBool()) return "boolean";
  if (v.IsObject()) return "object";
  if (v.IsArray()) return "array";
  if (v.IsString()) return "string";
  if (v.IsDouble()) return "float";
  return "integer";
}

/// Strict structural comparison; appends "path: ..." lines for each difference.
void compare(const rapidjson::Value& expected, const rapidjson::Value& actual, const std::string& path,
             const std::set<std::string>& ignored, std::vector<std::string>& diffs) {
  if (ignored.count(path) != 0) return;
  const std::string where = path.empty() ? "(root)" : path;
  if (std::string(type_name(expected)) != type_name(actual)) {
    diffs.push_back(where + ": expected " + type_name(expected) + " " + to_text(expected) + ", got " +
                    type_name(actual) + " " + to_text(actual));
    return;
  }
  if (expected.IsObject()) {
    for (auto it = expected.MemberBegin(); it != expected.MemberEnd(); ++it) {
      const std::string name = it->name.GetString();
      const std::string sub = path + "/" + name;
      auto found = actual.FindMember(it->name);
      if (found == actual.MemberEnd()) {
        if (ignored.count(sub) == 0) diffs.push_back(sub + ": missing (expected " + to_text(it->value) + ")");
        continue;
      }
      compare(it->value, found->value, sub, ignored, diffs);
    }
    std::set<std::string> seen;
    for (auto it = actual.MemberBegin(); it != actual.MemberEnd(); ++it) {
      const std::string name = it->name.GetString();
      if (!seen.insert(name).second) diffs.push_back(path + "/" + name + ": duplicate member");
      if (!expected.HasMember(it->name) && ignored.count(path + "/" + name) == 0) {
        diffs.push_back(path + "/" + name + ": unexpected member " + to_text(it->value));
      }
    }
    return;
  }
  if (expected.IsArray()) {
    if (expected.Size() != actual.Size()) {
      diffs.push_back(where + ": expected " + std::to_string(expected.Size()) + " elements, got " +
                      std::to_string(actual.Size()));
      return;
    }
    for (rapidjson::SizeType i = 0; i < expected.Size(); ++i) {
      compare(expected[i], actual[i], path + "/" + std::to_string(i), ignored, diffs);
    }
    return;
  }
  bool equal = false;
  if (expected.IsDouble()) {
    equal = expected.GetDouble() == actual.GetDouble();
  } else if (expected.IsNumber()) {
    equal = expected.IsInt64() == actual.IsInt64() && expected.IsUint64() == actual.IsUint64() &&
            (expected.IsInt64() ? expected.GetInt64() == actual.GetInt64()
                                : expected.GetUint64() == actual.GetUint64());
  } else {
    equal = expected == actual;  // strings, booleans, null
  }
  if (!equal) diffs.push_back(where + ": expected " + to_text(expected) + ", got " + to_text(actual));
}

::testing::AssertionResult json_matches(const std::string& golden_name, const std::string& actual_json,
                                        const std::set<std::string>& ignored = {}) {
  const rapidjson::Document expected = golden(golden_name);
  rapidjson::Document actual;
  try {
    actual = parse(actual_json, "the built message");
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << e.what();
  }
  std::vector<std::string> diffs;
  compare(expected, actual, "", ignored, diffs);
  if (diffs.empty()) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << "differs from tests/fixtures/kafka/" << golden_name << ":\n";
  for (const auto& d : diffs) failure << "  " << d << "\n";
  failure << "actual: " << actual_json;
  return failure;
}

/// The top-level processing time members, compared with now_ms rather than the golden files.
const std::set<std::string> kNowMembers = {"/ts_ms", "/ts_us", "/ts_ns"};

/// Envelope against a golden file; the top-level ts_ms must be the given
/// now_ms, ts_us and ts_ns the same instant.
::testing::AssertionResult envelope_matches(const std::string& golden_name, const std::string& actual_json) {
  const auto result = json_matches(golden_name, actual_json, kNowMembers);
  if (!result) return result;
  const rapidjson::Document actual = parse(actual_json, "the envelope");
  const auto is = [&](const char* member, std::int64_t expected) {
    return actual.HasMember(member) && actual[member].IsInt64() && actual[member].GetInt64() == expected;
  };
  if (!is("ts_ms", kNowMs) || !is("ts_us", kNowMs * 1000) || !is("ts_ns", kNowMs * 1000000)) {
    return ::testing::AssertionFailure() << "top-level ts_ms/ts_us/ts_ns are not now_ms (" << kNowMs
                                         << "): " << actual_json;
  }
  return ::testing::AssertionSuccess();
}

/// The customer workload fixture: B I C, B U(plan) C, B U(resources) C,
/// B U(email) C, B D C for one customer.
struct CustomerWorkload {
  std::vector<Change> changes = decode_all(load_wal2json("customer_workload.jsonl"));
  const Change& begin(std::size_t txn) const { return changes.at(3 * txn); }
  const Change& row(std::size_t txn) const { return changes.at(3 * txn + 1); }
  TxnInfo txn(std::size_t txn) const { return txn_of(begin(txn)); }
};

/// The envelope of transaction `txn`'s row; with `as_read`, the same row as a snapshot read.
std::string value_of(const CustomerWorkload& w, std::size_t txn, bool as_read = false) {
  decode::Change row = w.row(txn);
  if (as_read) row.action = decode::Action::Read;
  return debezium_value(row, w.txn(txn), context(), kNowMs);
}

/// A hand-made update of public.plans (Pro: 19.99 -> 24.99), as wal2json v2
/// prints it for the schema's plans table (REPLICA IDENTITY FULL).
constexpr const char* kPlansUpdateBegin =
    R"j({"action":"B","xid":900,"timestamp":"2026-11-25 07:20:00.5+00","lsn":"0/30001F8","nextlsn":"0/3000228"})j";
constexpr const char* kPlansUpdate =
    R"j({"action":"U","xid":900,"timestamp":"2026-11-25 07:20:00.5+00","lsn":"0/3000028","schema":"public","table":"plans",)j"
    R"j("columns":[{"name":"id","type":"bigint","value":2},)j"
    R"j({"name":"created_at","type":"timestamp with time zone","value":"2026-11-25 07:00:00+00"},)j"
    R"j({"name":"updated_at","type":"timestamp with time zone","value":"2026-11-25 07:20:00.49+00"},)j"
    R"j({"name":"name","type":"text","value":"Pro"},)j"
    R"j({"name":"price","type":"numeric(10,2)","value":24.99},)j"
    R"j({"name":"benefits","type":"jsonb","value":"[\"Feature 1\", \"Feature 2\", \"Feature 3\"]"},)j"
    R"j({"name":"description","type":"text","value":"Pro plan for power users"},)j"
    R"j({"name":"price_currency","type":"text","value":"euro"},)j"
    R"j({"name":"stripe_price_id","type":"text","value":null},)j"
    R"j({"name":"stripe_plan_id","type":"text","value":null},)j"
    R"j({"name":"resources","type":"jsonb","value":"{\"api_calls\": 5000, \"storage_gb\": 50}"}],)j"
    R"j("identity":[{"name":"id","type":"bigint","value":2},)j"
    R"j({"name":"created_at","type":"timestamp with time zone","value":"2026-11-25 07:00:00+00"},)j"
    R"j({"name":"updated_at","type":"timestamp with time zone","value":"2026-11-25 07:00:00+00"},)j"
    R"j({"name":"name","type":"text","value":"Pro"},)j"
    R"j({"name":"price","type":"numeric(10,2)","value":19.99},)j"
    R"j({"name":"benefits","type":"jsonb","value":"[\"Feature 1\", \"Feature 2\", \"Feature 3\"]"},)j"
    R"j({"name":"description","type":"text","value":"Pro plan for power users"},)j"
    R"j({"name":"price_currency","type":"text","value":"euro"},)j"
    R"j({"name":"stripe_price_id","type":"text","value":null},)j"
    R"j({"name":"stripe_plan_id","type":"text","value":null},)j"
    R"j({"name":"resources","type":"jsonb","value":"{\"api_calls\": 5000, \"storage_gb\": 50}"}]})j";

// ---------------------------------------------------------------------------
// Envelopes against golden files

TEST(EnvelopeGolden, CustomerInsert) {
  const CustomerWorkload w;
  EXPECT_TRUE(envelope_matches("insert.json", value_of(w, 0)));
}

TEST(EnvelopeGolden, CustomerUpdate) {
  const CustomerWorkload w;
  EXPECT_TRUE(envelope_matches("update.json", value_of(w, 1)));
}

TEST(EnvelopeGolden, CustomerDelete) {
  const CustomerWorkload w;
  EXPECT_TRUE(envelope_matches("delete.json", value_of(w, 4)));
}

TEST(EnvelopeGolden, PlansUpdate) {
  const Change begin = decode::decode_wal2json(kPlansUpdateBegin, 0);
  const Change update = decode::decode_wal2json(kPlansUpdate, 0);
  EXPECT_TRUE(envelope_matches("plans_update.json",
                               debezium_value(update, txn_of(begin), context(), kNowMs)));
}

TEST(EnvelopeGolden, ValueTypesInsertAndUpdate) {
  // public.t of the fixtures: integer, numeric, jsonb, timestamptz, uuid,
  // boolean, double precision, bigint, text (with characters JSON escapes), NULL.
  const auto insert = decode_all(load_wal2json("insert.jsonl"));
  ASSERT_EQ(insert.size(), 3u);
  EXPECT_TRUE(envelope_matches("types_insert.json",
                               debezium_value(insert[1], txn_of(insert[0]), context(), kNowMs)));
  // NaN (double) arrives as null; numeric keeps its scale as text. Default
  // replica identity: "before" carries the primary key (Debezium would add the
  // other columns as null; the captured tables are REPLICA IDENTITY FULL, so
  // only the key is pinned here).
  const auto update = decode_all(load_wal2json("update.jsonl"));
  ASSERT_EQ(update.size(), 3u);
  const std::string json = debezium_value(update[1], txn_of(update[0]), context(), kNowMs);
  EXPECT_TRUE(json_matches("types_update.json", json, {"/ts_ms", "/ts_us", "/ts_ns", "/before"}));
  const rapidjson::Document doc = parse(json, "update envelope");
  ASSERT_TRUE(doc["before"].IsObject()) << json;
  ASSERT_TRUE(doc["before"].HasMember("id")) << json;
  EXPECT_EQ(doc["before"]["id"].GetInt64(), 1);
}

TEST(EnvelopeGolden, Truncate) {
  const auto lines = decode_all(load_wal2json("truncate.jsonl"));
  ASSERT_EQ(lines.size(), 3u);
  ASSERT_EQ(lines[1].action, Action::Truncate);
  EXPECT_TRUE(envelope_matches("truncate.json",
                               debezium_value(lines[1], txn_of(lines[0]), context(), kNowMs)));
}

// ---------------------------------------------------------------------------
// Typing rules, spelled out (independent of the golden files)

TEST(EnvelopeValue, ColumnTyping) {
  const CustomerWorkload w;
  const rapidjson::Document doc = parse(value_of(w, 1), "update envelope");
  const rapidjson::Value& after = doc["after"];
  ASSERT_TRUE(after.IsObject());
  // bigint: a JSON integer.
  ASSERT_TRUE(after["plan_id"].IsInt64());
  EXPECT_FALSE(after["plan_id"].IsDouble());
  EXPECT_EQ(after["plan_id"].GetInt64(), 2);
  // uuid and varchar: strings.
  EXPECT_STREQ(after["uuid"].GetString(), "6f1c1d3e-2b4a-4c8e-9f10-3a5b7c9d1e2f");
  EXPECT_STREQ(after["email"].GetString(), "alice@example.com");
  // jsonb: a string holding the jsonb text (Debezium's io.debezium.data.Json).
  ASSERT_TRUE(after["plan_resources"].IsString());
  const rapidjson::Document inner = parse(after["plan_resources"].GetString(), "jsonb text");
  ASSERT_TRUE(inner.IsObject());
  EXPECT_EQ(inner["api_calls"].GetInt(), 5000);
  // timestamptz: ISO-8601 UTC with 'Z'.
  const std::regex iso(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z)");
  for (const char* name : {"created_at", "updated_at", "plan_updated_at"}) {
    ASSERT_TRUE(after[name].IsString()) << name;
    EXPECT_TRUE(std::regex_match(after[name].GetString(), iso)) << name << ": " << after[name].GetString();
  }
  // source: lsn and txId integers, ts_ms the commit time in ms, snapshot "false".
  const rapidjson::Value& source = doc["source"];
  ASSERT_TRUE(source["lsn"].IsUint64());
  EXPECT_EQ(source["lsn"].GetUint64(), *parse_lsn("0/2B115F0"));
  EXPECT_EQ(source["txId"].GetUint64(), 831u);
  EXPECT_EQ(source["ts_ms"].GetInt64(), w.txn(1).commit_time_us / 1000);
  EXPECT_STREQ(source["snapshot"].GetString(), "false");
  EXPECT_STREQ(source["connector"].GetString(), "customer-cdc");
  EXPECT_STREQ(source["db"].GetString(), "app");
  EXPECT_STREQ(source["schema"].GetString(), "public");
  EXPECT_STREQ(source["table"].GetString(), "customer");
}

TEST(EnvelopeValue, NumericIsAStringWithItsScale) {
  const Change update = decode::decode_wal2json(kPlansUpdate, 0);
  const TxnInfo txn{900, 0x30001F8, 0x3000228, 1795591200500000};
  const rapidjson::Document doc = parse(debezium_value(update, txn, context(), kNowMs), "plans envelope");
  ASSERT_TRUE(doc["after"]["price"].IsString());
  EXPECT_STREQ(doc["after"]["price"].GetString(), "24.99");
  EXPECT_STREQ(doc["before"]["price"].GetString(), "19.99");
  ASSERT_TRUE(doc["after"]["id"].IsInt64());
  EXPECT_TRUE(doc["after"]["stripe_price_id"].IsNull());
  EXPECT_TRUE(doc["after"]["benefits"].IsString());
}

TEST(EnvelopeValue, HandMadeColumnsCoverEveryRendering) {
  const std::string kControlText = "a\x01" "b\"c\\d\n\t";
  const Change change = row_change(Action::Insert, "mixed",
                                   {
                                       number_column("i", "-7", "integer"),
                                       number_column("s", "3", "smallint"),
                                       number_column("r", "1.5", "real"),
                                       number_column("d", "-2.5e-10", "double precision"),
                                       number_column("n", "123456789012345678901234567890.000100", "numeric"),
                                       bool_column("b1", true),
                                       bool_column("b0", false),
                                       text_column("t", "2026-01-01 01:30:00.5-08", "timestamp with time zone"),
                                       text_column("tp", "2026-11-25 07:13:13.123+00", "timestamp(3) with time zone"),
                                       text_column("inf", "infinity", "timestamp with time zone"),
                                       jsonb_column("j", R"({"k": [1, "two", null]})"),
                                       null_column("x", "text"),
                                       text_column("ctl", kControlText),
                                   },
                                   {}, 0x10);
  const TxnInfo txn{42, 0x20, 0x28, 1000999};  // 1.000999 s after the epoch
  const std::string json = debezium_value(change, txn, context(), kNowMs);
  const rapidjson::Document doc = parse(json, "envelope");
  const rapidjson::Value& a = doc["after"];
  EXPECT_EQ(a["i"].GetInt64(), -7);
  EXPECT_EQ(a["s"].GetInt64(), 3);
  ASSERT_TRUE(a["r"].IsDouble());
  EXPECT_EQ(a["r"].GetDouble(), 1.5);
  ASSERT_TRUE(a["d"].IsDouble());
  EXPECT_EQ(a["d"].GetDouble(), -2.5e-10);
  ASSERT_TRUE(a["n"].IsString());
  EXPECT_STREQ(a["n"].GetString(), "123456789012345678901234567890.000100");
  EXPECT_TRUE(a["b1"].IsTrue());
  EXPECT_TRUE(a["b0"].IsFalse());
  EXPECT_STREQ(a["t"].GetString(), "2026-01-01T09:30:00.5Z");
  EXPECT_STREQ(a["tp"].GetString(), "2026-11-25T07:13:13.123Z");
  EXPECT_STREQ(a["inf"].GetString(), "infinity");
  EXPECT_STREQ(a["j"].GetString(), R"({"k": [1, "two", null]})");
  EXPECT_TRUE(a["x"].IsNull());
  EXPECT_EQ(std::string(a["ctl"].GetString(), a["ctl"].GetStringLength()), kControlText);
  EXPECT_TRUE(doc["before"].IsNull());
  EXPECT_EQ(doc["source"]["ts_ms"].GetInt64(), 1000);  // commit time truncated to ms
  EXPECT_EQ(doc["source"]["txId"].GetUint64(), 42u);
  EXPECT_EQ(doc["source"]["lsn"].GetUint64(), 0x10u);
  EXPECT_STREQ(doc["op"].GetString(), "c");
  EXPECT_EQ(doc["ts_ms"].GetInt64(), kNowMs);
}

TEST(EnvelopeValue, StringsAreEscapedByteForByteAsRapidjsonEscapes) {
  // Every byte value, at every offset from an 8-byte boundary, between runs of
  // plain bytes: the escaper copies plain runs a word at a time.
  std::string text;
  for (int pad = 0; pad < 9; ++pad) {
    for (int byte = 1; byte < 256; ++byte) {
      text.append(static_cast<std::size_t>(pad), 'x');
      text += static_cast<char>(byte);
    }
  }
  text += "\"tail\\";
  const Change change = row_change(Action::Insert, "t", {text_column("v", text)}, {}, 0x10);
  const std::string json = debezium_value(change, TxnInfo{1, 0x20, 0x28, 0}, context(), kNowMs);
  rapidjson::StringBuffer expected;
  rapidjson::Writer<rapidjson::StringBuffer> writer(expected);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  EXPECT_NE(json.find(std::string("{\"v\":") + expected.GetString() + "}"), std::string::npos);
  const rapidjson::Document doc = parse(json, "envelope");
  EXPECT_EQ(std::string(doc["after"]["v"].GetString(), doc["after"]["v"].GetStringLength()), text);
}

TEST(EnvelopeValue, TimestampsStayRightWhenMoreRepeatThanTheRecentOnesKept) {
  std::vector<Column> columns;
  for (int second = 0; second < 6; ++second) {
    columns.push_back(text_column("t" + std::to_string(second), "2026-01-01 00:00:0" + std::to_string(second) + "+00",
                                  "timestamp with time zone"));
  }
  const Change change = row_change(Action::Update, "t", columns, columns, 0x10);
  for (int round = 0; round < 2; ++round) {
    const rapidjson::Document doc =
        parse(debezium_value(change, TxnInfo{1, 0x20, 0x28, 0}, context(), kNowMs), "envelope");
    for (int second = 0; second < 6; ++second) {
      const std::string name = "t" + std::to_string(second);
      const std::string iso = "2026-01-01T00:00:0" + std::to_string(second) + "Z";
      EXPECT_EQ(doc["before"][name.c_str()].GetString(), iso);
      EXPECT_EQ(doc["after"][name.c_str()].GetString(), iso);
    }
  }
}

TEST(EnvelopeValue, LargeLsnAndXidStayExact) {
  const Change change = row_change(Action::Delete, "customer", {},
                                   {uuid_column("00000000-0000-4000-8000-000000000001")},
                                   *parse_lsn("FFFFFFFF/FFFFFF00"));
  const TxnInfo txn{4294967295u, change.lsn + 8, change.lsn + 16, 1795591015218971};
  const rapidjson::Document doc = parse(debezium_value(change, txn, context(), kNowMs), "envelope");
  ASSERT_TRUE(doc["source"]["lsn"].IsUint64());
  EXPECT_EQ(doc["source"]["lsn"].GetUint64(), change.lsn);
  EXPECT_EQ(doc["source"]["txId"].GetUint64(), 4294967295u);
  EXPECT_TRUE(doc["after"].IsNull());
  EXPECT_STREQ(doc["before"]["uuid"].GetString(), "00000000-0000-4000-8000-000000000001");
  EXPECT_STREQ(doc["op"].GetString(), "d");
}

TEST(EnvelopeValue, SnapshotReadIsOpRWithSnapshotTrue) {
  const CustomerWorkload w;
  const std::string json = value_of(w, 0, /*as_read=*/true);
  // Same document as the insert, but op "r" and source.snapshot "true".
  EXPECT_TRUE(json_matches("insert.json", json, {"/ts_ms", "/ts_us", "/ts_ns", "/op", "/source/snapshot"}));
  const rapidjson::Document doc = parse(json, "snapshot envelope");
  EXPECT_STREQ(doc["op"].GetString(), "r");
  EXPECT_STREQ(doc["source"]["snapshot"].GetString(), "true");
  EXPECT_TRUE(doc["before"].IsNull());
}

/// source.sequence as its two numbers (commit LSN, change LSN).
std::pair<std::uint64_t, std::uint64_t> sequence_of(const std::string& json) {
  const rapidjson::Document doc = parse(json, "envelope");
  const rapidjson::Document pair = parse(doc["source"]["sequence"].GetString(), "source.sequence");
  EXPECT_TRUE(pair.IsArray() && pair.Size() == 2);
  return {std::stoull(pair[0].GetString()), std::stoull(pair[1].GetString())};
}

TEST(EnvelopeValue, SequenceOrdersAChangeAfterTheSnapshotThatMissedIt) {
  // A transaction that wrote before the snapshot's consistent point C but
  // committed after it: its change LSN is below C, its commit above.
  const CustomerWorkload w;
  const Lsn c = 0x5000;
  decode::Change row = w.row(0);
  row.lsn = c;  // as the snapshot reads rows (src/app/snapshot.cpp)
  row.action = decode::Action::Read;
  const std::string read = debezium_value(row, TxnInfo{0, c, c, 0}, context(), 1);
  decode::Change late = w.row(0);
  late.lsn = 0x4000;
  const std::string change = debezium_value(late, TxnInfo{900, 0x6000, 0x6030, 0}, context(), 2);
  EXPECT_EQ(sequence_of(read), std::make_pair(std::uint64_t{0x5000}, std::uint64_t{0x5000}));
  EXPECT_EQ(sequence_of(change), std::make_pair(std::uint64_t{0x6000}, std::uint64_t{0x4000}));
  EXPECT_LT(sequence_of(read), sequence_of(change));  // source.lsn alone would order them the other way
  EXPECT_LT(parse(change, "e")["source"]["lsn"].GetUint64(), parse(read, "r")["source"]["lsn"].GetUint64());
}

TEST(EnvelopeValue, ContextFieldsComeFromTheContext) {
  const CustomerWorkload w;
  EnvelopeContext c = context();
  c.db = "other_db";
  c.name = "prefix";
  const rapidjson::Document doc = parse(debezium_value(w.row(0), w.txn(0), c, 5), "envelope");
  EXPECT_STREQ(doc["source"]["db"].GetString(), "other_db");
  EXPECT_STREQ(doc["source"]["name"].GetString(), "prefix");
  EXPECT_EQ(doc["ts_ms"].GetInt64(), 5);
}

// ---------------------------------------------------------------------------
// Ops

TEST(EnvelopeOp, DebeziumOps) {
  EXPECT_EQ(debezium_op(Action::Insert), 'c');
  EXPECT_EQ(debezium_op(Action::Update), 'u');
  EXPECT_EQ(debezium_op(Action::Delete), 'd');
  EXPECT_EQ(debezium_op(Action::Truncate), 't');
  EXPECT_EQ(debezium_op(Action::Read), 'r');

  const CustomerWorkload w;
  std::string ops;
  for (std::size_t t = 0; t < 5; ++t) ops += debezium_op(w.row(t).action);
  EXPECT_EQ(ops, "cuuud");
  for (std::size_t t = 0; t < 5; ++t) {
    const rapidjson::Document doc = parse(value_of(w, t), "envelope");
    EXPECT_EQ(std::string(1, ops[t]), doc["op"].GetString()) << "transaction " << t;
  }
}

// ---------------------------------------------------------------------------
// Keys

TEST(EnvelopeKey, CustomerKeyIsTheUuidForEveryOp) {
  const CustomerWorkload w;
  for (std::size_t t = 0; t < 5; ++t) {
    const std::string key = debezium_key(w.row(t), {"uuid"});
    const rapidjson::Document doc = parse(key, "key");
    ASSERT_TRUE(doc.IsObject()) << key;
    EXPECT_EQ(doc.MemberCount(), 1u) << key;
    EXPECT_STREQ(doc["uuid"].GetString(), "6f1c1d3e-2b4a-4c8e-9f10-3a5b7c9d1e2f") << key;
  }
  // Exact bytes: Kafka partitions and compacts by the key's bytes.
  EXPECT_EQ(debezium_key(w.row(0), {"uuid"}), R"({"uuid":"6f1c1d3e-2b4a-4c8e-9f10-3a5b7c9d1e2f"})");
  EXPECT_EQ(debezium_key(w.row(4), {"uuid"}), R"({"uuid":"6f1c1d3e-2b4a-4c8e-9f10-3a5b7c9d1e2f"})");
}

TEST(EnvelopeKey, PlansKeyIsTheNumericId) {
  const Change update = decode::decode_wal2json(kPlansUpdate, 0);
  EXPECT_EQ(debezium_key(update, {"id"}), R"({"id":2})");
  const rapidjson::Document doc = parse(debezium_key(update, {"id"}), "key");
  EXPECT_TRUE(doc["id"].IsInt64());
}

TEST(EnvelopeKey, DeleteUsesTheOldTupleAndUpdateTheNewOne) {
  const Change del =
      row_change(Action::Delete, "plans", {}, {number_column("id", "7"), text_column("name", "x")});
  EXPECT_EQ(debezium_key(del, {"id"}), R"({"id":7})");

  const Change update =
      row_change(Action::Update, "plans", {number_column("id", "8")}, {number_column("id", "7")});
  EXPECT_EQ(debezium_key(update, {"id"}), R"({"id":8})");
}

TEST(EnvelopeKey, CompositeKeyKeepsColumnOrderAndMissingColumnGivesNoKey) {
  const Change insert = row_change(
      Action::Insert, "t", {number_column("a", "1", "integer"), text_column("b", "two"), uuid_column("u", "c")});
  EXPECT_EQ(debezium_key(insert, {"c", "a"}), R"({"c":"u","a":1})");
  EXPECT_EQ(debezium_key(insert, {"a", "missing"}), "");
}

// ---------------------------------------------------------------------------
// Audit messages

struct AuditCase {
  std::size_t txn;
  const char* golden;
  const char* action;
};

TEST(AuditMessage, EveryAuditActionAgainstGoldenFiles) {
  const CustomerWorkload w;
  const AuditCase cases[] = {
      {0, "audit_customer_created.json", "customer_created"},
      {1, "audit_plan_change.json", "plan_change"},
      {2, "audit_resource_update.json", "resource_update"},
      {4, "audit_customer_deleted.json", "customer_deleted"},
  };
  for (const AuditCase& c : cases) {
    SCOPED_TRACE(c.golden);
    const std::optional<AuditEntry> entry = audit_entry_for(w.row(c.txn));
    ASSERT_TRUE(entry.has_value());
    EXPECT_EQ(entry->action, c.action);
    const std::string json = audit_message(*entry, w.txn(c.txn), w.row(c.txn).lsn);
    EXPECT_TRUE(json_matches(c.golden, json));
  }
  // The email-only update writes no audit entry, hence no audit message.
  EXPECT_FALSE(audit_entry_for(w.row(3)).has_value());
}

TEST(AuditMessage, SourceLsnIsPgLsnTextAndOffsetsAreKept) {
  const AuditEntry entry{"00000000-0000-4000-8000-000000000001", "resource_update",
                         R"({"plan_id": null, "remaining_resources": null})",
                         R"({"plan_id": 3, "remaining_resources": {"api_calls": 1.50}})"};
  const TxnInfo txn{77, 0, 0, 0};
  SourceLsnSequence sequence;
  const Lsn record = *parse_lsn("16/B374D848");
  const rapidjson::Document first = parse(audit_message(entry, txn, sequence.next(record)), "audit");
  const rapidjson::Document second = parse(audit_message(entry, txn, sequence.next(record)), "audit");
  EXPECT_STREQ(first["source_lsn"].GetString(), "16/B374D848");
  EXPECT_STREQ(second["source_lsn"].GetString(), "16/B374D849");
  EXPECT_STREQ(first["created_at"].GetString(), "1970-01-01T00:00:00Z");
  EXPECT_EQ(first["source_xid"].GetUint64(), 77u);
  ASSERT_TRUE(first["old_value"].IsObject());
  EXPECT_TRUE(first["old_value"]["plan_id"].IsNull());
  ASSERT_TRUE(first["new_value"]["remaining_resources"]["api_calls"].IsDouble());
  EXPECT_EQ(first["new_value"]["remaining_resources"]["api_calls"].GetDouble(), 1.5);
  // All columns of public.audit_logs that the daemon fills, nothing else.
  std::set<std::string> members;
  for (auto it = first.MemberBegin(); it != first.MemberEnd(); ++it) members.insert(it->name.GetString());
  EXPECT_EQ(members, (std::set<std::string>{"created_at", "customer_uuid", "action", "old_value", "new_value",
                                            "source_lsn", "source_xid"}));
}

// ---------------------------------------------------------------------------
// iso_timestamp

TEST(IsoTimestamp, ConvertsToUtcWithZ) {
  EXPECT_EQ(iso_timestamp("2026-11-25 07:13:13.879926+00"), "2026-11-25T07:13:13.879926Z");
  EXPECT_EQ(iso_timestamp("2026-11-25 07:13:13.96169+00"), "2026-11-25T07:13:13.96169Z");
  EXPECT_EQ(iso_timestamp("2026-11-25 07:13:13.100000+00"), "2026-11-25T07:13:13.1Z");
  EXPECT_EQ(iso_timestamp("2026-11-25 07:13:13.000001+00"), "2026-11-25T07:13:13.000001Z");
  EXPECT_EQ(iso_timestamp("2026-11-25 07:13:13+00"), "2026-11-25T07:13:13Z");
  EXPECT_EQ(iso_timestamp("2026-11-25 07:13:13.000000+00"), "2026-11-25T07:13:13Z");
  // Offsets are folded into UTC, across day, month and year boundaries.
  EXPECT_EQ(iso_timestamp("2026-11-25 12:43:13.5+05:30"), "2026-11-25T07:13:13.5Z");
  EXPECT_EQ(iso_timestamp("2025-12-31 23:30:00-01"), "2026-01-01T00:30:00Z");
  EXPECT_EQ(iso_timestamp("2026-01-01 00:15:00+01"), "2025-12-31T23:15:00Z");
  EXPECT_EQ(iso_timestamp("2024-02-28 23:00:00-02"), "2024-02-29T01:00:00Z");
  EXPECT_EQ(iso_timestamp("1912-03-01 00:00:00+00:19:32"), "1912-02-29T23:40:28Z");
  // Before the epoch and at the range's ends.
  EXPECT_EQ(iso_timestamp("1969-12-31 23:59:59.5+00"), "1969-12-31T23:59:59.5Z");
  EXPECT_EQ(iso_timestamp("0001-01-01 00:00:00+00"), "0001-01-01T00:00:00Z");
  EXPECT_EQ(iso_timestamp("9999-12-31 23:59:59.999999+00"), "9999-12-31T23:59:59.999999Z");
}

TEST(IsoTimestamp, UnparsableTextIsReturnedUnchanged) {
  EXPECT_EQ(iso_timestamp("infinity"), "infinity");
  EXPECT_EQ(iso_timestamp("-infinity"), "-infinity");
  EXPECT_EQ(iso_timestamp("0044-03-15 12:00:00+00 BC"), "0044-03-15 12:00:00+00 BC");
  EXPECT_EQ(iso_timestamp(""), "");
}

}  // namespace
}  // namespace cdc::sinks
