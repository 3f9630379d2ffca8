#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace cdc {

/// "2026-11-25 07:13:13.879926+00" for Unix epoch microseconds (UTC).
std::string format_timestamp_utc(std::int64_t unix_us);
/// The same into `out` (at least kTimestampUtcMax bytes), without allocating;
/// returns the length.
constexpr std::size_t kTimestampUtcMax = 64;
std::size_t format_timestamp_utc(std::int64_t unix_us, char* out);

/// "2026-11-25" (UTC day) for Unix epoch microseconds.
std::string format_date_utc(std::int64_t unix_us);

}  // namespace cdc
