// Byte-for-byte golden tests of the Kafka records (KafkaRecords, the path the
// sink takes), without and with schemas (`[kafka] schemas`) and transaction
// metadata: every column type of the fixtures, create, update, delete,
// tombstone, snapshot read, primary key change, truncate, a column added
// mid-stream, audit entries and the transaction topic. Every record of the
// schema form must also pass the Kafka Connect conformance reader
// (tests/support/connect_conformance).
//
// Goldens: tests/fixtures/kafka/golden/<scenario>.<variant>.txt, one block
// per record (topic, key, value; "(tombstone)" for a null value). The
// processing time (the envelope's top-level ts_ms/ts_us/ts_ns) is checked for
// consistency, then written as 1800000000123. Regenerate after a deliberate
// change with CDC_UPDATE_GOLDENS=1 and review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "cdc/decode/wal2json/wal2json.hpp"
#include "cdc/sinks/kafka/records.hpp"
#include "support/columns.hpp"
#include "support/connect_conformance.hpp"

namespace cdc::sinks {
namespace {

using namespace cdc::testing;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<Change> wal2json(const std::string& name) {
  std::istringstream in(read_file(std::string(CDC_FIXTURES_DIR) + "/wal2json/" + name));
  std::vector<Change> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(decode::decode_wal2json(line, 0));
  }
  return out;
}

TxnInfo txn_of(const Change& begin) { return TxnInfo{begin.xid, begin.lsn, begin.next_lsn, begin.timestamp_us}; }

/// The processing time: consistent in its three units, then fixed.
std::string fixed_now(const std::string& value, std::vector<std::string>& problems) {
  static const std::regex kNow(R"("ts_ms":(\d+),"ts_us":(\d+),"ts_ns":(\d+)(,"transaction"|\}$|\}\}$))");
  std::smatch last;
  for (auto it = std::sregex_iterator(value.begin(), value.end(), kNow); it != std::sregex_iterator(); ++it) last = *it;
  if (last.empty()) {
    problems.push_back("no top-level ts_ms/ts_us/ts_ns: " + value);
    return value;
  }
  const long long ms = std::stoll(last[1]);
  if (std::stoll(last[2]) != ms * 1000 || last[3] != std::to_string(ms) + "000000") {
    problems.push_back("ts_us/ts_ns do not match ts_ms: " + value);
  }
  return value.substr(0, last.position(0)) + R"("ts_ms":1800000000123,"ts_us":1800000000123000,"ts_ns":1800000000123000000)" +
         last[4].str() + value.substr(last.position(0) + last.length(0));
}

class Transcript : public RecordOutput {
 public:
  explicit Transcript(bool schemas) : schemas_(schemas) {}
  void produce(const std::string& topic, std::string_view key, std::optional<std::string_view> value) override {
    text << "topic: " << topic << "\nkey: " << key << "\n";
    if (!value) {
      text << "value: (tombstone)\n\n";
    } else {
      std::string v(*value);
      if (topic.ends_with(".customer") || topic.ends_with(".plans") || topic.ends_with(".t")) v = fixed_now(v, problems);
      text << "value: " << v << "\n\n";
    }
    if (schemas_) {
      check(topic + " key", key);
      if (value) check(topic + " value", *value);
    }
  }
  std::ostringstream text;
  std::vector<std::string> problems;

