// The metrics item: metrics.listen resolves, who can reach it, whether the
// port is taken right now.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "cdc/core/host_port.hpp"
#include "checker.hpp"
#include "items.hpp"

namespace cdc::app::check {

void metrics(Checker& c) {
  const std::string& listen = c.config().metrics.listen;
  if (listen.empty()) {
    c.ok("metrics", "disabled (metrics.listen is \"\")");
    return;
  }
  const std::string fix =
      "set metrics.listen to \"host:port\", e.g. \"127.0.0.1:9187\", \"[::1]:9187\" or \"0.0.0.0:9187\" "
      "(\"\" disables the endpoint)";
  const auto address = parse_host_port(listen);
  if (!address) {
    c.fail("metrics", fmt::format("metrics.listen '{}' is not host:port", listen), fix);
    return;
  }
  const std::string& host = address->host;
  const std::string port = std::to_string(address->port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* resolved = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &resolved);
  if (rc != 0 || resolved == nullptr) {
    c.fail("metrics", fmt::format("metrics.listen host '{}' does not resolve: {}", host, ::gai_strerror(rc)), fix);
    return;
  }
  bool all_loopback = true;
  bool wildcard = false;
  bool in_use = false;
  for (addrinfo* a = resolved; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
      const std::uint32_t address = ntohl(in->sin_addr.s_addr);
      wildcard |= address == INADDR_ANY;
      all_loopback &= (address >> 24) == 127;
    } else if (a->ai_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
      wildcard |= IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
      all_loopback &= IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) != 0;
    } else {
      all_loopback = false;
    }
    // Whether something listens there already (e.g. a running customer-cdc): a note only.
    const int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd >= 0) {
      const int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 && errno == EADDRINUSE) in_use = true;
      ::close(fd);
    }
  }
  ::freeaddrinfo(resolved);
  std::string detail = fmt::format("GET /metrics and /healthz on {}", listen);
  if (all_loopback) {
    detail += " (loopback only: reachable from this host)";
  } else if (wildcard) {
    detail += " (note: all interfaces, reachable from the network without authentication)";
  } else {
    detail += " (note: not loopback, reachable from the network without authentication)";
  }
  if (in_use) detail += "; note: the port is in use right now (a running customer-cdc?)";
  c.ok("metrics", detail);
}

}  // namespace cdc::app::check
