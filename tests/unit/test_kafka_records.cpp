// KafkaRecords: which records (topic, key, value or tombstone) each change,
// snapshot read and dead letter becomes, without a broker. The envelopes
// themselves are covered by test_envelope.cpp.
#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <vector>

#include "cdc/decode/change.hpp"
#include "cdc/sinks/dead_letter.hpp"
#include "cdc/sinks/kafka/records.hpp"

namespace cdc::sinks {
namespace {

using decode::Action;
using decode::Change;
using decode::Column;
using decode::ValueKind;

struct Record {
  std::string topic;
  std::string key;
  std::optional<std::string> value;  ///< nullopt: a tombstone
};

class RecordList : public RecordOutput {
 public:
  void produce(const std::string& topic, std::string_view key, std::optional<std::string_view> value) override {
    records.push_back({topic, std::string(key), value ? std::optional<std::string>(*value) : std::nullopt});
  }
  std::vector<Record> records;
};

constexpr const char* kUuid = "00000000-0000-4000-8000-000000000001";
const TxnInfo kTxn{42, 0x1000, 0x1010, 1795591015218971};

KafkaRecordOptions options() {
  KafkaRecordOptions o;
  o.context.db = "app";
  o.primary_keys = {{"public.customer", {"uuid"}}, {"public.plans", {"id"}}};
  return o;
}

std::vector<Column> customer_row(const std::string& plan_id) {
  return {{"uuid", "uuid", ValueKind::String, kUuid},
          {"plan_id", "bigint", ValueKind::Number, plan_id},
          {"remaining_resources", "jsonb", ValueKind::String, R"({"api_calls": 5})"}};
}

std::vector<Column> plan_row(const std::string& id) {
  return {{"id", "bigint", ValueKind::Number, id}, {"price", "numeric", ValueKind::String, "9.99"}};
}

Change change_of(Action action, const std::string& table, std::vector<Column> columns, std::vector<Column> identity) {
  Change change;
  change.action = action;
  change.xid = kTxn.xid;
  change.lsn = 0x0F00;
  change.schema = "public";
  change.table = table;
  change.columns = std::move(columns);
  change.identity = std::move(identity);
  return change;
}

rapidjson::Document parse(const std::optional<std::string>& json) {
  rapidjson::Document doc;
  EXPECT_TRUE(json.has_value());
  if (json) doc.Parse(json->c_str(), json->size());
  EXPECT_FALSE(doc.HasParseError());
  return doc;
}

std::string op_of(const Record& record) { return parse(record.value)["op"].GetString(); }

/// The envelope without its trailing processing time (ts_ms).
std::string without_now(const std::string& envelope) { return envelope.substr(0, envelope.rfind(",\"ts_ms\":")); }

std::vector<Record> records_of(const Change& change, KafkaRecordOptions o = options()) {
  RecordList out;
  KafkaRecords records(std::move(o), out);
  records.begin();
  records.change(kTxn, change);
  return out.records;
}

TEST(KafkaRecords, InsertGoesToTheTableTopicKeyedByPrimaryKey) {
  const auto records = records_of(change_of(Action::Insert, "plans", plan_row("1"), {}));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].topic, "saas.public.plans");
  EXPECT_EQ(records[0].key, R"({"id":1})");
  EXPECT_EQ(op_of(records[0]), "c");
}

// The producer asks for these topics' metadata at start (Producer::announce_topics).
TEST(KafkaRecords, TopicsAreThoseTheCapturedTablesRecordsGoTo) {
  KafkaRecordOptions o = options();
  o.topic_prefix = "billing";
  o.tables = {"public.customer", "public.plans"};
  RecordList out;
  EXPECT_EQ(KafkaRecords(o, out).topics(),
            (std::vector<std::string>{"billing.public.customer", "billing.public.plans", "billing.audit"}));
  o.audit_topic = false;
  o.transaction_metadata = true;
  EXPECT_EQ(KafkaRecords(o, out).topics(),
            (std::vector<std::string>{"billing.public.customer", "billing.public.plans", "billing.transaction"}));
  // And the records of a captured table do go to its topic.
  KafkaRecords records(o, out);
  records.begin();
  records.change(kTxn, change_of(Action::Insert, "plans", plan_row("1"), {}));
  EXPECT_EQ(out.records.back().topic, "billing.public.plans");
}

TEST(KafkaRecords, DeleteIsFollowedByATombstone) {
  const auto records = records_of(change_of(Action::Delete, "plans", {}, plan_row("1")));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(op_of(records[0]), "d");
  EXPECT_EQ(records[0].key, R"({"id":1})");
  EXPECT_EQ(records[1].topic, "saas.public.plans");
  EXPECT_EQ(records[1].key, R"({"id":1})");
  EXPECT_FALSE(records[1].value.has_value());
}

TEST(KafkaRecords, NoTombstoneWhenTurnedOff) {
  KafkaRecordOptions o = options();
  o.tombstones_on_delete = false;
  const auto records = records_of(change_of(Action::Delete, "plans", {}, plan_row("1")), o);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(op_of(records[0]), "d");
}

