#include "cdc/sinks/postgres/rollups/decimal.hpp"

#include <algorithm>

#include "cdc/core/json_number.hpp"

namespace cdc::sinks {
namespace {

constexpr int kScale = 18;
constexpr std::size_t kMaxIntegerDigits = 20;

}  // namespace

std::optional<Decimal> Decimal::parse(std::string_view text) {
  const std::optional<std::string> canonical = canonical_number(text);
  if (!canonical) return std::nullopt;
  std::string_view digits = *canonical;
  const bool negative = !digits.empty() && digits.front() == '-';
  if (negative) digits.remove_prefix(1);
  const std::size_t point = digits.find('.');
  const std::string_view integer = digits.substr(0, point);
  const std::string_view fraction = point == std::string_view::npos ? std::string_view() : digits.substr(point + 1);
  if (integer.size() > kMaxIntegerDigits || fraction.size() > static_cast<std::size_t>(kScale)) return std::nullopt;
  __int128 units = 0;
  for (const char c : integer) units = units * 10 + (c - '0');
  for (int i = 0; i < kScale; ++i) {
    units = units * 10 + (static_cast<std::size_t>(i) < fraction.size() ? fraction[i] - '0' : 0);
  }
  return Decimal(negative ? -units : units);
}

std::string Decimal::to_string() const {
  const bool negative = units_ < 0;
  unsigned __int128 value = negative ? static_cast<unsigned __int128>(-units_) : static_cast<unsigned __int128>(units_);
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  } while (value != 0);
  while (digits.size() <= static_cast<std::size_t>(kScale)) digits.push_back('0');
  std::reverse(digits.begin(), digits.end());
  std::string integer = digits.substr(0, digits.size() - kScale);
  std::string fraction = digits.substr(digits.size() - kScale);
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  std::string out = negative ? "-" : "";
  out += integer;
  if (!fraction.empty()) out += "." + fraction;
  return out;
}

}  // namespace cdc::sinks
