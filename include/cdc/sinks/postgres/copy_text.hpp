#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace cdc::sinks {

/// Appends one field in COPY text format (backslash escapes; nullopt as \N).
void append_copy_field(std::string& line, const std::optional<std::string_view>& value);

}  // namespace cdc::sinks
