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

  Decimal operator-(const Decimal& other) const { return Decimal(units_ - other.units_); }
  Decimal& operator+=(const Decimal& other) {
    units_ += other.units_;
    return *this;
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
