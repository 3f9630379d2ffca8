// Golden fixtures: one workload captured from PostgreSQL 15 through a pgoutput
// slot in text and in binary mode and through a wal2json slot with the
// daemon's options (tests/fixtures/pgoutput/capture.sh). The pgoutput decoder
// must make the same Changes of both modes, and the same as the wal2json
// decoder makes of wal2json's messages.
#include <gtest/gtest.h>

#include <algorithm>

#include "cdc/decode/pgoutput/pgoutput.hpp"
#include "cdc/decode/wal2json/wal2json.hpp"
#include "support/decoded_changes.hpp"

namespace cdc::decode {
namespace {

using testing::comparable;
using testing::decode_all;
using testing::load_plugin_messages;

std::string fixture(const std::string& name) { return std::string(CDC_FIXTURES_DIR) + "/pgoutput/" + name; }

std::vector<Change> decode_pgoutput(const std::string& file, bool binary) {
  PgoutputDecoder decoder(DecoderSettings{.plugin = "pgoutput", .binary = binary});
  return decode_all(decoder, load_plugin_messages(fixture(file), true));
}

std::vector<Change> decode_wal2json_fixture() {
  Wal2jsonDecoder decoder;
  return decode_all(decoder, load_plugin_messages(fixture("workload.wal2json.jsonl"), false));
}

const Change& nth(const std::vector<Change>& changes, Action action, std::string_view table, int n = 0) {
  for (const Change& change : changes) {
    if (change.action == action && change.table == table && n-- == 0) return change;
  }
  throw std::runtime_error("no such change");
}

const Column& column(const std::vector<Column>& columns, std::string_view name) {
  const auto it = std::find_if(columns.begin(), columns.end(), [&](const Column& c) { return c.name == name; });
  if (it == columns.end()) throw std::runtime_error("no column " + std::string(name));
  return *it;
}

TEST(PgoutputFixtures, TextAndBinaryModeGiveIdenticalChanges) {
  const auto text = decode_pgoutput("workload.text.hex", false);
  const auto binary = decode_pgoutput("workload.binary.hex", true);
  ASSERT_GT(text.size(), 40u);
  EXPECT_EQ(comparable(text), comparable(binary));
}

TEST(PgoutputFixtures, SameChangesAsTheWal2jsonDecoder) {
  const auto expected = comparable(decode_wal2json_fixture());
  const auto text = comparable(decode_pgoutput("workload.text.hex", false));
  ASSERT_EQ(text.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(text[i], expected[i]) << "change #" << i;
}

TEST(PgoutputFixtures, TransactionBoundsCarryTheCommitPositions) {
  const auto changes = decode_pgoutput("workload.text.hex", false);
  // First transaction: xid 866, commit record at 0/22BB038, ends at 0/22BB068.
  const Change& begin = changes.front();
  EXPECT_EQ(begin.action, Action::Begin);
  EXPECT_EQ(begin.xid, 866u);
  EXPECT_EQ(begin.lsn, *parse_lsn("0/22BB038"));
  EXPECT_EQ(begin.next_lsn, 0u);
  const Change& commit = changes[2];
  EXPECT_EQ(commit.action, Action::Commit);
  EXPECT_EQ(commit.xid, 866u);
  EXPECT_EQ(commit.lsn, *parse_lsn("0/22BB038"));
  EXPECT_EQ(commit.next_lsn, *parse_lsn("0/22BB068"));
  EXPECT_EQ(commit.timestamp_us, begin.timestamp_us);
  EXPECT_EQ(changes[1].xid, 866u);
  EXPECT_EQ(changes[1].lsn, *parse_lsn("0/22BAC48"));
}

TEST(PgoutputFixtures, ValuesOfTheCapturedTypes) {
  const auto changes = decode_pgoutput("workload.binary.hex", true);
  const Change& first = nth(changes, Action::Insert, "types", 0);
  EXPECT_EQ(column(first.columns, "n").type, "numeric");
  EXPECT_EQ(column(first.columns, "n2").type, "numeric(14,4)");
  EXPECT_EQ(column(first.columns, "n2").text, "12.3400");
  EXPECT_EQ(column(first.columns, "n2").kind, ValueKind::Number);
  EXPECT_EQ(column(first.columns, "vc").type, "character varying(20)");
  EXPECT_EQ(column(first.columns, "c").type, "character(3)");
  EXPECT_EQ(column(first.columns, "c").text, "ab ");
  EXPECT_EQ(column(first.columns, "ts3").type, "timestamp(3) with time zone");
  EXPECT_EQ(column(first.columns, "ta").type, "text[]");
  EXPECT_EQ(column(first.columns, "ta").text,
            R"({a,"b c","",NULL,"NULL","q\"uote","back\\slash","{x}"})");
  EXPECT_EQ(column(first.columns, "by").text, "00ff10");
  EXPECT_EQ(column(first.columns, "b").kind, ValueKind::Bool);
  EXPECT_EQ(column(first.columns, "b").text, "true");
  EXPECT_EQ(column(first.columns, "f8").text, "1.5e+300");
  EXPECT_EQ(column(first.columns, "ts").text, "2026-11-25 07:13:13.96169+00");
  EXPECT_EQ(column(first.columns, "tz").text, "07:13:13+05:30");
  const Change& second = nth(changes, Action::Insert, "types", 1);
  EXPECT_TRUE(column(second.columns, "n").is_null());  // NaN: null, as wal2json writes it
  EXPECT_EQ(column(second.columns, "ts").text, "infinity");
  EXPECT_EQ(column(second.columns, "tsn").text, "0001-01-01 00:00:00 BC");
  EXPECT_EQ(column(second.columns, "ia").text, "{{1,2},{3,4}}");
  const Change& third = nth(changes, Action::Insert, "types", 2);
  EXPECT_EQ(column(third.columns, "ta").text, "[0:1]={a,b}");
  EXPECT_EQ(column(third.columns, "f8").text, "5e-324");
}

TEST(PgoutputFixtures, UnchangedToastComesFromTheOldRow) {
  const auto changes = decode_pgoutput("workload.text.hex", false);
  const Change& update = nth(changes, Action::Update, "toasty");
  ASSERT_EQ(update.columns.size(), 3u);
  EXPECT_EQ(update.columns[1].text, "after");
  EXPECT_EQ(update.columns[2].name, "big");  // appended after the sent columns, as the wal2json path does
  EXPECT_EQ(update.columns[2].text.size(), 400u * 32);
  EXPECT_EQ(update.columns[2].text, column(update.identity, "big").text);
}

TEST(PgoutputFixtures, KeyIdentityAndRelationChangeMidStream) {
  const auto changes = decode_pgoutput("workload.text.hex", false);
  // Default replica identity: an update of the key sends the old key only.
  const Change& key_update = nth(changes, Action::Update, "keyed", 1);
  ASSERT_EQ(key_update.identity.size(), 1u);
  EXPECT_EQ(key_update.identity[0].text, "1");
  EXPECT_EQ(key_update.column("id")->text, "2");
  const Change& del = nth(changes, Action::Delete, "keyed");
  ASSERT_EQ(del.identity.size(), 1u);
  EXPECT_TRUE(del.columns.empty());
  // After ALTER TABLE ADD COLUMN / ALTER TYPE, a new Relation message: 28 columns, varchar(40).
  const Change& after_alter = nth(changes, Action::Update, "types", 1);
  EXPECT_EQ(after_alter.columns.size(), 28u);
  EXPECT_EQ(after_alter.column("vc")->type, "character varying(40)");
  EXPECT_EQ(after_alter.column("extra")->text, "added");
}

TEST(PgoutputFixtures, OneTruncateChangePerTable) {
  const auto changes = decode_pgoutput("workload.text.hex", false);
  std::vector<std::string> truncated;
  for (const Change& change : changes) {
    if (change.action == Action::Truncate) truncated.push_back(change.schema + "." + change.table);
  }
  EXPECT_EQ(truncated, (std::vector<std::string>{"public.types", "public.toasty"}));
}

}  // namespace
}  // namespace cdc::decode
