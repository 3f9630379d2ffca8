// Tests for include/cdc/core/pg_time.hpp: PostgreSQL timestamptz text to and
// from microseconds since the Unix epoch.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>

#include "cdc/core/pg_time.hpp"

namespace cdc {
namespace {

/// Independent oracle: std::chrono calendar arithmetic.
std::int64_t utc_us(int y, unsigned mo, unsigned d, int h, int mi, int s, int us) {
  using namespace std::chrono;
  const sys_time<microseconds> tp =
      sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s} + microseconds{us};
  return tp.time_since_epoch().count();
}

TEST(PgTime, TimestampAtEpoch) {
  EXPECT_EQ(format_timestamp_utc(0), "1970-01-01 00:00:00.000000+00");
}

TEST(PgTime, TimestampKnown2026Value) {
  const std::int64_t us = utc_us(2026, 11, 25, 7, 13, 13, 879926);
  EXPECT_EQ(us, 1795590793879926LL);  // cross-check of the oracle
  EXPECT_EQ(format_timestamp_utc(us), "2026-11-25 07:13:13.879926+00");
  EXPECT_EQ(format_timestamp_utc(utc_us(2026, 2, 28, 23, 59, 59, 999999)),
            "2026-02-28 23:59:59.999999+00");
  EXPECT_EQ(format_timestamp_utc(utc_us(2024, 2, 29, 12, 0, 0, 1)), "2024-02-29 12:00:00.000001+00");
}

TEST(PgTime, TimestampNegativeMicroseconds) {
  EXPECT_EQ(format_timestamp_utc(-1), "1969-12-31 23:59:59.999999+00");
  EXPECT_EQ(format_timestamp_utc(-1000000), "1969-12-31 23:59:59.000000+00");
  EXPECT_EQ(format_timestamp_utc(-1500000), "1969-12-31 23:59:58.500000+00");
  EXPECT_EQ(format_timestamp_utc(utc_us(1900, 1, 1, 0, 0, 0, 250)), "1900-01-01 00:00:00.000250+00");
}

TEST(PgTime, DateUtc) {
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

TEST(PgTime, TimestampsMatchGmtimeOverYears0To9999) {
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

TEST(PgTime, TimestampsOutsideFourDigitYearsStillFormat) {
  const std::int64_t far = utc_us(9999, 12, 31, 23, 59, 59, 999999) + 1;
  EXPECT_EQ(format_timestamp_utc(far), "10000-01-01 00:00:00.000000+00");
  char buffer[kTimestampUtcMax];
  EXPECT_EQ(std::string(buffer, format_timestamp_utc(far, buffer)), "10000-01-01 00:00:00.000000+00");
}

// ---------------------------------------------------------------------------
// parse_pg_timestamp

TEST(PgTimestamp, UtcWithMicroseconds) {
  EXPECT_EQ(parse_pg_timestamp("2026-11-25 07:13:13.879926+00"), utc_us(2026, 11, 25, 7, 13, 13, 879926));
  EXPECT_EQ(parse_pg_timestamp("2026-11-25 07:13:13.879926+00"), 1795590793879926);
}

TEST(PgTimestamp, FractionOptionalAndShort) {
  EXPECT_EQ(parse_pg_timestamp("2026-11-25 07:13:13+00"), utc_us(2026, 11, 25, 7, 13, 13, 0));
  EXPECT_EQ(parse_pg_timestamp("2026-11-25 07:13:13.5+00"), utc_us(2026, 11, 25, 7, 13, 13, 500000));
  EXPECT_EQ(parse_pg_timestamp("2026-11-25 07:13:13.96169+00"), utc_us(2026, 11, 25, 7, 13, 13, 961690));
  EXPECT_EQ(parse_pg_timestamp("2026-11-25 07:13:13.000001+00"), utc_us(2026, 11, 25, 7, 13, 13, 1));
}

TEST(PgTimestamp, Offsets) {
  const std::int64_t utc = utc_us(2026, 11, 25, 7, 13, 13, 0);
  constexpr std::int64_t kHour = 3600LL * 1000000;
  constexpr std::int64_t kMinute = 60LL * 1000000;
  EXPECT_EQ(parse_pg_timestamp("2026-11-25 12:43:13+05:30"), utc);
  EXPECT_EQ(parse_pg_timestamp("2026-11-24 23:13:13-08"), utc);
  EXPECT_EQ(parse_pg_timestamp("2026-11-24 23:13:13-08:00"), utc);
  EXPECT_EQ(parse_pg_timestamp("2026-11-25 07:13:13+01"), utc - kHour);
  EXPECT_EQ(parse_pg_timestamp("2026-11-25 07:13:13-03:30"), utc + 3 * kHour + 30 * kMinute);
  // Local mean time offsets have seconds, e.g. Europe/Amsterdam before 1937.
  EXPECT_EQ(parse_pg_timestamp("1900-01-01 00:19:32+00:19:32"), utc_us(1900, 1, 1, 0, 0, 0, 0));
}

TEST(PgTimestamp, EpochAndBeforeEpoch) {
  EXPECT_EQ(parse_pg_timestamp("1970-01-01 00:00:00+00"), 0);
  EXPECT_EQ(parse_pg_timestamp("1969-12-31 23:59:59.999999+00"), -1);
  EXPECT_EQ(parse_pg_timestamp("0001-01-01 00:00:00+00"), utc_us(1, 1, 1, 0, 0, 0, 0));
  EXPECT_EQ(parse_pg_timestamp("9999-12-31 23:59:59.999999+00"), utc_us(9999, 12, 31, 23, 59, 59, 999999));
}

TEST(PgTimestamp, LeapDays) {
  EXPECT_EQ(parse_pg_timestamp("2024-02-29 12:00:00+00"), utc_us(2024, 2, 29, 12, 0, 0, 0));
  EXPECT_EQ(parse_pg_timestamp("2000-02-29 12:00:00+00"), utc_us(2000, 2, 29, 12, 0, 0, 0));
  EXPECT_EQ(parse_pg_timestamp("2023-02-29 12:00:00+00"), std::nullopt);
  EXPECT_EQ(parse_pg_timestamp("1900-02-29 12:00:00+00"), std::nullopt);
  EXPECT_EQ(parse_pg_timestamp("2026-04-31 12:00:00+00"), std::nullopt);
}

TEST(PgTimestamp, GarbageIsRejected) {
  for (const char* text : {
           "",
           "infinity",
           "-infinity",
           "garbage",
           "2026-11-25",
           "2026-11-25 07:13:13",           // no offset
           "2026-11-25 07:13:13 UTC",       // DateStyle other than ISO
           "11/25/2026 07:13:13.879926 UTC",
           "0044-03-15 12:00:00+00 BC",
           "0000-01-01 00:00:00+00",
           "12026-11-25 07:13:13+00",
           "2026-13-01 00:00:00+00",
           "2026-00-01 00:00:00+00",
           "2026-11-00 00:00:00+00",
           "2026-11-25 24:00:00+00",
           "2026-11-25 07:60:00+00",
           "2026-11-25 07:13:60+00",
           "2026-11-25 07:13:13.1234567+00",  // more than 6 fraction digits
           "2026-11-25 07:13:13.+00",
           "2026-11-25 07:13:13+0",
           "2026-11-25 07:13:13+00:",
           "2026-11-25 07:13:13+00:0",
           "2026-11-25 07:13:13+16",
           "2026-11-25 07:13:13+00 ",
           "2026-11-25 7:13:13+00",
           "2026-1a-25 07:13:13+00",
           "2026-11-25_07:13:13+00",
       }) {
    EXPECT_EQ(parse_pg_timestamp(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(PgTime, IsoMillisForLogLines) {
  EXPECT_EQ(format_iso_millis_utc(utc_us(2026, 11, 25, 7, 13, 13, 879926)), "2026-11-25T07:13:13.879Z");
  EXPECT_EQ(format_iso_millis_utc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso_millis_utc(-1), "1969-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace cdc
