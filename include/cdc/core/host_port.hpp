#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cdc {

/// A listening address as configured: "host:port" or "[v6 address]:port".
struct HostPort {
  std::string host;        ///< without the brackets of an IPv6 literal
  std::uint16_t port = 0;  ///< 0 only when parsed with AnyPort::kAllow
};

/// Whether port 0 ("any free port") is acceptable.
enum class AnyPort { kReject, kAllow };

/// What is wrong with a text that is not "host:port".
enum class HostPortError { kForm, kPort };

/// "host:port" or "[host]:port": the host is not empty and holds no space,
/// '[', ']' or '/' (nor ':' unless bracketed), the port is decimal 1..65535
/// (or 0 with AnyPort::kAllow). nullopt otherwise, with the reason in `error`.
std::optional<HostPort> parse_host_port(std::string_view text, AnyPort any_port = AnyPort::kReject,
                                        HostPortError* error = nullptr);

}  // namespace cdc
