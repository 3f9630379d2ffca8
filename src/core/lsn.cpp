#include "cdc/core/lsn.hpp"

#include <charconv>
#include <fmt/format.h>

namespace cdc {

std::string format_lsn(Lsn lsn) {
  return fmt::format("{:X}/{:X}", static_cast<std::uint32_t>(lsn >> 32),
                     static_cast<std::uint32_t>(lsn));
}

std::optional<Lsn> parse_lsn(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) return std::nullopt;
  auto parse_half = [](std::string_view half) -> std::optional<std::uint32_t> {
    if (half.size() > 8) return std::nullopt;
    std::uint32_t value = 0;
    auto [end, ec] = std::from_chars(half.data(), half.data() + half.size(), value, 16);
    if (ec != std::errc() || end != half.data() + half.size()) return std::nullopt;
    return value;
  };
  const auto hi = parse_half(text.substr(0, slash));
  const auto lo = parse_half(text.substr(slash + 1));
  if (!hi || !lo) return std::nullopt;
  return (static_cast<Lsn>(*hi) << 32) | *lo;
}

}  // namespace cdc
