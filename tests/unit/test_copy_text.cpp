// Tests for include/cdc/sinks/postgres/copy_text.hpp (COPY text fields) and
// include/cdc/core/pg_time.hpp (UTC timestamps).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <vector>
#include <optional>
#include <string>
#include <string_view>

#include "cdc/core/pg_time.hpp"
#include "cdc/sinks/postgres/copy_text.hpp"

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

/// The formatting through gmtime_r that the allocation-free formatter replaced.
std::string gmtime_reference(std::int64_t unix_us, bool date_only) {
  std::int64_t seconds = unix_us / 1000000;
  std::int64_t micros = unix_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    seconds -= 1;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[96];
  if (date_only) {
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  } else {
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
  }
  return buffer;
}

TEST(CopyText, TimestampsMatchGmtimeOverYears0To9999) {
  std::mt19937_64 random(42);
  const std::int64_t lo = utc_us(0, 1, 1, 0, 0, 0, 0);
  const std::int64_t hi = utc_us(9999, 12, 31, 23, 59, 59, 999999);
  std::uniform_int_distribution<std::int64_t> any(lo, hi);
  std::vector<std::int64_t> values = {lo, hi, 0, -1, 1, 951782400000000LL /* 2000-02-29 */};
  for (int i = 0; i < 200000; ++i) values.push_back(any(random));
  // Day boundaries around leap years and centuries.
  for (std::int64_t day = -800000; day < 800000; day += 997) {
    values.push_back(day * 86400000000LL);
    values.push_back(day * 86400000000LL - 1);
  }
  char buffer[kTimestampUtcMax];
  for (const std::int64_t us : values) {
    const std::string expected = gmtime_reference(us, false);
    ASSERT_EQ(format_timestamp_utc(us), expected) << us;
    ASSERT_EQ(std::string(buffer, format_timestamp_utc(us, buffer)), expected) << us;
    ASSERT_EQ(format_date_utc(us), gmtime_reference(us, true)) << us;
  }
}

TEST(CopyText, TimestampsOutsideFourDigitYearsStillFormat) {
  const std::int64_t far = utc_us(9999, 12, 31, 23, 59, 59, 999999) + 1;
  EXPECT_EQ(format_timestamp_utc(far), "10000-01-01 00:00:00.000000+00");
  char buffer[kTimestampUtcMax];
  EXPECT_EQ(std::string(buffer, format_timestamp_utc(far, buffer)), "10000-01-01 00:00:00.000000+00");
}

}  // namespace
}  // namespace cdc::sinks
