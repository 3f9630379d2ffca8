// Dates and times of pgoutput's binary mode as their output functions print
// them in DateStyle ISO and TimeZone UTC (the stream session's settings).
#include <limits>

#include "binary_parts.hpp"

namespace cdc::decode::pgoutput::binary {
namespace {

constexpr std::int64_t kUsPerDay = 86'400'000'000;
constexpr std::int64_t kUnixDaysAt2000 = 10'957;  ///< 2000-01-01, PostgreSQL's epoch, in days since 1970-01-01

struct Civil {
  std::int64_t year;
  int month;
  int day;
};

/// Proleptic Gregorian date of a day number (days since 1970-01-01), as
/// PostgreSQL's j2date (H. Hinnant's civil_from_days).
Civil civil_from_days(std::int64_t days) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2), static_cast<int>(month), static_cast<int>(day)};
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/// "YYYY-MM-DD" (ISO DateStyle); returns whether the date is BC (year printed as 1 - year).
bool append_date_part(std::int64_t unix_days, std::string& out) {
  const Civil c = civil_from_days(unix_days);
  const bool bc = c.year <= 0;
  append_padded(bc ? 1 - c.year : c.year, 4, out);
  out += '-';
  append_padded(c.month, 2, out);
  out += '-';
  append_padded(c.day, 2, out);
  return bc;
}

/// "HH:MM:SS" and, unless zero, "." and the microseconds without trailing zeros.
void append_time_of_day(std::int64_t us, std::string& out) {
  append_padded(us / 3'600'000'000, 2, out);
  out += ':';
  append_padded(us / 60'000'000 % 60, 2, out);
  out += ':';
  append_padded(us / 1'000'000 % 60, 2, out);
  std::int64_t fraction = us % 1'000'000;
  if (fraction == 0) return;
  int width = 6;
  while (fraction % 10 == 0) {
    fraction /= 10;
    --width;
  }
  out += '.';
  append_padded(fraction, width, out);
}

}  // namespace

// date_send: int32 days since 2000-01-01; INT32_MIN/MAX are -infinity/infinity.
void append_date(std::string_view bytes, std::string& out) {
  const auto days = static_cast<std::int32_t>(big_endian(exact(bytes, 4, "date")));
  if (days == std::numeric_limits<std::int32_t>::min()) return void(out += "-infinity");
  if (days == std::numeric_limits<std::int32_t>::max()) return void(out += "infinity");
  if (append_date_part(days + kUnixDaysAt2000, out)) out += " BC";
}

// timestamp(tz)_send: int64 microseconds since 2000-01-01 00:00 (UTC for
// timestamptz); INT64_MIN/MAX are -infinity/infinity. timestamptz_out in
// TimeZone UTC: "YYYY-MM-DD HH:MM:SS[.ffffff]+00[ BC]".
void append_timestamp(std::string_view bytes, bool with_zone, std::string& out) {
  const auto us = static_cast<std::int64_t>(big_endian(exact(bytes, 8, "timestamp")));
  if (us == std::numeric_limits<std::int64_t>::min()) return void(out += "-infinity");
  if (us == std::numeric_limits<std::int64_t>::max()) return void(out += "infinity");
  if (us < kMinTimestamp || us >= kEndTimestamp) bad("binary timestamp out of range");
  const std::int64_t days = floor_div(us, kUsPerDay);
  const bool bc = append_date_part(days + kUnixDaysAt2000, out);
  out += ' ';
  append_time_of_day(us - days * kUsPerDay, out);
  if (with_zone) out += "+00";
  if (bc) out += " BC";
}

// time_send: int64 microseconds since midnight (0 to 24:00:00 inclusive).
void append_time(std::string_view bytes, std::string& out) {
  const auto us = static_cast<std::int64_t>(big_endian(bytes));
  if (us < 0 || us > kUsPerDay) bad("binary time value out of range");
  append_time_of_day(us, out);
}

// timetz_send: time as above, then int32 zone in seconds west of UTC;
// EncodeTimezone prints "+HH", "+HH:MM" or "+HH:MM:SS" (east positive).
void append_timetz(std::string_view bytes, std::string& out) {
  exact(bytes, 12, "time with time zone");
  append_time(bytes.substr(0, 8), out);
  const auto zone = static_cast<std::int32_t>(big_endian(bytes.substr(8, 4)));
  if (zone < -15 * 3600 - 59 * 60 || zone > 15 * 3600 + 59 * 60) bad("binary time zone offset out of range");
  const int seconds = zone < 0 ? -zone : zone;
  out += zone <= 0 ? '+' : '-';
  append_padded(seconds / 3600, 2, out);
  if (seconds % 3600 != 0) {
    out += ':';
    append_padded(seconds / 60 % 60, 2, out);
    if (seconds % 60 != 0) {
      out += ':';
      append_padded(seconds % 60, 2, out);
    }
  }
}

}  // namespace cdc::decode::pgoutput::binary