TEST(KafkaRecords, NoKeyAndNoTombstoneWithoutAPrimaryKey) {
  KafkaRecordOptions o = options();
  o.primary_keys.clear();
  const auto records = records_of(change_of(Action::Delete, "plans", {}, plan_row("1")), o);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].key, "");
}

TEST(KafkaRecords, UpdateKeepingTheKeyIsOneUpdate) {
  const auto records = records_of(change_of(Action::Update, "plans", plan_row("1"), plan_row("1")));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(op_of(records[0]), "u");
  EXPECT_EQ(records[0].key, R"({"id":1})");
}

TEST(KafkaRecords, PrimaryKeyChangeIsDeleteTombstoneAndCreate) {
  const auto records = records_of(change_of(Action::Update, "plans", plan_row("2"), plan_row("1")));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].key, R"({"id":1})");
  EXPECT_EQ(op_of(records[0]), "d");
  EXPECT_TRUE(parse(records[0].value)["after"].IsNull());
  EXPECT_EQ(records[1].key, R"({"id":1})");
  EXPECT_FALSE(records[1].value.has_value());
  EXPECT_EQ(records[2].key, R"({"id":2})");
  EXPECT_EQ(op_of(records[2]), "c");
  EXPECT_TRUE(parse(records[2].value)["before"].IsNull());
}

TEST(KafkaRecords, PrimaryKeyChangeWithoutTombstonesIsDeleteAndCreate) {
  KafkaRecordOptions o = options();
  o.tombstones_on_delete = false;
  const auto records = records_of(change_of(Action::Update, "plans", plan_row("2"), plan_row("1")), o);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(op_of(records[0]), "d");
  EXPECT_EQ(op_of(records[1]), "c");
}

TEST(KafkaRecords, TruncateHasNoKey) {
  const auto records = records_of(change_of(Action::Truncate, "plans", {}, {}));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].key, "");
  EXPECT_EQ(op_of(records[0]), "t");
}

TEST(KafkaRecords, CustomerChangeAlsoGoesToTheAuditTopic) {
  const Change insert = change_of(Action::Insert, "customer", customer_row("1"), {});
  const auto records = records_of(insert);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].topic, "saas.public.customer");
  EXPECT_EQ(records[1].topic, "saas.audit");
  EXPECT_EQ(records[1].key, kUuid);
  EXPECT_EQ(records[1].value, audit_message(*audit_entry_for(insert), kTxn, insert.lsn));
}

TEST(KafkaRecords, NoAuditRecordWhenTheAuditTopicIsOff) {
  KafkaRecordOptions o = options();
  o.audit_topic = false;
  const auto records = records_of(change_of(Action::Insert, "customer", customer_row("1"), {}), o);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].topic, "saas.public.customer");
}

TEST(KafkaRecords, AuditSourceLsnsCountFromEachBegin) {
  Change first = change_of(Action::Insert, "customer", customer_row("1"), {});
  RecordList out;
  KafkaRecords records(options(), out);
  records.begin();
  records.change(kTxn, first);
  records.change(kTxn, first);  // same LSN again: the next source LSN
  records.begin();
  records.change(kTxn, first);
  ASSERT_EQ(out.records.size(), 6u);
  const auto entry = *audit_entry_for(first);
  EXPECT_EQ(out.records[1].value, audit_message(entry, kTxn, first.lsn));
  EXPECT_EQ(out.records[3].value, audit_message(entry, kTxn, first.lsn + 1));
  EXPECT_EQ(out.records[5].value, audit_message(entry, kTxn, first.lsn));
}

TEST(KafkaRecords, SnapshotReadIsOpRWithoutAuditRecord) {
  const Change read = change_of(Action::Read, "customer", customer_row("1"), {});
  const auto records = records_of(read);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].topic, "saas.public.customer");
  EXPECT_EQ(records[0].key, std::string(R"({"uuid":")") + kUuid + "\"}");
  const rapidjson::Document doc = parse(records[0].value);
  EXPECT_STREQ(doc["op"].GetString(), "r");
  EXPECT_STREQ(doc["source"]["snapshot"].GetString(), "true");
  EXPECT_TRUE(doc["before"].IsNull());
  EXPECT_STREQ(doc["after"]["uuid"].GetString(), kUuid);
  // The same bytes as the envelope of the read alone.
  EXPECT_EQ(without_now(*records[0].value), without_now(debezium_value(read, kTxn, options().context, 0)));
}

TEST(KafkaRecords, DeadLetterIsKeyedByItsWalPosition) {
  RecordList out;
  KafkaRecords records(options(), out);
  const DeadLetter letter{0x16B3748, "invalid JSON", "{\"action\":"};
  records.begin();
  records.dead_letter(kTxn, letter);
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_EQ(out.records[0].topic, "saas.dead_letter");
  EXPECT_EQ(out.records[0].key, R"({"lsn":"0/16B3748"})");
  EXPECT_EQ(out.records[0].value, dead_letter_message(kTxn, letter, "app"));
}

TEST(KafkaRecords, LogicalMessagesMakeNoRecords) {
  EXPECT_TRUE(records_of(change_of(Action::Message, "plans", {}, {})).empty());
}

}  // namespace
}  // namespace cdc::sinks
