// The pgoutput decoder on hand-built protocol version 1 messages: every
// message type, tuple kinds, relation cache, and every malformed message.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cdc/decode/pgoutput/pgoutput.hpp"
#include "support/decoded_changes.hpp"
#include "support/pgoutput_messages.hpp"

namespace cdc::decode {
namespace {

using testing::CollectedChanges;
using testing::customer_relation;
using testing::kCustomer;
using testing::kPosition;
using testing::kUnixUsAt2000;
using testing::kPlans;
using testing::kUuid;
using testing::Msg;

std::string begin_msg(Lsn final_lsn, std::int64_t pg_time, std::uint32_t xid) {
  return Msg('B').i64(static_cast<std::int64_t>(final_lsn)).i64(pg_time).i32(static_cast<std::int32_t>(xid));
}

std::string commit_msg(Lsn commit_lsn, Lsn end_lsn, std::int64_t pg_time) {
  return Msg('C').u8(0).i64(static_cast<std::int64_t>(commit_lsn)).i64(static_cast<std::int64_t>(end_lsn)).i64(pg_time);
}

std::string plans_relation() {
  return Msg('R').i32(kPlans).str("public").str("plans").u8('f').i16(2)
      .u8(1).str("id").i32(20).i32(-1)
      .u8(1).str("price").i32(1700).i32((10 << 16 | 2) + 4);
}


class PgoutputDecoderTest : public ::testing::Test {
 protected:
  std::vector<Change> decode(const std::string& payload, Lsn position = kPosition) {
    CollectedChanges out;
    decoder.decode(payload, position, out);
    return {out.changes.begin(), out.changes.end()};
  }
  void start_transaction() {
    decode(begin_msg(0x3000, 100, 731));
    decode(customer_relation());
  }

