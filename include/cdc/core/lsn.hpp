#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cdc {

/// A PostgreSQL WAL position (XLogRecPtr).
using Lsn = std::uint64_t;

/// "16/B374D848" form, as PostgreSQL prints pg_lsn.
std::string format_lsn(Lsn lsn);

/// Parses "X/Y" (hex halves); nullopt when malformed.
std::optional<Lsn> parse_lsn(std::string_view text);

}  // namespace cdc
