#include "cdc/sinks/postgres/copy_text.hpp"

namespace cdc::sinks {

void append_copy_field(std::string& line, const std::optional<std::string_view>& value) {
  if (!value) {
    line += "\\N";
    return;
  }
  // Most values need no escape: append them in one piece.
  const std::string_view text = *value;
  std::size_t clean = 0;
  while (clean < text.size() && text[clean] != '\\' && text[clean] != '\t' && text[clean] != '\n' &&
         text[clean] != '\r') {
    ++clean;
  }
  line.append(text.data(), clean);
  for (const char c : text.substr(clean)) {
    switch (c) {
      case '\\': line += "\\\\"; break;
      case '\t': line += "\\t"; break;
      case '\n': line += "\\n"; break;
      case '\r': line += "\\r"; break;
      default: line.push_back(c);
    }
  }
}

}  // namespace cdc::sinks
