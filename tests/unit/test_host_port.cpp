// Tests for include/cdc/core/host_port.hpp: the one "host:port" parser.
#include <gtest/gtest.h>

#include "cdc/core/host_port.hpp"

namespace cdc {
namespace {

TEST(HostPort, ParsesHostAndPort) {
  const auto parsed = parse_host_port("127.0.0.1:9187");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->host, "127.0.0.1");
  EXPECT_EQ(parsed->port, 9187);
  EXPECT_EQ(parse_host_port("localhost:65535")->port, 65535);
  EXPECT_EQ(parse_host_port("0.0.0.0:1")->host, "0.0.0.0");
}

TEST(HostPort, BracketedIpv6LosesItsBrackets) {
  const auto parsed = parse_host_port("[::1]:9187");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->host, "::1");
  EXPECT_EQ(parsed->port, 9187);
}

TEST(HostPort, RejectsMalformedText) {
  for (const char* bad : {"", "9187", ":9187", "::1:9187", "[::1]9187", "a b:1", "[]:1", "a/b:1", "a]:1"}) {
    HostPortError error = HostPortError::kPort;
    EXPECT_FALSE(parse_host_port(bad, AnyPort::kReject, &error)) << bad;
    EXPECT_EQ(error, HostPortError::kForm) << bad;
  }
}

TEST(HostPort, RejectsBadPorts) {
  for (const char* bad : {"host:", "host:0", "host:65536", "host:abc", "host:12x", "host:-1", "host: 1"}) {
    HostPortError error = HostPortError::kForm;
    EXPECT_FALSE(parse_host_port(bad, AnyPort::kReject, &error)) << bad;
    EXPECT_EQ(error, HostPortError::kPort) << bad;
  }
}

TEST(HostPort, PortZeroOnlyWhenAnyPortIsAllowed) {
  EXPECT_FALSE(parse_host_port("127.0.0.1:0"));
  const auto parsed = parse_host_port("127.0.0.1:0", AnyPort::kAllow);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->port, 0);
}

}  // namespace
}  // namespace cdc
