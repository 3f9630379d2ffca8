// Tests for the reader's and writer's timing decisions (cdc/pipeline/policies.hpp),
// driven by a clock of the test's own.
#include <gtest/gtest.h>

#include <chrono>

#include "cdc/pipeline/policies.hpp"

namespace cdc::pipeline {
namespace {

using std::chrono::milliseconds;
using std::chrono::microseconds;

const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1);

TEST(FlushPolicy, FlushesAtOnceWhenNothingWasTaken) {
  FlushPolicy policy(milliseconds(20), milliseconds(100));
  EXPECT_TRUE(policy.should_flush(t0, true));
  EXPECT_FALSE(policy.should_flush(t0, false));  // inside a transaction or more queued
  EXPECT_EQ(policy.wait(t0), milliseconds(100));
}

TEST(FlushPolicy, SmallTransactionsShareOneFlushForTheIdleDelay) {
  FlushPolicy policy(milliseconds(20), milliseconds(100));
  policy.committed(t0);
  policy.committed(t0 + milliseconds(5));  // the first one sets the deadline
  EXPECT_FALSE(policy.should_flush(t0 + milliseconds(19), true));
  EXPECT_EQ(policy.wait(t0 + milliseconds(5)), milliseconds(15));
  EXPECT_TRUE(policy.should_flush(t0 + milliseconds(20), true));
  EXPECT_FALSE(policy.should_flush(t0 + milliseconds(50), false));
  policy.flushed();
  EXPECT_EQ(policy.wait(t0 + milliseconds(50)), milliseconds(100));
}

TEST(FlushPolicy, WaitRoundsUpAndNeverGoesNegative) {
  FlushPolicy policy(milliseconds(20), milliseconds(100));
  policy.committed(t0);
  // 0.5 ms left: wait 1 ms, not 0 (a busy loop).
  EXPECT_EQ(policy.wait(t0 + microseconds(19'500)), milliseconds(1));
  EXPECT_EQ(policy.wait(t0 + milliseconds(30)), milliseconds(0));
}

TEST(LingerPolicy, HoldsABatchForTheLingerThenHandsItOver) {
  LingerPolicy policy(milliseconds(3));
  policy.started(t0);
  EXPECT_EQ(policy.left(t0 + milliseconds(1)), milliseconds(2));
  EXPECT_EQ(policy.left(t0 + milliseconds(3)), Clock::duration::zero());
  EXPECT_EQ(policy.left(t0 + milliseconds(10)), Clock::duration::zero());
}

TEST(StatusPolicy, SendsWhenAskedPeriodicallyAndWhenTheAcknowledgementMoves) {
  StatusPolicy policy(milliseconds(10000), milliseconds(200));
  policy.sent(t0);
  EXPECT_FALSE(policy.due(t0 + milliseconds(100), 0x10, 0x10, false));
  EXPECT_TRUE(policy.due(t0 + milliseconds(100), 0x10, 0x10, true));    // the server asked
  EXPECT_FALSE(policy.due(t0 + milliseconds(100), 0x20, 0x10, false));  // moved, but within the gap
  EXPECT_TRUE(policy.due(t0 + milliseconds(200), 0x20, 0x10, false));   // moved
  EXPECT_FALSE(policy.due(t0 + milliseconds(9999), 0x10, 0x10, false));
  EXPECT_TRUE(policy.due(t0 + milliseconds(10000), 0x10, 0x10, false));  // periodic
}

TEST(LivenessPolicy, AsksASilentServerForAReplyThenCallsItStalled) {
  LivenessPolicy policy(milliseconds(30000), milliseconds(10000));
  policy.heard(t0);
  EXPECT_FALSE(policy.should_probe(t0 + milliseconds(9999)));
  EXPECT_TRUE(policy.should_probe(t0 + milliseconds(10000)));  // the status interval is the smaller
  policy.probed(t0 + milliseconds(10000));
  EXPECT_FALSE(policy.should_probe(t0 + milliseconds(15000)));
  EXPECT_TRUE(policy.should_probe(t0 + milliseconds(20000)));  // again while it stays silent
  EXPECT_FALSE(policy.stalled(t0 + milliseconds(29999)));
  EXPECT_TRUE(policy.stalled(t0 + milliseconds(30000)));
  EXPECT_EQ(policy.silence(t0 + milliseconds(31000)), milliseconds(31000));
}

TEST(LivenessPolicy, ProbesAfterHalfTheTimeoutWhenThatIsSooner) {
  LivenessPolicy policy(milliseconds(3000), milliseconds(10000));
  policy.heard(t0);
  EXPECT_FALSE(policy.should_probe(t0 + milliseconds(1499)));
  EXPECT_TRUE(policy.should_probe(t0 + milliseconds(1500)));
}

TEST(LivenessPolicy, AnyMessageEndsTheSilence) {
  LivenessPolicy policy(milliseconds(3000), milliseconds(10000));
  policy.heard(t0);
  policy.probed(t0 + milliseconds(1500));
  policy.heard(t0 + milliseconds(2900));  // the reply
  EXPECT_FALSE(policy.stalled(t0 + milliseconds(3500)));
  EXPECT_FALSE(policy.should_probe(t0 + milliseconds(4000)));
  EXPECT_TRUE(policy.should_probe(t0 + milliseconds(4400)));
  EXPECT_TRUE(policy.stalled(t0 + milliseconds(5900)));
}

TEST(Acknowledgeable, IsWhatTheSinksHoldWhileWorkIsInFlight) {
  EXPECT_EQ(acknowledgeable(0x100, false, 0x200, 0x900, 0x80), 0x100u);
  // Idle, but a handed-over transaction is not held yet: not past it.
  EXPECT_EQ(acknowledgeable(0x100, true, 0x200, 0x900, 0x80), 0x100u);
}

TEST(Acknowledgeable, MovesToTheKeepalivePositionWhenIdleAndEverythingIsHeld) {
  EXPECT_EQ(acknowledgeable(0x200, true, 0x200, 0x900, 0x80), 0x900u);
}

TEST(Acknowledgeable, NeverGoesBackwards) {
  EXPECT_EQ(acknowledgeable(0x100, false, 0x200, 0x900, 0x400), 0x400u);
}

}  // namespace
}  // namespace cdc::pipeline
