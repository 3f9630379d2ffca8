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

std::string format_iso_millis_utc(std::int64_t unix_us) {
  std::int64_t micros = 0;
  const std::tm tm = utc_tm(unix_us, micros);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, micros / 1000);
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

std::optional<std::int64_t> parse_pg_timestamp(std::string_view text) {
  std::size_t i = 0;
  auto number = [&](std::size_t width, int& out) {
    if (i + width > text.size()) return false;
    int v = 0;
    for (std::size_t k = 0; k < width; ++k) {
      const char c = text[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += width;
    out = v;
    return true;
  };
  auto literal = [&](char c) {
    if (i < text.size() && text[i] == c) {
      ++i;
      return true;
    }
    return false;
  };

  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!number(4, year) || !literal('-') || !number(2, month) || !literal('-') || !number(2, day)) {
    return std::nullopt;
  }
  if (!literal(' ') && !literal('T')) return std::nullopt;
  if (!number(2, hour) || !literal(':') || !number(2, minute) || !literal(':') || !number(2, second)) {
    return std::nullopt;
  }
  std::int64_t fraction_us = 0;
  if (literal('.')) {
    int digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (++digits > 6) return std::nullopt;
      fraction_us = fraction_us * 10 + (text[i] - '0');
      ++i;
    }
    if (digits == 0) return std::nullopt;
    for (int d = digits; d < 6; ++d) fraction_us *= 10;
  }
  int sign = 0;
  if (literal('+')) {
    sign = 1;
  } else if (literal('-')) {
    sign = -1;
  } else {
    return std::nullopt;
  }
  int off_h = 0, off_m = 0, off_s = 0;
  if (!number(2, off_h)) return std::nullopt;
  if (literal(':')) {
    if (!number(2, off_m)) return std::nullopt;
    if (literal(':') && !number(2, off_s)) return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;  // trailing text, e.g. " BC"

  auto is_leap = [](int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; };
  static constexpr int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1 || month < 1 || month > 12 || day < 1) return std::nullopt;
  const int month_days = kDaysInMonth[month - 1] + (month == 2 && is_leap(year) ? 1 : 0);
  if (day > month_days || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  if (off_h > 15 || off_m > 59 || off_s > 59) return std::nullopt;

  // Days since 1970-01-01 (H. Hinnant's days_from_civil).
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = y / 400;  // y >= 0 here
  const int yoe = y - era * 400;
  const int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;

  const std::int64_t local_seconds = days * 86400 + hour * 3600 + minute * 60 + second;
  const std::int64_t offset_seconds = sign * (off_h * 3600 + off_m * 60 + off_s);
  return (local_seconds - offset_seconds) * 1000000 + fraction_us;
}

}  // namespace cdc