  PgoutputDecoder decoder{DecoderSettings{.plugin = "pgoutput"}};
};

TEST_F(PgoutputDecoderTest, StartOptions) {
  const PgoutputDecoder text(DecoderSettings{.plugin = "pgoutput", .publication = "My \"Pub\""});
  EXPECT_EQ(text.start_options({"public.customer"}),
            (PluginOptions{{"proto_version", "1"}, {"publication_names", "\"My \"\"Pub\"\"\""}, {"messages", "true"}}));
  const PgoutputDecoder binary(DecoderSettings{.plugin = "pgoutput", .binary = true});
  EXPECT_EQ(binary.start_options({}), (PluginOptions{{"proto_version", "1"},
                                                     {"publication_names", "\"customer_cdc\""},
                                                     {"binary", "true"},
                                                     {"messages", "true"}}));
  EXPECT_EQ(binary.plugin(), "pgoutput");
  EXPECT_EQ(make_decoder(DecoderSettings{.plugin = "pgoutput"})->plugin(), "pgoutput");
}

TEST_F(PgoutputDecoderTest, BeginAndCommit) {
  const auto begin = decode(begin_msg(0x2B115C0, 817'000'000'000'000, 830));
  ASSERT_EQ(begin.size(), 1u);
  EXPECT_EQ(begin[0].action, Action::Begin);
  EXPECT_EQ(begin[0].xid, 830u);
  EXPECT_EQ(begin[0].lsn, 0x2B115C0u);
  EXPECT_EQ(begin[0].next_lsn, 0u);
  EXPECT_EQ(begin[0].timestamp_us, 817'000'000'000'000 + kUnixUsAt2000);
  const auto commit = decode(commit_msg(0x2B115C0, 0x2B115F0, 817'000'000'000'000));
  ASSERT_EQ(commit.size(), 1u);
  EXPECT_EQ(commit[0].action, Action::Commit);
  EXPECT_EQ(commit[0].xid, 830u);  // from the Begin
  EXPECT_EQ(commit[0].lsn, 0x2B115C0u);
  EXPECT_EQ(commit[0].next_lsn, 0x2B115F0u);
  EXPECT_EQ(commit[0].timestamp_us, 817'000'000'000'000 + kUnixUsAt2000);
  EXPECT_TRUE(decoder.bounds_transaction(begin_msg(1, 2, 3)));
  EXPECT_TRUE(decoder.bounds_transaction(commit_msg(1, 2, 3)));
  EXPECT_FALSE(decoder.bounds_transaction(std::string(Msg('I').i32(1))));
  EXPECT_FALSE(decoder.bounds_transaction(""));
}

TEST_F(PgoutputDecoderTest, RelationTypeAndOriginMakeNoChange) {
  EXPECT_TRUE(decode(customer_relation()).empty());
  EXPECT_TRUE(decode(Msg('Y').i32(16500).str("public").str("mood")).empty());
  EXPECT_TRUE(decode(Msg('O').i64(0x1234).str("upstream")).empty());
}

TEST_F(PgoutputDecoderTest, InsertWithTextValuesAndNull) {
  start_transaction();
  const auto changes = decode(Msg('I').i32(kCustomer).u8('N').i16(4).text(kUuid).text("a@b.c").null().text(R"({"x": 1})"));
  ASSERT_EQ(changes.size(), 1u);
  const Change& c = changes[0];
  EXPECT_EQ(c.action, Action::Insert);
  EXPECT_EQ(c.xid, 731u);
  EXPECT_EQ(c.lsn, kPosition);
  EXPECT_EQ(c.timestamp_us, 100 + kUnixUsAt2000);
  EXPECT_EQ(c.schema, "public");
  EXPECT_EQ(c.table, "customer");
  EXPECT_TRUE(c.identity.empty());
  ASSERT_EQ(c.columns.size(), 4u);
  EXPECT_EQ(c.columns[0], (Column{"uuid", "uuid", ValueKind::String, kUuid}));
  EXPECT_EQ(c.columns[1], (Column{"email", "character varying(255)", ValueKind::String, "a@b.c"}));
  EXPECT_EQ(c.columns[2], (Column{"plan_id", "bigint", ValueKind::Null, ""}));
  EXPECT_EQ(c.columns[3], (Column{"remaining_resources", "jsonb", ValueKind::String, R"({"x": 1})"}));
}

TEST_F(PgoutputDecoderTest, NumbersBooleansAndByteaFollowTheWal2jsonRules) {
  decode(Msg('R').i32(1).str("public").str("t").u8('d').i16(5)
             .u8(1).str("n").i32(1700).i32(-1).u8(0).str("f").i32(701).i32(-1).u8(0).str("b").i32(16).i32(-1)
             .u8(0).str("by").i32(17).i32(-1).u8(0).str("i").i32(23).i32(-1));
  auto c = decode(Msg('I').i32(1).u8('N').i16(5).text("-1.50").text("NaN").text("t").text("\\x00ff").text("7"))[0];
  EXPECT_EQ(c.columns[0], (Column{"n", "numeric", ValueKind::Number, "-1.50"}));
  EXPECT_EQ(c.columns[1], (Column{"f", "double precision", ValueKind::Null, ""}));
  EXPECT_EQ(c.columns[2], (Column{"b", "boolean", ValueKind::Bool, "true"}));
  EXPECT_EQ(c.columns[3], (Column{"by", "bytea", ValueKind::String, "00ff"}));
  EXPECT_EQ(c.columns[4], (Column{"i", "integer", ValueKind::Number, "7"}));
  c = decode(Msg('I').i32(1).u8('N').i16(5).text("-Infinity").text("1e+300").text("f").null().text("0"))[0];
  EXPECT_TRUE(c.columns[0].is_null());
  EXPECT_EQ(c.columns[1].text, "1e+300");
  EXPECT_EQ(c.columns[2].text, "false");
  EXPECT_THROW(decode(Msg('I').i32(1).u8('N').i16(5).text("12abc").null().null().null().null()), DecodeError);
}

TEST_F(PgoutputDecoderTest, BinaryValues) {
  decode(plans_relation());
  // id 7 (int8), price 12.50 (numeric: 2 digits, weight 0, positive, dscale 2: 12 | 5000)
  const std::string id("\0\0\0\0\0\0\0\x07", 8);
  const std::string price("\0\x02\0\0\0\0\0\x02\0\x0c\x13\x88", 12);
  const auto c = decode(Msg('I').i32(kPlans).u8('N').i16(2).binary(id).binary(price))[0];
  EXPECT_EQ(c.columns[0], (Column{"id", "bigint", ValueKind::Number, "7"}));
  EXPECT_EQ(c.columns[1], (Column{"price", "numeric(10,2)", ValueKind::Number, "12.50"}));
  try {
    decode(Msg('I').i32(kPlans).u8('N').i16(2).binary(id).binary("\x01"));
    FAIL() << "a short numeric was accepted";
  } catch (const DecodeError& e) {
    EXPECT_EQ(e.wal_position(), kPosition);
    EXPECT_NE(e.reason().find("price"), std::string::npos) << e.reason();
  }
}

TEST_F(PgoutputDecoderTest, UpdateUnderFullIdentityFillsUnchangedToastFromTheOldRow) {
  start_transaction();
  Msg m('U');
  m.i32(kCustomer);
  m.u8('O').customer_row("old@b.c", R"({"api_calls": 5})");
  m.u8('N').i16(4).text(kUuid).text("new@b.c").unchanged().text(R"({"api_calls": 4})");
  const auto changes = decode(m);
  ASSERT_EQ(changes.size(), 1u);
  const Change& c = changes[0];
  EXPECT_EQ(c.action, Action::Update);
  ASSERT_EQ(c.identity.size(), 4u);
  EXPECT_EQ(c.identity[1].text, "old@b.c");
  // The unchanged column goes after the sent ones, as Wal2jsonDecoder puts it.
  ASSERT_EQ(c.columns.size(), 4u);
  EXPECT_EQ(c.columns[2].name, "remaining_resources");
  EXPECT_EQ(c.columns[3], (Column{"plan_id", "bigint", ValueKind::Number, "2"}));
}

TEST_F(PgoutputDecoderTest, UpdateAndDeleteUnderKeyIdentity) {
  decode(customer_relation('d'));
  // Key changed: 'K' carries the key columns, the others as NULL.
  auto c = decode(Msg('U').i32(kCustomer).u8('K').i16(4).text("00000000-0000-0000-0000-000000000001").null().null().null()
                      .u8('N').i16(4).text(kUuid).text("a@b.c").text("1").null())[0];
  ASSERT_EQ(c.identity.size(), 1u);
  EXPECT_EQ(c.identity[0], (Column{"uuid", "uuid", ValueKind::String, "00000000-0000-0000-0000-000000000001"}));
  EXPECT_EQ(c.columns.size(), 4u);
  // Key unchanged: no old tuple; the identity is the new row's key.
  c = decode(Msg('U').i32(kCustomer).u8('N').i16(4).text(kUuid).text("b@b.c").unchanged().null())[0];
  ASSERT_EQ(c.identity.size(), 1u);
  EXPECT_EQ(c.identity[0].text, kUuid);
  EXPECT_EQ(c.columns.size(), 3u);  // no old value for the unchanged TOAST column
  c = decode(Msg('D').i32(kCustomer).u8('K').i16(4).text(kUuid).null().null().null())[0];
  EXPECT_EQ(c.action, Action::Delete);
  EXPECT_TRUE(c.columns.empty());
  ASSERT_EQ(c.identity.size(), 1u);
  EXPECT_EQ(c.identity[0].text, kUuid);
}

TEST_F(PgoutputDecoderTest, DeleteUnderFullIdentity) {
  start_transaction();
  Msg m('D');
  m.i32(kCustomer);
  const auto c = decode(m.u8('O').customer_row("a@b.c", "{}"))[0];
  EXPECT_EQ(c.identity.size(), 4u);
  EXPECT_TRUE(c.columns.empty());
  EXPECT_EQ(c.xid, 731u);
}

TEST_F(PgoutputDecoderTest, TruncateOfSeveralRelations) {
  start_transaction();
  decode(plans_relation());
  const auto changes = decode(Msg('T').i32(2).u8(1 | 2).i32(kCustomer).i32(kPlans));
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].action, Action::Truncate);
  EXPECT_EQ(changes[0].table, "customer");
  EXPECT_EQ(changes[1].table, "plans");
  for (const Change& c : changes) {
    EXPECT_EQ(c.xid, 731u);
    EXPECT_EQ(c.lsn, kPosition);
    EXPECT_TRUE(c.columns.empty());
  }
  EXPECT_THROW(decode(Msg('T').i32(1).u8(0).i32(999)), DecodeError);
}

