// Tests for dead-letter records (src/sinks/dead_letter.cpp) and the wal2json
// re-encoding of rejected changes (src/decode/encode.cpp).
#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include "cdc/decode/wal2json/wal2json.hpp"
#include "cdc/sinks/dead_letter.hpp"
#include "cdc/sinks/postgres/dead_letter_table.hpp"
#include "support/columns.hpp"

namespace cdc::sinks {
namespace {

TEST(DeadLetter, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\0\xff\xfe", 3)), "AP/+");
}

TEST(DeadLetter, PrintableUtf8KeepsValidTextAndReplacesTheRest) {
  EXPECT_EQ(printable_utf8("plain ascii"), "plain ascii");
  EXPECT_EQ(printable_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(printable_utf8(std::string("a\0b", 3)), "a?b");
  EXPECT_EQ(printable_utf8("\xff\xc3"), "??");           // invalid lead, truncated sequence
  EXPECT_EQ(printable_utf8("\xc0\xaf"), "??");           // overlong '/'
  EXPECT_EQ(printable_utf8("\xed\xa0\x80"), "???");      // UTF-16 surrogate
}

TEST(DeadLetter, TableParametersCarryPositionsAndRawBytesAsBase64) {
  const TxnInfo txn{777, 0x2000, 0x2038, 1'700'000'000'123'456};
  const DeadLetter letter{0x1F00, "unexpected token", std::string("{\"action\":\"I\"\0", 14)};
  const pg::Params params = dead_letter_params("slot_a", txn, letter);
  ASSERT_EQ(params.size(), 7u);
  EXPECT_EQ(params[0], "slot_a");
  EXPECT_EQ(params[1], "0/1F00");
  EXPECT_EQ(params[2], "777");
  EXPECT_EQ(params[3], "2023-11-14 22:13:20.123456+00");
  EXPECT_EQ(params[4], "unexpected token");
  EXPECT_EQ(params[5], base64_encode(letter.raw));
  EXPECT_EQ(params[6], "0/2000");
}

TEST(DeadLetter, KafkaMessageHoldsRawTextOrBase64) {
  const TxnInfo txn{777, 0x2000, 0x2038, 1'700'000'000'123'456};
  rapidjson::Document text;
  text.Parse(dead_letter_message(txn, DeadLetter{0x1F00, "bad", "{\"action\":\"I\","}, "app").c_str());
  ASSERT_FALSE(text.HasParseError());
  EXPECT_STREQ(text["lsn"].GetString(), "0/1F00");
  EXPECT_STREQ(text["commitLsn"].GetString(), "0/2000");
  EXPECT_EQ(text["txId"].GetUint(), 777u);
  EXPECT_EQ(text["ts_ms"].GetInt64(), 1'700'000'000'123);
  EXPECT_STREQ(text["db"].GetString(), "app");
  EXPECT_STREQ(text["reason"].GetString(), "bad");
  EXPECT_STREQ(text["raw"].GetString(), "{\"action\":\"I\",");
  EXPECT_FALSE(text.HasMember("raw_base64"));

  rapidjson::Document binary;
  binary.Parse(dead_letter_message(txn, DeadLetter{0x1F00, "bad \xff", "\xff\xfe{"}, "app").c_str());
  ASSERT_FALSE(binary.HasParseError());
  EXPECT_FALSE(binary.HasMember("raw"));
  EXPECT_STREQ(binary["raw_base64"].GetString(), "//57");
  EXPECT_STREQ(binary["reason"].GetString(), "bad ?");
}

TEST(DeadLetter, BeginAndCommitAreRecognisedEvenWhenBroken) {
  using decode::is_transaction_frame;
  EXPECT_TRUE(is_transaction_frame("{\"action\":\"B\",\"xid\":"));
  EXPECT_TRUE(is_transaction_frame("{\"action\": \"C\",\"xid\":12,\"lsn\""));
  EXPECT_FALSE(is_transaction_frame("{\"action\":\"U\",\"xid\":12,garbage"));
  EXPECT_FALSE(is_transaction_frame("{\"action\":\"I\""));
  EXPECT_FALSE(is_transaction_frame("garbage"));
  EXPECT_FALSE(is_transaction_frame(""));
  EXPECT_FALSE(is_transaction_frame("{\"xid\":1,\"action\":\"C\"}"));  // not where wal2json puts it
}

TEST(EncodeWal2json, RowChangeRoundTripsThroughTheDecoder) {
  decode::Change change = testing::row_change(
      decode::Action::Update, "customer",
      {testing::uuid_column("0b6c\"x"), testing::number_column("plan_id", "12345678901234567890"),
       testing::bool_column("active", true), testing::null_column("note", "text")},
      {testing::uuid_column("old")}, 0x16B3748, 4242);
  change.timestamp_us = 1'700'000'000'123'456;
  const std::string json = decode::describe_change(change);
  const decode::Change back = decode::decode_wal2json(json, 0x16B3748);
  EXPECT_EQ(back.action, change.action);
  EXPECT_EQ(back.lsn, change.lsn);
  EXPECT_EQ(back.xid, 4242u);
  EXPECT_EQ(back.timestamp_us, change.timestamp_us);
  EXPECT_EQ(back.schema, "public");
  EXPECT_EQ(back.table, "customer");
  EXPECT_EQ(back.columns, change.columns);
  EXPECT_EQ(back.identity, change.identity);
}

}  // namespace
}  // namespace cdc::sinks
