// Tests for include/cdc/sinks/copy_text.hpp: COPY text fields and UTC timestamps.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "cdc/sinks/copy_text.hpp"

namespace cdc::sinks {
namespace {

std::string field(const std::optional<std::string_view>& value) {
  std::string line;
  append_copy_field(line, value);
  return line;
}

/// Independent oracle: std::chrono calendar arithmetic.
std::int64_t utc_us(int y, unsigned mo, unsigned d, int h, int mi, int s, int us) {
  using namespace std::chrono;
  const sys_time<microseconds> tp =
      sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s} + microseconds{us};
  return tp.time_since_epoch().count();
}

TEST(CopyText, PlainTextIsUnchanged) {
  EXPECT_EQ(field(std::string_view("hello world")), "hello world");
  EXPECT_EQ(field(std::string_view("{\"a\": 1}")), "{\"a\": 1}");
  EXPECT_EQ(field(std::string_view("it's")), "it's");
}

TEST(CopyText, EmptyStringIsNotNull) {
  EXPECT_EQ(field(std::string_view("")), "");
}

TEST(CopyText, NulloptIsBackslashN) {
  EXPECT_EQ(field(std::nullopt), "\\N");
}

TEST(CopyText, LiteralBackslashNTextIsEscapedAndDistinctFromNull) {
  EXPECT_EQ(field(std::string_view("\\N")), "\\\\N");
}

TEST(CopyText, EscapesSpecialCharacters) {
  EXPECT_EQ(field(std::string_view("a\\b")), "a\\\\b");
  EXPECT_EQ(field(std::string_view("a\tb")), "a\\tb");
  EXPECT_EQ(field(std::string_view("a\nb")), "a\\nb");
  EXPECT_EQ(field(std::string_view("a\rb")), "a\\rb");
  EXPECT_EQ(field(std::string_view("\\\t\n\r")), "\\\\\\t\\n\\r");
}

TEST(CopyText, AppendsToExistingLine) {
  std::string line = "x\t";
  append_copy_field(line, std::string_view("y\tz"));
  line += '\t';
  append_copy_field(line, std::nullopt);
  EXPECT_EQ(line, "x\ty\\tz\t\\N");
}

TEST(CopyText, UnicodeBytesPassThrough) {
  EXPECT_EQ(field(std::string_view("caf\xc3\xa9")), "caf\xc3\xa9");
}

TEST(CopyText, TimestampAtEpoch) {
  EXPECT_EQ(format_timestamp_utc(0), "1970-01-01 00:00:00.000000+00");
}

TEST(CopyText, TimestampKnown2026Value) {
  const std::int64_t us = utc_us(2026, 11, 25, 7, 13, 13, 879926);
  EXPECT_EQ(us, 1795590793879926LL);  // cross-check of the oracle
  EXPECT_EQ(format_timestamp_utc(us), "2026-11-25 07:13:13.879926+00");
  EXPECT_EQ(format_timestamp_utc(utc_us(2026, 2, 28, 23, 59, 59, 999999)),
            "2026-02-28 23:59:59.999999+00");
  EXPECT_EQ(format_timestamp_utc(utc_us(2024, 2, 29, 12, 0, 0, 1)), "2024-02-29 12:00:00.000001+00");
}

TEST(CopyText, TimestampNegativeMicroseconds) {
  EXPECT_EQ(format_timestamp_utc(-1), "1969-12-31 23:59:59.999999+00");
  EXPECT_EQ(format_timestamp_utc(-1000000), "1969-12-31 23:59:59.000000+00");
  EXPECT_EQ(format_timestamp_utc(-1500000), "1969-12-31 23:59:58.500000+00");
  EXPECT_EQ(format_timestamp_utc(utc_us(1900, 1, 1, 0, 0, 0, 250)), "1900-01-01 00:00:00.000250+00");
}

TEST(CopyText, DateUtc) {
  EXPECT_EQ(format_date_utc(0), "1970-01-01");
  EXPECT_EQ(format_date_utc(-1), "1969-12-31");
  EXPECT_EQ(format_date_utc(utc_us(2026, 11, 25, 7, 13, 13, 879926)), "2026-11-25");
  EXPECT_EQ(format_date_utc(utc_us(2026, 11, 25, 23, 59, 59, 999999)), "2026-11-25");
  EXPECT_EQ(format_date_utc(utc_us(2026, 11, 26, 0, 0, 0, 0)), "2026-11-26");
  EXPECT_EQ(format_date_utc(utc_us(2024, 2, 29, 0, 0, 0, 0)), "2024-02-29");
}

}  // namespace
}  // namespace cdc::sinks
