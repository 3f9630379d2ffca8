// Tests for the streaming replication wire format (src/stream/wire.cpp) and the
// START_REPLICATION command text (src/stream/replication_stream.cpp).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "cdc/stream/replication_stream.hpp"
#include "cdc/stream/wire.hpp"

namespace cdc::stream {
namespace {

void put_be64(std::string& out, std::uint64_t value) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xffu));
}

std::uint64_t get_be64(std::string_view bytes, std::size_t offset) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[offset + i]);
  return value;
}

std::string xlogdata(std::uint64_t start, std::uint64_t end, std::int64_t send_time, std::string_view payload) {
  std::string out = "w";
  put_be64(out, start);
  put_be64(out, end);
  put_be64(out, static_cast<std::uint64_t>(send_time));
  out.append(payload);
  return out;
}

std::string keepalive(std::uint64_t end, std::int64_t send_time, unsigned char reply) {
  std::string out = "k";
  put_be64(out, end);
  put_be64(out, static_cast<std::uint64_t>(send_time));
  out.push_back(static_cast<char>(reply));
  return out;
}

TEST(Wire, ParsesXLogData) {
  const std::string payload = R"({"action":"B","xid":42})";
  const std::string bytes = xlogdata(0x16B374D848ULL, 0x0102030405060708ULL, 0x00000A0B0C0D0E0FLL, payload);
  ASSERT_EQ(bytes.size(), 25 + payload.size());
  const CopyMessage message = parse_copy_message(bytes);
  ASSERT_TRUE(std::holds_alternative<XLogData>(message));
  const auto& data = std::get<XLogData>(message);
  EXPECT_EQ(data.wal_start, 0x16B374D848ULL);
  EXPECT_EQ(data.wal_end, 0x0102030405060708ULL);
  EXPECT_EQ(data.send_time, 0x00000A0B0C0D0E0FLL);
  EXPECT_EQ(data.payload, payload);
  // The payload is a view into the parsed buffer, not a copy.
  EXPECT_EQ(data.payload.data(), bytes.data() + 25);
}