TEST_F(PgoutputDecoderTest, LogicalMessages) {
  start_transaction();
  auto c = decode(Msg('M').u8(1).i64(0x4000).str("pfx").i32(5).raw("hello"))[0];
  EXPECT_EQ(c.action, Action::Message);
  EXPECT_TRUE(c.transactional);
  EXPECT_EQ(c.xid, 731u);
  EXPECT_EQ(c.timestamp_us, 100 + kUnixUsAt2000);
  EXPECT_EQ(c.lsn, 0x4000u);
  EXPECT_EQ(c.prefix, "pfx");
  EXPECT_EQ(c.content, "hello");
  c = decode(Msg('M').u8(0).i64(0x5000).str("audit").i32(7).raw(std::string("ab\0cdef", 7)))[0];
  EXPECT_FALSE(c.transactional);
  EXPECT_EQ(c.xid, 0u);
  EXPECT_EQ(c.timestamp_us, 0);
  EXPECT_EQ(c.content, "ab");  // wal2json's content ends at a NUL too
}

TEST_F(PgoutputDecoderTest, RelationChangeMidStreamReplacesTheCacheEntry) {
  start_transaction();
  EXPECT_THROW(decode(Msg('I').i32(kCustomer).u8('N').i16(5).text(kUuid).text("a").text("1").null().text("n")),
               DecodeError);
  decode(customer_relation('f', true));  // ALTER TABLE ... ADD COLUMN note text
  const auto c = decode(Msg('I').i32(kCustomer).u8('N').i16(5).text(kUuid).text("a").text("1").null().text("n"))[0];
  ASSERT_EQ(c.columns.size(), 5u);
  EXPECT_EQ(c.columns[4], (Column{"note", "text", ValueKind::String, "n"}));
  EXPECT_THROW(decode(Msg('I').i32(kCustomer).u8('N').i16(4).text(kUuid).text("a").text("1").null()), DecodeError);
}

