#include "cdc/core/host_port.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace cdc {

std::optional<HostPort> parse_host_port(std::string_view text, AnyPort any_port, HostPortError* error) {
  const auto fail = [&](HostPortError why) -> std::optional<HostPort> {
    if (error != nullptr) *error = why;
    return std::nullopt;
  };
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find("]:");
    if (close == std::string_view::npos) return fail(HostPortError::kForm);
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail(HostPortError::kForm);
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return fail(HostPortError::kForm);  // IPv6 needs brackets
  }
  if (host.empty() || std::any_of(host.begin(), host.end(), [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) || c == '[' || c == ']' || c == '/';
      })) {
    return fail(HostPortError::kForm);
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  const unsigned lowest = any_port == AnyPort::kAllow ? 0 : 1;
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < lowest || value > 65535) {
    return fail(HostPortError::kPort);
  }
  return HostPort{std::string(host), static_cast<std::uint16_t>(value)};
}

}  // namespace cdc
