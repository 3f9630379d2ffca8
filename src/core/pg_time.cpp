#include "cdc/core/pg_time.hpp"

#include <ctime>

#include <fmt/format.h>

namespace cdc {
namespace {

/// Proleptic Gregorian calendar fields of a UTC instant, by H. Hinnant's
/// civil_from_days (what gmtime_r computes, without its locking and tz work).
struct Civil {
  std::int64_t year;
  int month, day, hour, minute, second, micros;
};

Civil civil_utc(std::int64_t unix_us) {
  std::int64_t seconds = unix_us / 1000000;
  std::int64_t micros = unix_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    seconds -= 1;
  }
  std::int64_t days = seconds / 86400;
  std::int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return {year, month, day, static_cast<int>(rem / 3600), static_cast<int>(rem % 3600 / 60),
          static_cast<int>(rem % 60), static_cast<int>(micros)};
}

char* put_digits(char* out, std::int64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out + width;
}

std::tm utc_tm(std::int64_t unix_us, std::int64_t& micros) {
  std::int64_t seconds = unix_us / 1000000;
  micros = unix_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    seconds -= 1;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

}  // namespace

std::size_t format_timestamp_utc(std::int64_t unix_us, char* out) {
  const Civil c = civil_utc(unix_us);
  if (c.year < 0 || c.year > 9999) {
    const std::string text = format_timestamp_utc(unix_us);
    text.copy(out, text.size());
    return text.size();
  }
  char* p = put_digits(out, c.year, 4);
  *p++ = '-';
  p = put_digits(p, c.month, 2);
  *p++ = '-';
  p = put_digits(p, c.day, 2);
  *p++ = ' ';
  p = put_digits(p, c.hour, 2);
  *p++ = ':';
  p = put_digits(p, c.minute, 2);
  *p++ = ':';
  p = put_digits(p, c.second, 2);
  *p++ = '.';
  p = put_digits(p, c.micros, 6);
  *p++ = '+';
  *p++ = '0';
  *p++ = '0';
  return static_cast<std::size_t>(p - out);
}

std::string format_timestamp_utc(std::int64_t unix_us) {
  const Civil c = civil_utc(unix_us);
  if (c.year >= 0 && c.year <= 9999) {
    char buffer[kTimestampUtcMax];
    return std::string(buffer, format_timestamp_utc(unix_us, buffer));
  }
  std::int64_t micros = 0;
  const std::tm tm = utc_tm(unix_us, micros);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

std::string format_date_utc(std::int64_t unix_us) {
  const Civil c = civil_utc(unix_us);
  if (c.year >= 0 && c.year <= 9999) {
    char buffer[10];
    char* p = put_digits(buffer, c.year, 4);
    *p++ = '-';
    p = put_digits(p, c.month, 2);
    *p++ = '-';
    put_digits(p, c.day, 2);
    return std::string(buffer, sizeof buffer);
  }
  std::int64_t micros = 0;
  const std::tm tm = utc_tm(unix_us, micros);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

}  // namespace cdc
