#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace cdc {

/// PostgreSQL timestamptz text in ISO DateStyle ("2026-11-25 07:13:13.879926+00",
/// offsets like "+05:30" or "-08"; a 'T' separator is accepted too) to
/// microseconds since the Unix epoch; nullopt for anything else (infinity, BC).
std::optional<std::int64_t> parse_pg_timestamp(std::string_view text);

}  // namespace cdc
