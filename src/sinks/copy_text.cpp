#include "cdc/sinks/copy_text.hpp"

#include <ctime>

#include <fmt/format.h>

namespace cdc::sinks {
namespace {

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

void append_copy_field(std::string& line, const std::optional<std::string_view>& value) {
  if (!value) {
    line += "\\N";
    return;
  }
  for (const char c : *value) {
    switch (c) {
      case '\\': line += "\\\\"; break;
      case '\t': line += "\\t"; break;
      case '\n': line += "\\n"; break;
      case '\r': line += "\\r"; break;
      default: line.push_back(c);
    }
  }
}

std::string format_timestamp_utc(std::int64_t unix_us) {
  std::int64_t micros = 0;
  const std::tm tm = utc_tm(unix_us, micros);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

std::string format_date_utc(std::int64_t unix_us) {
  std::int64_t micros = 0;
  const std::tm tm = utc_tm(unix_us, micros);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

}  // namespace cdc::sinks