TEST(Wire, ParsesXLogDataWithHighBitsSet) {
  // Bytes >= 0x80 must not be sign-extended when assembled.
  const std::string bytes = xlogdata(0xFFFFFFFF'FFFFFF80ULL, 0x80000000'00000000ULL, -2, "x");
  const auto data = std::get<XLogData>(parse_copy_message(bytes));
  EXPECT_EQ(data.wal_start, 0xFFFFFFFF'FFFFFF80ULL);
  EXPECT_EQ(data.wal_end, 0x80000000'00000000ULL);
  EXPECT_EQ(data.send_time, -2);
  EXPECT_EQ(data.payload, "x");
}

TEST(Wire, ParsesXLogDataWithEmptyPayload) {
  const std::string bytes = xlogdata(1, 2, 3, "");
  ASSERT_EQ(bytes.size(), 25u);
  const CopyMessage message = parse_copy_message(bytes);
  ASSERT_TRUE(std::holds_alternative<XLogData>(message));
  const auto& data = std::get<XLogData>(message);
  EXPECT_EQ(data.wal_start, 1u);
  EXPECT_EQ(data.wal_end, 2u);
  EXPECT_EQ(data.send_time, 3);
  EXPECT_TRUE(data.payload.empty());
}

TEST(Wire, PayloadMayContainNulBytes) {
  const std::string payload("a\0b", 3);
  const std::string bytes = xlogdata(1, 2, 3, payload);  // the parsed view points into it
  const auto data = std::get<XLogData>(parse_copy_message(bytes));
  EXPECT_EQ(data.payload.size(), 3u);
  EXPECT_EQ(data.payload, payload);
}

TEST(Wire, TruncatedXLogDataHeaderThrows) {
  const std::string full = xlogdata(0x1111111111111111ULL, 0x2222222222222222ULL, 0x3333333333333333LL, "");
  ASSERT_EQ(full.size(), 25u);
  for (std::size_t length = 0; length <= 24; ++length) {
    EXPECT_THROW(parse_copy_message(std::string_view(full).substr(0, length)), WireError) << length;
  }
  EXPECT_NO_THROW(parse_copy_message(full));
}

TEST(Wire, TruncatedXLogDataMessageSaysSo) {
  try {
    parse_copy_message(std::string_view("w\0\0\0", 4));
    FAIL() << "no exception";
  } catch (const WireError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

TEST(Wire, ParsesKeepalive) {
  const auto message = parse_copy_message(keepalive(0x16B374D848ULL, 123456789, 1));
  ASSERT_TRUE(std::holds_alternative<Keepalive>(message));
  const auto& k = std::get<Keepalive>(message);
  EXPECT_EQ(k.wal_end, 0x16B374D848ULL);
  EXPECT_EQ(k.send_time, 123456789);
  EXPECT_TRUE(k.reply_requested);

  const auto no_reply = std::get<Keepalive>(parse_copy_message(keepalive(7, 8, 0)));
  EXPECT_EQ(no_reply.wal_end, 7u);
  EXPECT_EQ(no_reply.send_time, 8);
  EXPECT_FALSE(no_reply.reply_requested);
}

TEST(Wire, KeepaliveOfWrongLengthThrows) {
  const std::string good = keepalive(1, 2, 1);
  ASSERT_EQ(good.size(), 18u);
  EXPECT_THROW(parse_copy_message(std::string_view(good).substr(0, 17)), WireError);
  EXPECT_THROW(parse_copy_message(good + '\0'), WireError);
  EXPECT_THROW(parse_copy_message("k"), WireError);
}

TEST(Wire, EmptyMessageThrows) {
  EXPECT_THROW(parse_copy_message(std::string_view()), WireError);
}

TEST(Wire, UnknownTypeThrowsNamingTheType) {
  std::string bytes = xlogdata(1, 2, 3, "payload");
  bytes[0] = 'Z';  // 0x5a
  try {
    parse_copy_message(bytes);
    FAIL() << "no exception";
  } catch (const WireError& e) {
    EXPECT_NE(std::string(e.what()).find("0x5a"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_copy_message(std::string_view("\0", 1)), WireError);
  EXPECT_THROW(parse_copy_message("r"), WireError);  // a status update is client -> server only
}

TEST(Wire, StatusUpdateLayout) {
  const std::string bytes =
      build_status_update(0x0102030405060708ULL, 0x16B374D848ULL, 0xFFFFFFFF'00000001ULL, 0x0A0B0C0D0E0F1011LL, true);
  ASSERT_EQ(bytes.size(), 34u);
  EXPECT_EQ(bytes[0], 'r');
  EXPECT_EQ(get_be64(bytes, 1), 0x0102030405060708ULL);
  EXPECT_EQ(get_be64(bytes, 9), 0x16B374D848ULL);
  EXPECT_EQ(get_be64(bytes, 17), 0xFFFFFFFF'00000001ULL);
  EXPECT_EQ(get_be64(bytes, 25), 0x0A0B0C0D0E0F1011ULL);
  EXPECT_EQ(bytes[33], 1);
  // First bytes spelled out, to pin the byte order independently of get_be64.
  EXPECT_EQ(static_cast<unsigned char>(bytes[1]), 0x01);
  EXPECT_EQ(static_cast<unsigned char>(bytes[8]), 0x08);
}

TEST(Wire, StatusUpdateWithoutReplyAndNegativeClock) {
  const std::string bytes = build_status_update(0, 0, 0, -1, false);
  ASSERT_EQ(bytes.size(), 34u);
  EXPECT_EQ(bytes[0], 'r');
  EXPECT_EQ(get_be64(bytes, 1), 0u);
  EXPECT_EQ(get_be64(bytes, 9), 0u);
  EXPECT_EQ(get_be64(bytes, 17), 0u);
  EXPECT_EQ(static_cast<std::int64_t>(get_be64(bytes, 25)), -1);
  EXPECT_EQ(bytes[33], 0);
}

TEST(Wire, PgEpochConversion) {
  EXPECT_EQ(kPgEpochOffsetUs, 946684800000000LL);
  EXPECT_EQ(pg_us_to_unix_us(0), 946684800000000LL);
  EXPECT_EQ(pg_us_to_unix_us(-946684800000000LL), 0);
}

TEST(Wire, PgNowIsSystemClockSinceYear2000) {
  using namespace std::chrono;
  const std::int64_t expected =
      duration_cast<microseconds>(system_clock::now().time_since_epoch()).count() - 946684800LL * 1000000LL;
  const std::int64_t actual = pg_now_us();
  // Loose bound: this checks the epoch offset, not timing.
  EXPECT_LT(std::llabs(actual - expected), 5LL * 1000000LL);
  EXPECT_GT(actual, 0);
}

TEST(StartReplicationCommand, WithoutOptions) {
  EXPECT_EQ(start_replication_command("cdc_slot", 0, {}), "START_REPLICATION SLOT \"cdc_slot\" LOGICAL 0/0");
}

TEST(StartReplicationCommand, WithOptions) {
  const PluginOptions options = {{"format-version", "2"}, {"include-xids", "1"}};
  EXPECT_EQ(start_replication_command("cdc_slot", 0x16B374D848ULL, options),
            "START_REPLICATION SLOT \"cdc_slot\" LOGICAL 16/B374D848 "
            "(\"format-version\" '2', \"include-xids\" '1')");
}

TEST(StartReplicationCommand, QuotesSingleQuotesInValues) {
  const PluginOptions options = {{"add-tables", "public.o'brien"}, {"filter", "''"}};
  EXPECT_EQ(start_replication_command("s", 1, options),
            "START_REPLICATION SLOT \"s\" LOGICAL 0/1 (\"add-tables\" 'public.o''brien', \"filter\" '''''')");
}

TEST(StartReplicationCommand, EmptyValueIsQuoted) {
  EXPECT_EQ(start_replication_command("s", 0, {{"x", ""}}), "START_REPLICATION SLOT \"s\" LOGICAL 0/0 (\"x\" '')");
}

TEST(CreateSlotCommand, PostgreSql15TakesTheSnapshotOption) {
  EXPECT_EQ(create_slot_command("cdc", "wal2json", {}, 150004),
            "CREATE_REPLICATION_SLOT \"cdc\" LOGICAL wal2json (SNAPSHOT 'nothing')");
  EXPECT_EQ(create_slot_command("cdc", "wal2json", {.snapshot = SlotSnapshot::kExport}, 160000),
            "CREATE_REPLICATION_SLOT \"cdc\" LOGICAL wal2json (SNAPSHOT 'export')");
  EXPECT_EQ(create_slot_command("t", "wal2json", {.temporary = true, .snapshot = SlotSnapshot::kUse}, 150000),
            "CREATE_REPLICATION_SLOT \"t\" TEMPORARY LOGICAL wal2json (SNAPSHOT 'use')");
}

TEST(CreateSlotCommand, OlderServersTakeTheSnapshotKeyword) {
  EXPECT_EQ(create_slot_command("t", "wal2json", {.temporary = true}, 140010),
            "CREATE_REPLICATION_SLOT \"t\" TEMPORARY LOGICAL wal2json NOEXPORT_SNAPSHOT");
  EXPECT_EQ(create_slot_command("cdc", "wal2json", {.snapshot = SlotSnapshot::kExport}, 100000),
            "CREATE_REPLICATION_SLOT \"cdc\" LOGICAL wal2json EXPORT_SNAPSHOT");
  EXPECT_EQ(create_slot_command("cdc", "wal2json", {.snapshot = SlotSnapshot::kUse}, 149999),
            "CREATE_REPLICATION_SLOT \"cdc\" LOGICAL wal2json USE_SNAPSHOT");
}

}  // namespace
}  // namespace cdc::stream
