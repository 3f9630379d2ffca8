// DeliveryTracker: when transactions handed to Kafka count as durable.
#include <gtest/gtest.h>

#include "cdc/sinks/kafka/delivery_tracker.hpp"

namespace cdc::sinks {
namespace {

TEST(KafkaDelivery, CommittedTransactionIsDurableOnceEveryMessageIsDelivered) {
  DeliveryTracker tracker;
  const auto seq = tracker.begin(0x100);
  tracker.message_produced(seq);
  tracker.message_produced(seq);
  tracker.commit();
  EXPECT_EQ(tracker.durable_lsn(), 0u);
  tracker.report(seq, true);
  EXPECT_EQ(tracker.durable_lsn(), 0u);
  tracker.report(seq, true);
  EXPECT_EQ(tracker.durable_lsn(), 0x100u);
  EXPECT_EQ(tracker.in_flight(), 0u);
}

TEST(KafkaDelivery, OpenTransactionIsNotDurableBeforeCommit) {
  DeliveryTracker tracker;
  const auto seq = tracker.begin(0x100);
  tracker.message_produced(seq);
  tracker.report(seq, true);
  EXPECT_EQ(tracker.durable_lsn(), 0u);
  tracker.commit();
  EXPECT_EQ(tracker.durable_lsn(), 0x100u);
}

TEST(KafkaDelivery, TransactionWithoutMessagesIsDurableWithItsPredecessors) {
  DeliveryTracker tracker;
  const auto first = tracker.begin(0x100);
  tracker.message_produced(first);
  tracker.commit();
  tracker.begin(0x200);
  tracker.commit();
  EXPECT_EQ(tracker.durable_lsn(), 0u);
  tracker.report(first, true);
  EXPECT_EQ(tracker.durable_lsn(), 0x200u);
}

TEST(KafkaDelivery, LaterTransactionWaitsForEarlierOnes) {
  DeliveryTracker tracker;
  const auto first = tracker.begin(0x100);
  tracker.message_produced(first);
  tracker.commit();
  const auto second = tracker.begin(0x200);
  tracker.message_produced(second);
  tracker.commit();
  tracker.report(second, true);
  EXPECT_EQ(tracker.durable_lsn(), 0u);
  EXPECT_EQ(tracker.in_flight(), 2u);
  tracker.report(first, true);
  EXPECT_EQ(tracker.durable_lsn(), 0x200u);
}

TEST(KafkaDelivery, FailedReportKeepsTheTransactionAndLaterOnesFromBeingDurable) {
  DeliveryTracker tracker;
  const auto first = tracker.begin(0x100);
  tracker.message_produced(first);
  tracker.commit();
  const auto second = tracker.begin(0x200);
  tracker.message_produced(second);
  tracker.commit();
  tracker.report(first, false);
  tracker.report(second, true);
  EXPECT_EQ(tracker.durable_lsn(), 0u);
}

// Regression: abort() used to pop the open transaction and the next begin()
// reused its sequence number, so a late report of the aborted transaction's
// message counted for the new one and made it durable before its own
// messages were delivered.
TEST(KafkaDelivery, LateReportOfAnAbortedTransactionDoesNotCountForTheNextOne) {
  DeliveryTracker tracker;
  const auto aborted = tracker.begin(0x100);
  tracker.message_produced(aborted);
  tracker.abort();
  const auto next = tracker.begin(0x100);  // the server resends the transaction
  EXPECT_NE(next, aborted);
  tracker.message_produced(next);
  tracker.commit();
  tracker.report(aborted, true);
  EXPECT_EQ(tracker.durable_lsn(), 0u);
  EXPECT_EQ(tracker.in_flight(), 1u);
  tracker.report(next, true);
  EXPECT_EQ(tracker.durable_lsn(), 0x100u);
}

TEST(KafkaDelivery, AbortDropsOnlyTheOpenTransaction) {
  DeliveryTracker tracker;
  const auto committed = tracker.begin(0x100);
  tracker.message_produced(committed);
  tracker.commit();
  const auto open = tracker.begin(0x200);
  tracker.message_produced(open);
  tracker.abort();
  EXPECT_EQ(tracker.in_flight(), 1u);
  tracker.report(open, true);
  EXPECT_EQ(tracker.durable_lsn(), 0u);
  tracker.report(committed, true);
  EXPECT_EQ(tracker.durable_lsn(), 0x100u);
  EXPECT_EQ(tracker.in_flight(), 0u);
}

TEST(KafkaDelivery, SequencesAfterAnAbortStayInOrder) {
  DeliveryTracker tracker;
  const auto first = tracker.begin(0x100);
  tracker.message_produced(first);
  tracker.commit();
  tracker.begin(0x200);
  tracker.abort();
  const auto third = tracker.begin(0x300);
  tracker.message_produced(third);
  tracker.commit();
  tracker.report(third, true);
  EXPECT_EQ(tracker.durable_lsn(), 0u);
  tracker.report(first, true);
  EXPECT_EQ(tracker.durable_lsn(), 0x300u);
}

}  // namespace
}  // namespace cdc::sinks