 private:
  void check(const std::string& what, std::string_view json) {
    if (json.empty()) return;
    for (const std::string& p : connect_conformance(json)) problems.push_back(what + ": " + p + " in " + std::string(json));
  }
  bool schemas_;
};

struct Variant {
  const char* name;
  bool schemas;
  bool transaction_metadata;
};
constexpr Variant kPlain{"plain", false, false};
constexpr Variant kSchemas{"schemas", true, false};
constexpr Variant kPlainTx{"plain_tx", false, true};
constexpr Variant kSchemasTx{"schemas_tx", true, true};

KafkaRecordOptions options(const Variant& variant) {
  KafkaRecordOptions o;
  o.context.db = "app";
  o.primary_keys = {{"public.customer", {"uuid"}}, {"public.plans", {"id"}}, {"public.t", {"id"}}};
  o.schemas = variant.schemas;
  o.transaction_metadata = variant.transaction_metadata;
  // The seed's NOT NULL columns (the daemon asks the catalog).
  o.not_null_columns = [](const std::string& table) -> std::vector<std::string> {
    if (table == "public.customer") return {"uuid", "created_at", "updated_at", "email"};
    if (table == "public.plans") return {"id", "created_at", "updated_at", "name", "price", "benefits", "price_currency"};
    if (table == "public.t") return {"id"};
    return {};
  };
  return o;
}

/// A transaction of the scenario: its changes handed to KafkaRecords between begin and commit.
struct Txn {
  TxnInfo info;
  std::vector<Change> changes;
};

/// Runs the scenario in `variant` and compares with its golden file.
void expect_golden(const std::string& scenario, const Variant& variant, const std::vector<Txn>& txns) {
  Transcript out(variant.schemas);
  KafkaRecords records(options(variant), out);
  for (const Txn& txn : txns) {
    records.begin(txn.info);
    for (const Change& change : txn.changes) records.change(txn.info, change);
    records.commit(txn.info);
  }
  for (const std::string& p : out.problems) ADD_FAILURE() << p;
  const std::string path = std::string(CDC_FIXTURES_DIR) + "/kafka/golden/" + scenario + "." + variant.name + ".txt";
  const std::string actual = out.text.str();
  if (std::getenv("CDC_UPDATE_GOLDENS") != nullptr) {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  EXPECT_EQ(read_file(path), actual) << "differs from " << path;
}

/// The customer workload: B I C, B U(plan) C, B U(resources) C, B U(email) C, B D C.
std::vector<Txn> customer_workload() {
  const std::vector<Change> lines = wal2json("customer_workload.jsonl");
  std::vector<Txn> txns;
  for (std::size_t i = 0; i + 2 < lines.size(); i += 3) txns.push_back({txn_of(lines[i]), {lines[i + 1]}});
  return txns;
}

/// Every column type of the fixtures' public.t, then a truncate of it.
std::vector<Txn> types_and_truncate() {
  const std::vector<Change> insert = wal2json("insert.jsonl");
  const std::vector<Change> truncate = wal2json("truncate.jsonl");
  return {{txn_of(insert[0]), {insert[1]}}, {txn_of(truncate[0]), {truncate[1]}}};
}

/// An update of the customer's primary key (delete + tombstone + create).
std::vector<Txn> primary_key_change() {
  const std::vector<Txn> workload = customer_workload();
  Change update = workload[1].changes[0];
  for (Column& column : update.columns) {
    if (column.name == "uuid") column.text = "0a6c6a8e-7d0b-4f1e-9a55-2c3d4e5f6a7b";
  }
  return {{workload[1].info, {update}}};
}

/// A snapshot read (op "r") of the customer, at a snapshot's consistent point.
std::vector<Txn> snapshot_read() {
  Change read = customer_workload()[0].changes[0];
  read.action = Action::Read;
  return {{TxnInfo{0, 0x2B20000, 0x2B20000, 1795591100000000}, {read}}};
}

/// A column added to the customer table between two changes: the second
/// message's schema has it (optional: not in the NOT NULL list).
std::vector<Txn> column_added() {
  std::vector<Txn> workload = customer_workload();
  Change update = workload[2].changes[0];
  update.columns.push_back(text_column("nickname", "ally"));
  update.identity.push_back(null_column("nickname", "text"));
  return {workload[0], {workload[2].info, {update}}};
}

TEST(KafkaGolden, CustomerWorkload) {
  for (const Variant& v : {kPlain, kSchemas, kPlainTx, kSchemasTx}) expect_golden("customer_workload", v, customer_workload());
}

TEST(KafkaGolden, EveryColumnTypeAndTruncate) {
  for (const Variant& v : {kPlain, kSchemas}) expect_golden("types_truncate", v, types_and_truncate());
}

TEST(KafkaGolden, PrimaryKeyChange) {
  for (const Variant& v : {kPlain, kSchemas, kSchemasTx}) expect_golden("primary_key_change", v, primary_key_change());
}

TEST(KafkaGolden, SnapshotRead) {
  for (const Variant& v : {kPlain, kSchemas, kSchemasTx}) expect_golden("snapshot_read", v, snapshot_read());
}

TEST(KafkaGolden, ColumnAddedMidStream) {
  for (const Variant& v : {kPlain, kSchemas}) expect_golden("column_added", v, column_added());
}

// ---------------------------------------------------------------------------
// The conformance reader itself: it must reject what the JSON converter rejects.

TEST(ConnectConformance, RejectsWhatTheJsonConverterRejects) {
  const auto problems = [](const std::string& json) { return connect_conformance(json); };
  const std::string field = R"({"type":"struct","fields":[{"type":"int32","optional":false,"field":"a"}],"optional":false})";
  EXPECT_TRUE(problems(R"({"schema":)" + field + R"(,"payload":{"a":1}})").empty());
  EXPECT_FALSE(problems(R"({"schema":)" + field + R"(,"payload":{"a":null}})").empty()) << "null for required";
  EXPECT_FALSE(problems(R"({"schema":)" + field + R"(,"payload":{}})").empty()) << "missing required";
  EXPECT_FALSE(problems(R"({"schema":)" + field + R"(,"payload":{"a":"1"}})").empty()) << "string for int32";
  EXPECT_FALSE(problems(R"({"schema":)" + field + R"(,"payload":{"a":4294967296}})").empty()) << "int32 range";
  EXPECT_FALSE(problems(R"({"schema":)" + field + R"(,"payload":{"a":1,"b":2}})").empty()) << "extra member";
  EXPECT_FALSE(problems(R"({"schema":)" + field + R"(,"payload":{"a":1},"x":1})").empty()) << "extra top-level";
  EXPECT_FALSE(problems(R"({"payload":{"a":1}})").empty());
  EXPECT_FALSE(problems(R"({"schema":{"type":"struct","optional":false},"payload":{}})").empty()) << "no fields";
  EXPECT_FALSE(problems(R"({"schema":{"type":"text","optional":false},"payload":"x"})").empty()) << "bad type";
  const std::string uuid = R"({"schema":{"type":"string","optional":false,"name":"io.debezium.data.Uuid","version":1},"payload":)";
  EXPECT_TRUE(problems(uuid + R"("6f1c1d3e-2b4a-4c8e-9f10-3a5b7c9d1e2f"})").empty());
  EXPECT_FALSE(problems(uuid + R"("not-a-uuid"})").empty());
  const std::string json = R"({"schema":{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1},"payload":)";
  EXPECT_TRUE(problems(json + "null}").empty());
  EXPECT_FALSE(problems(json + R"("{oops"})").empty());
  const std::string with_default = R"({"schema":{"type":"string","optional":false,"default":"x"},"payload":null})";
  EXPECT_TRUE(problems(with_default).empty()) << "a default stands in for null";
  EXPECT_TRUE(problems("null").empty()) << "tombstone";
}

}  // namespace
}  // namespace cdc::sinks
