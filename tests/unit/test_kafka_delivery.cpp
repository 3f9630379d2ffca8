// DeliveryTracker: when transactions handed to Kafka count as durable.
#include <gtest/gtest.h>

#include "cdc/sinks/kafka/delivery_tracker.hpp"

namespace cdc::sinks {
namespace {

using Seq = DeliveryTracker::Seq;

/// begin and `messages` produced, left open.
Seq opened(DeliveryTracker& tracker, Lsn end_lsn, int messages = 1) {
  const Seq seq = tracker.begin(end_lsn);
  for (int i = 0; i < messages; ++i) tracker.message_produced(seq);
  return seq;
}

/// begin, `messages` produced, commit.
Seq committed(DeliveryTracker& tracker, Lsn end_lsn, int messages = 1) {
  const Seq seq = opened(tracker, end_lsn, messages);
  tracker.commit();
  return seq;
}

TEST(KafkaDelivery, CommittedTransactionIsDurableOnceEveryMessageIsDelivered) {
  DeliveryTracker tracker;
  const Seq seq = committed(tracker, 0x100, 2);
  EXPECT_EQ(tracker.durable_lsn(), 0u);
  tracker.report(seq, true);
  EXPECT_EQ(tracker.durable_lsn(), 0u);
  tracker.report(seq, true);
  EXPECT_EQ(tracker.durable_lsn(), 0x100u);
  EXPECT_EQ(tracker.in_flight(), 0u);
}

TEST(KafkaDelivery, ResumedTrackerIsDurableUpToItsStartAndMovesOnFromThere) {
  DeliveryTracker tracker(0x200);
  EXPECT_EQ(tracker.durable_lsn(), 0x200u);
  const Seq seq = committed(tracker, 0x300);
  EXPECT_EQ(tracker.durable_lsn(), 0x200u);
  tracker.report(seq, true);
  EXPECT_EQ(tracker.durable_lsn(), 0x300u);
}

TEST(KafkaDelivery, OpenTransactionIsNotDurableBeforeCommit) {
  DeliveryTracker tracker;
  tracker.report(opened(tracker, 0x100), true);
  EXPECT_EQ(tracker.durable_lsn(), 0u);
  tracker.commit();
  EXPECT_EQ(tracker.durable_lsn(), 0x100u);
}

TEST(KafkaDelivery, EndKnownOnlyAtCommitIsWhatBecomesDurable) {
  // A plugin that tells the end of a transaction only at its commit.
  DeliveryTracker tracker;
  const Seq seq = tracker.begin(0);
  tracker.message_produced(seq);
  tracker.commit(0x238);
  tracker.report(seq, true);
  EXPECT_EQ(tracker.durable_lsn(), 0x238u);
}

TEST(KafkaDelivery, TransactionWithoutMessagesIsDurableWithItsPredecessors) {
  DeliveryTracker tracker;
  const Seq first = committed(tracker, 0x100);
  committed(tracker, 0x200, 0);
  EXPECT_EQ(tracker.durable_lsn(), 0u);
  tracker.report(first, true);
  EXPECT_EQ(tracker.durable_lsn(), 0x200u);
}

TEST(KafkaDelivery, LaterTransactionWaitsForEarlierOnes) {
  DeliveryTracker tracker;
  const Seq first = committed(tracker, 0x100);
  tracker.report(committed(tracker, 0x200), true);
  EXPECT_EQ(tracker.durable_lsn(), 0u);
  EXPECT_EQ(tracker.in_flight(), 2u);
  tracker.report(first, true);
  EXPECT_EQ(tracker.durable_lsn(), 0x200u);
}

TEST(KafkaDelivery, FailedReportKeepsTheTransactionAndLaterOnesFromBeingDurable) {
  DeliveryTracker tracker;
  tracker.report(committed(tracker, 0x100), false);
  tracker.report(committed(tracker, 0x200), true);
  EXPECT_EQ(tracker.durable_lsn(), 0u);
}

// Regression: abort() used to pop the open transaction and the next begin()
// reused its sequence number, so a late report of the aborted transaction's
// message counted for the new one and made it durable before its own
// messages were delivered.
TEST(KafkaDelivery, LateReportOfAnAbortedTransactionDoesNotCountForTheNextOne) {
  DeliveryTracker tracker;
  const Seq aborted = opened(tracker, 0x100);
  tracker.abort();
  const Seq next = committed(tracker, 0x100);  // the server resends the transaction
  EXPECT_NE(next, aborted);
  tracker.report(aborted, true);
  EXPECT_EQ(tracker.durable_lsn(), 0u);
  EXPECT_EQ(tracker.in_flight(), 1u);
  tracker.report(next, true);
  EXPECT_EQ(tracker.durable_lsn(), 0x100u);
}

TEST(KafkaDelivery, AbortDropsOnlyTheOpenTransaction) {
  DeliveryTracker tracker;
  const Seq done = committed(tracker, 0x100);
  const Seq open = opened(tracker, 0x200);
  tracker.abort();
  EXPECT_EQ(tracker.in_flight(), 1u);
  tracker.report(open, true);
  EXPECT_EQ(tracker.durable_lsn(), 0u);
  tracker.report(done, true);
  EXPECT_EQ(tracker.durable_lsn(), 0x100u);
  EXPECT_EQ(tracker.in_flight(), 0u);
}

TEST(KafkaDelivery, SequencesAfterAnAbortStayInOrder) {
  DeliveryTracker tracker;
  const Seq first = committed(tracker, 0x100);
  opened(tracker, 0x200, 0);
  tracker.abort();
  tracker.report(committed(tracker, 0x300), true);
  EXPECT_EQ(tracker.durable_lsn(), 0u);
  tracker.report(first, true);
  EXPECT_EQ(tracker.durable_lsn(), 0x300u);
}

}  // namespace
}  // namespace cdc::sinks