TEST_F(PgoutputDecoderTest, ResetForgetsRelations) {
  start_transaction();
  decoder.reset();
  try {
    decode(Msg('I').i32(kCustomer).u8('N').i16(4).text(kUuid).text("a").text("1").null());
    FAIL() << "a change of a forgotten relation was accepted";
  } catch (const DecodeError& e) {
    EXPECT_NE(e.reason().find("no Relation message"), std::string::npos) << e.reason();
  }
}

TEST_F(PgoutputDecoderTest, UserTypesAreNamedByTheirTypeMessage) {
  decode(Msg('Y').i32(16500).str("public").str("mood"));
  decode(Msg('Y').i32(16501).str("billing").str("_currency"));
  decode(Msg('R').i32(2).str("public").str("t").u8('d').i16(2).u8(1).str("m").i32(16500).i32(-1)
             .u8(0).str("c").i32(16501).i32(-1));
  const auto c = decode(Msg('I').i32(2).u8('N').i16(2).text("happy").text("{EUR}"))[0];
  EXPECT_EQ(c.columns[0].type, "mood");
  EXPECT_EQ(c.columns[1].type, "billing.currency[]");
  EXPECT_THROW(decode(Msg('R').i32(3).str("public").str("u").u8('d').i16(1).u8(1).str("x").i32(16999).i32(-1)),
               DecodeError);
}

/// Every proper prefix of a valid message, and the message with a byte too
/// many, is a DecodeError naming the position.
void expect_every_truncation_rejected(PgoutputDecoder& decoder, const std::string& message) {
  for (std::size_t n = 0; n < message.size(); ++n) {
    CollectedChanges out;
    try {
      decoder.decode(message.substr(0, n), kPosition, out);
      ADD_FAILURE() << "prefix of " << n << " of " << message.size() << " bytes accepted (type " << message[0] << ")";
    } catch (const DecodeError& e) {
      EXPECT_EQ(e.wal_position(), kPosition);
      EXPECT_EQ(std::string(e.what()).rfind("cannot decode pgoutput message at WAL 16/B374D848: ", 0), 0u) << e.what();
    }
  }
  CollectedChanges out;
  EXPECT_THROW(decoder.decode(message + 'x', kPosition, out), DecodeError) << "type " << message[0];
}

