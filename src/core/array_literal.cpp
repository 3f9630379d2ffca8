#include "cdc/core/array_literal.hpp"

#include <utility>

namespace cdc::pg {

void ArrayLiteral::add(std::string_view value) {
  if (text_.size() > 1) text_ += ',';
  text_ += '"';
  // Runs without '"' or '\\' are appended whole.
  for (std::size_t at = value.find_first_of("\"\\"); at != std::string_view::npos;
       at = value.find_first_of("\"\\")) {
    text_.append(value.data(), at);
    text_ += '\\';
    text_ += value[at];
    value.remove_prefix(at + 1);
  }
  text_.append(value);
  text_ += '"';
}

std::string ArrayLiteral::take() {
  text_ += '}';
  std::string literal = std::move(text_);
  text_ = "{";
  return literal;
}

}  // namespace cdc::pg
