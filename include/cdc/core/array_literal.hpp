#pragma once
#include <string>
#include <string_view>

namespace cdc::pg {

/// A Postgres array literal ({"a","b"}) built one element at a time, as
/// array_literal (pg.hpp) writes it, without a vector of copies first.
class ArrayLiteral {
 public:
  void add(std::string_view value);
  /// The literal; the builder is empty again afterwards.
  std::string take();

 private:
  std::string text_ = "{";
};

}  // namespace cdc::pg