TEST_F(PgoutputDecoderTest, EveryTruncatedMessageIsADecodeError) {
  start_transaction();
  decode(plans_relation());
  Msg update('U');
  update.i32(kCustomer);
  update.u8('O').customer_row("old@b.c", "{}");
  update.u8('N').customer_row("new@b.c", "{}");
  Msg del('D');
  del.i32(kCustomer);
  del.u8('O').customer_row("old@b.c", "{}");
  const std::string id("\0\0\0\0\0\0\0\x07", 8);
  const std::string price("\0\x02\0\0\0\0\0\x02\0\x0c\x13\x88", 12);
  for (const std::string& message : std::vector<std::string>{
           begin_msg(1, 2, 3), commit_msg(1, 2, 3), customer_relation(), plans_relation(),
           Msg('Y').i32(16500).str("public").str("mood"), Msg('O').i64(1).str("origin"),
           Msg('I').i32(kCustomer).u8('N').customer_row("a@b.c", "{}"), update, del,
           Msg('T').i32(2).u8(0).i32(kCustomer).i32(kPlans), Msg('M').u8(1).i64(1).str("p").i32(2).raw("hi"),
           Msg('I').i32(kPlans).u8('N').i16(2).binary(id).binary(price)}) {
    expect_every_truncation_rejected(decoder, message);
  }
}

TEST_F(PgoutputDecoderTest, MalformedMessages) {
  start_transaction();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {Msg('Z'), "unknown message type"},
      {begin_msg(1, 0x7FFFFFFFFFFFFFFF, 3), "commit timestamp 9223372036854775807 out of range"},
      {commit_msg(1, 2, -0x7FFFFFFFFFFFFFFF), "out of range"},
      {commit_msg(1, 2, 9'223'371'018'930'750'440), "out of range"},  // valid in PostgreSQL, beyond Unix int64 µs
      {Msg('I').i32(kCustomer).u8('X').i16(4), "expected the new tuple marker"},
      {Msg('I').i32(kCustomer).u8('N').i16(3).text(kUuid).text("a").text("1"), "tuple has 3 columns"},
      {Msg('I').i32(kCustomer).u8('N').i16(4).text(kUuid).u8('q'), "unknown kind"},
      {Msg('I').i32(kCustomer).u8('N').i16(4).u8('t').i32(-5), "negative length"},
      {Msg('I').i32(kCustomer).u8('N').i16(4).u8('t').i32(1 << 30).raw("x"), "message ends inside"},
      {Msg('D').i32(kCustomer).u8('N').i16(4).text(kUuid).null().null().null(), "Delete without an old key"},
      {Msg('T').i32(-1).u8(0), "Truncate of -1 relations"},
      {Msg('T').i32(1).u8(8).i32(kCustomer), "unknown truncate options"},
      {Msg('M').u8(4).i64(1).str("p").i32(0), "unknown message flags"},
      {Msg('M').u8(1).i64(1).str("p").i32(-1), "negative length"},
      {Msg('R').i32(5).str("public").str("t").u8('d').i16(-1), "negative column count"},
  };
  for (const auto& [message, reason] : cases) {
    try {
      decode(message);
      ADD_FAILURE() << "accepted: " << reason;
    } catch (const DecodeError& e) {
      EXPECT_EQ(e.wal_position(), kPosition);
      EXPECT_NE(e.reason().find(reason), std::string::npos) << e.reason();
    }
  }
}

TEST_F(PgoutputDecoderTest, RecycledChangesAreOverwrittenCompletely) {
  start_transaction();
  const std::string insert = Msg('I').i32(kCustomer).u8('N').customer_row("a@b.c", "{}");
  const Change fresh = decode(insert)[0];
  struct Recycled : ChangeOutput {
    Change& next_change(bool) override { return change; }
    Change change;
  } recycled;
  recycled.change.action = Action::Message;
  recycled.change.next_lsn = 99;
  recycled.change.prefix = "stale";
  recycled.change.identity.resize(7, Column{"x", "text", ValueKind::String, "stale"});
  recycled.change.columns.resize(9, Column{"y", "text", ValueKind::String, "stale"});
  decoder.decode(insert, kPosition, recycled);
  EXPECT_EQ(testing::comparable({recycled.change}), testing::comparable({fresh}));
  EXPECT_TRUE(recycled.change.identity.empty());
  EXPECT_TRUE(recycled.change.prefix.empty());
  EXPECT_EQ(recycled.change.next_lsn, 0u);
}

}  // namespace
}  // namespace cdc::decode
