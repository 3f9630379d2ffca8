#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace cdc {

/// Canonical decimal text of a JSON number (no exponent, no trailing zeros in the
/// fraction, "-0" as "0"); nullopt when not a number.
std::optional<std::string> canonical_number(std::string_view number);

/// jsonb equality (IS NOT DISTINCT FROM) of two jsonb texts; nullopt is SQL NULL.
/// Numbers compare by value (1.0 equals 1), objects by key.
bool jsonb_equal(const std::optional<std::string_view>& a, const std::optional<std::string_view>& b);

}  // namespace cdc
