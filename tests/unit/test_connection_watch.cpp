// Tests for ConnectionWatch (cdc/core/connection_watch.hpp).
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include "cdc/core/connection_watch.hpp"

namespace cdc {
namespace {

TEST(ConnectionWatch, TripShutsTheArmedSocketDownSoABlockedReadReturns) {
  int sockets[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sockets), 0);
  ConnectionWatch watch;
  EXPECT_FALSE(watch.trip()) << "nothing armed";
  watch.arm(sockets[0]);
  EXPECT_TRUE(watch.trip());
  char byte = 0;
  EXPECT_EQ(::read(sockets[0], &byte, 1), 0) << "a shut-down socket reads end of file instead of blocking";
  watch.disarm();
  EXPECT_FALSE(watch.trip()) << "disarmed: the descriptor may belong to someone else by now";
  ::close(sockets[0]);
  ::close(sockets[1]);
}

TEST(ConnectionWatch, CallsAreCountedAndMarkedWhileInProgress) {
  ConnectionWatch watch;
  EXPECT_FALSE(watch.in_call());
  {
    const ConnectionWatch::Call first(&watch);
    EXPECT_TRUE(watch.in_call());
    EXPECT_EQ(watch.calls(), 1u);
  }
  EXPECT_FALSE(watch.in_call());
  { const ConnectionWatch::Call second(&watch); }
  EXPECT_EQ(watch.calls(), 2u);
  const ConnectionWatch::Call unwatched(nullptr);  // no watch: nothing to mark
}

}  // namespace
}  // namespace cdc
