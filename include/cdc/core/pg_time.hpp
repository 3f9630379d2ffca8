#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cdc {

/// PostgreSQL timestamptz text in ISO DateStyle ("2026-11-25 07:13:13.879926+00",
/// offsets like "+05:30" or "-08"; a 'T' separator is accepted too) to
/// microseconds since the Unix epoch; nullopt for anything else (infinity, BC).
std::optional<std::int64_t> parse_pg_timestamp(std::string_view text);

/// "2026-11-25 07:13:13.879926+00" for Unix epoch microseconds (UTC).
std::string format_timestamp_utc(std::int64_t unix_us);
/// The same into `out` (at least kTimestampUtcMax bytes), without allocating;
/// returns the length.
constexpr std::size_t kTimestampUtcMax = 64;
std::size_t format_timestamp_utc(std::int64_t unix_us, char* out);

/// ISO-8601 UTC with milliseconds, "2026-11-25T07:13:13.879Z" (log lines).
std::string format_iso_millis_utc(std::int64_t unix_us);

/// "2026-11-25" (UTC day) for Unix epoch microseconds.
std::string format_date_utc(std::int64_t unix_us);

}  // namespace cdc
