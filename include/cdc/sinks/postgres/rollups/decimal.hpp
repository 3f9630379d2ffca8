#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace cdc::sinks {

/// An exact decimal for rollup arithmetic on jsonb numbers: a 128-bit integer
/// count of 10^-18 units (about 38 significant digits, 20 before the point).
class Decimal {
 public:
  Decimal() = default;
  /// nullopt when `text` is not a JSON number, has more than 18 fractional
  /// digits after normalisation, or does not fit.
  static std::optional<Decimal> parse(std::string_view text);

  /// nullopt when the result does not fit.
  std::optional<Decimal> minus(const Decimal& other) const {
    __int128 result = 0;
    if (__builtin_sub_overflow(units_, other.units_, &result)) return std::nullopt;
    return Decimal(result);
  }
  /// Adds `other`; false (and unchanged) when the sum does not fit.
  bool add(const Decimal& other) {
    __int128 result = 0;
    if (__builtin_add_overflow(units_, other.units_, &result)) return false;
    units_ = result;
    return true;
  }
  bool operator<(const Decimal& other) const { return units_ < other.units_; }
  bool operator==(const Decimal& other) const { return units_ == other.units_; }
  bool positive() const { return units_ > 0; }
  /// Plain decimal text without trailing fractional zeros ("12.5", "-3", "0").
  std::string to_string() const;

 private:
  explicit Decimal(__int128 units) : units_(units) {}
  __int128 units_ = 0;
};

}  // namespace cdc::sinks
