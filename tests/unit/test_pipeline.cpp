// Tests for the dispatcher (src/pipeline/dispatcher.cpp) and BoundedQueue.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cdc/decode/change.hpp"
#include "cdc/pipeline/bounded_queue.hpp"
#include "cdc/pipeline/dispatcher.hpp"
#include "cdc/sinks/sink.hpp"
#include "support/fake_sink.hpp"

namespace cdc::pipeline {
namespace {

using decode::Action;
using decode::Change;
using sinks::TxnInfo;
using test::FakeSink;

StreamEvent begin_ev(std::uint32_t xid, Lsn commit_lsn, Lsn end_lsn, std::int64_t time_us = 0) {
  StreamEvent event;
  event.change.action = Action::Begin;
  event.change.xid = xid;
  event.change.lsn = commit_lsn;
  event.change.next_lsn = end_lsn;
  event.change.timestamp_us = time_us;
  event.wal_position = end_lsn;
  return event;
}

StreamEvent commit_ev(std::uint32_t xid, Lsn commit_lsn, Lsn end_lsn, std::int64_t time_us = 0) {
  StreamEvent event = begin_ev(xid, commit_lsn, end_lsn, time_us);
  event.change.action = Action::Commit;
  return event;
}

StreamEvent row_ev(Action action, std::uint32_t xid, Lsn lsn) {
  StreamEvent event;
  event.change.action = action;
  event.change.xid = xid;
  event.change.lsn = lsn;
  event.change.schema = "public";
  event.change.table = "customer";
  event.wal_position = lsn;
  return event;
}

StreamEvent message_ev(bool transactional, std::uint32_t xid = 0) {
  StreamEvent event;
  event.change.action = Action::Message;
  event.change.transactional = transactional;
  event.change.xid = xid;
  event.change.prefix = "p";
  event.change.content = "c";
  return event;
}

/// One transaction: B, `rows` inserts, C.
void run_txn(Dispatcher& d, std::uint32_t xid, Lsn commit_lsn, Lsn end_lsn, int rows = 1, std::int64_t time_us = 0) {
  d.handle(begin_ev(xid, commit_lsn, end_lsn, time_us));
  for (int i = 0; i < rows; ++i) d.handle(row_ev(Action::Insert, xid, commit_lsn - 0x10 + static_cast<Lsn>(i)));
  d.handle(commit_ev(xid, commit_lsn, end_lsn, time_us));
}

// ---- Dispatcher: ordering and TxnInfo ---------------------------------------

TEST(Dispatcher, DispatchesTransactionsInOrderWithTxnInfo) {
  FakeSink sink("a");
  Dispatcher d({&sink}, 0);
  d.handle(begin_ev(500, 0x1000, 0x1038, 1'700'000'000'000'001));
  d.handle(row_ev(Action::Insert, 500, 0x0F00));
  d.handle(row_ev(Action::Update, 500, 0x0F40));
  d.handle(row_ev(Action::Delete, 500, 0x0F80));
  d.handle(commit_ev(500, 0x1000, 0x1038, 1'700'000'000'000'001));
  run_txn(d, 501, 0x2000, 0x2038, 1, 1'700'000'000'000'002);

  EXPECT_EQ(sink.call_names(), (std::vector<std::string>{"begin", "change", "change", "change", "commit", "begin",
                                                         "change", "commit"}));
  const auto& first = sink.calls[0].txn;
  EXPECT_EQ(first.xid, 500u);
  EXPECT_EQ(first.commit_lsn, 0x1000u);
  EXPECT_EQ(first.end_lsn, 0x1038u);
  EXPECT_EQ(first.commit_time_us, 1'700'000'000'000'001);
  for (int i = 1; i <= 4; ++i) {
    EXPECT_EQ(sink.calls[i].txn.xid, 500u) << i;
    EXPECT_EQ(sink.calls[i].txn.end_lsn, 0x1038u) << i;
  }
  EXPECT_EQ(sink.calls[1].action, Action::Insert);
  EXPECT_EQ(sink.calls[2].action, Action::Update);
  EXPECT_EQ(sink.calls[3].action, Action::Delete);
  EXPECT_EQ(sink.calls[2].change_lsn, 0x0F40u);
  EXPECT_EQ(sink.calls[5].txn.xid, 501u);
  EXPECT_EQ(sink.calls[5].txn.commit_lsn, 0x2000u);
  EXPECT_EQ(sink.calls[7].txn.end_lsn, 0x2038u);
  EXPECT_EQ(sink.calls[7].txn.commit_time_us, 1'700'000'000'000'002);

  EXPECT_EQ(d.transactions(), 2u);
  EXPECT_EQ(d.changes(), 4u);
  EXPECT_EQ(d.last_commit_end(), 0x2038u);
  EXPECT_EQ(d.last_commit_time_us(), 1'700'000'000'000'002);
  EXPECT_FALSE(d.in_transaction());
}

TEST(Dispatcher, InTransactionTracksBeginAndCommit) {
  FakeSink sink("a");
  Dispatcher d({&sink}, 0);
  EXPECT_FALSE(d.in_transaction());
  d.handle(begin_ev(1, 0x100, 0x138));
  EXPECT_TRUE(d.in_transaction());
  d.handle(commit_ev(1, 0x100, 0x138));
  EXPECT_FALSE(d.in_transaction());
}

TEST(Dispatcher, EverySinkGetsEveryTransaction) {
  FakeSink a("a"), b("b");
  Dispatcher d({&a, &b}, 0);
  run_txn(d, 1, 0x100, 0x138);
  run_txn(d, 2, 0x200, 0x238);
  EXPECT_EQ(a.committed_xids(), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(b.committed_xids(), (std::vector<std::uint32_t>{1, 2}));
}

// ---- resume positions --------------------------------------------------------

TEST(Dispatcher, SinkSkipsTransactionsItAlreadyHolds) {
  FakeSink behind("behind", 0x100);
  FakeSink ahead("ahead", 0x238);  // holds everything up to and including xid 2
  Dispatcher d({&behind, &ahead}, 0x100);
  run_txn(d, 1, 0x200 - 0x38, 0x200);  // end 0x200 <= 0x238: ahead skips
  run_txn(d, 2, 0x200, 0x238);         // end == resume position: ahead skips
  run_txn(d, 3, 0x300, 0x338);         // beyond: both take it
  EXPECT_EQ(behind.committed_xids(), (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_EQ(ahead.committed_xids(), (std::vector<std::uint32_t>{3}));
  EXPECT_EQ(ahead.count("begin"), 1u);
  EXPECT_EQ(ahead.count("change"), 1u);
  EXPECT_EQ(behind.count("change"), 3u);
  EXPECT_EQ(d.changes(), 3u);
  EXPECT_EQ(d.transactions(), 3u);
}

TEST(Dispatcher, TransactionEndingAtOrBelowResumeIsSkippedForAllSinksThatHoldIt) {
  FakeSink a("a", 0x1000);
  Dispatcher d({&a}, 0x1000);
  run_txn(d, 7, 0x900, 0x938);
  EXPECT_TRUE(a.calls.empty());
  EXPECT_EQ(d.transactions(), 1u);
  EXPECT_EQ(d.acknowledged(), 0x1000u);  // never below start
}

TEST(Dispatcher, BeginWithoutEndPositionStillReachesEverySink) {
  // A plugin whose begin tells only the commit LSN (pgoutput): the sinks take
  // the transaction and learn its end at commit.
  FakeSink sink("a", 0x100);
  Dispatcher d({&sink}, 0x100);
  d.handle(begin_ev(9, 0x200, 0));
  d.handle(row_ev(Action::Insert, 9, 0x1F0));
  StreamEvent commit = commit_ev(9, 0x200, 0x238);
  d.handle(commit);
  EXPECT_EQ(sink.committed_xids(), (std::vector<std::uint32_t>{9}));
  EXPECT_EQ(sink.calls.back().txn.end_lsn, 0x238u);
  EXPECT_EQ(d.last_commit_end(), 0x238u);
}

TEST(Dispatcher, TakesDecidesFromTheCommitLsn) {
  FakeSink sink("a", 0x238);  // holds everything that ended at or below 0x238
  EXPECT_FALSE(Dispatcher::takes(sink, 0x200));  // committed at 0x200, ended at 0x238
  EXPECT_TRUE(Dispatcher::takes(sink, 0x238));   // the next commit record starts where that one ended
  EXPECT_TRUE(Dispatcher::takes(sink, 0x300));
}

// ---- acknowledgement ---------------------------------------------------------

TEST(Dispatcher, AcknowledgedIsStartInitially) {
  FakeSink a("a", 0x500);
  Dispatcher d({&a}, 0x500);
  EXPECT_EQ(d.acknowledged(), 0x500u);
}

TEST(Dispatcher, AcknowledgedNeverBelowStart) {
  FakeSink a("a", 0);  // durable 0, below the slot's confirmed position
  Dispatcher d({&a}, 0x500);
  EXPECT_EQ(d.acknowledged(), 0x500u);
  run_txn(d, 1, 0x600, 0x638);
  EXPECT_EQ(d.acknowledged(), 0x500u);  // committed but not durable
  d.flush();
  EXPECT_EQ(d.acknowledged(), 0x638u);
}

TEST(Dispatcher, AcknowledgedIsMinimumOverSinksDurable) {
  FakeSink a("a"), b("b");
  Dispatcher d({&a, &b}, 0x100);
  run_txn(d, 1, 0x200, 0x238);
  run_txn(d, 2, 0x300, 0x338);
  EXPECT_EQ(d.acknowledged(), 0x100u);
  a.flush();  // a durable through xid 2, b nothing
  EXPECT_EQ(a.durable_lsn(), 0x338u);
  EXPECT_EQ(d.acknowledged(), 0x100u);
  b.flush();
  EXPECT_EQ(d.acknowledged(), 0x338u);
  run_txn(d, 3, 0x400, 0x438);
  b.flush();
  EXPECT_EQ(d.acknowledged(), 0x338u);  // a still at xid 2
  a.flush();
  EXPECT_EQ(d.acknowledged(), 0x438u);
}

TEST(Dispatcher, AcknowledgedNeverBeyondLastCompleteCommit) {
  // A sink that already holds far more (from an earlier run) must not push the
  // acknowledgement past what this stream has delivered in full.
  FakeSink ahead("ahead", 0x9000);
  Dispatcher d({&ahead}, 0x100);
  EXPECT_EQ(d.acknowledged(), 0x100u);
  run_txn(d, 1, 0x200, 0x238);
  EXPECT_EQ(d.acknowledged(), 0x238u);
  d.handle(begin_ev(2, 0x300, 0x338));
  d.handle(row_ev(Action::Insert, 2, 0x2F0));
  EXPECT_EQ(d.acknowledged(), 0x238u);  // open transaction is not acknowledged
  d.handle(commit_ev(2, 0x300, 0x338));
  EXPECT_EQ(d.acknowledged(), 0x338u);
  EXPECT_TRUE(ahead.calls.empty());
}

TEST(Dispatcher, EmptyTransactionIsAcknowledgedOnceDurable) {
  FakeSink a("a");
  Dispatcher d({&a}, 0x100);
  d.handle(begin_ev(9, 0x200, 0x238));
  d.handle(commit_ev(9, 0x200, 0x238));
  EXPECT_EQ(a.call_names(), (std::vector<std::string>{"begin", "commit"}));
  EXPECT_EQ(d.transactions(), 1u);
  EXPECT_EQ(d.changes(), 0u);
  EXPECT_EQ(d.last_commit_end(), 0x238u);
  EXPECT_EQ(d.acknowledged(), 0x100u);
  d.flush();
  EXPECT_EQ(d.acknowledged(), 0x238u);
}

TEST(Dispatcher, WithoutSinksAcknowledgesLastCommit) {
  Dispatcher d({}, 0x100);
  run_txn(d, 1, 0x200, 0x238);
  EXPECT_EQ(d.acknowledged(), 0x238u);
}

// ---- flush -------------------------------------------------------------------

TEST(Dispatcher, FlushIsNotPassedThroughInsideATransaction) {
  FakeSink a("a");
  Dispatcher d({&a}, 0);
  d.handle(begin_ev(1, 0x100, 0x138));
  d.flush();
  EXPECT_EQ(a.count("flush"), 0u);
  d.handle(commit_ev(1, 0x100, 0x138));
  d.flush();
  EXPECT_EQ(a.count("flush"), 1u);
  EXPECT_EQ(a.durable_lsn(), 0x138u);
}

TEST(Dispatcher, FlushesSinksThatWantItAfterCommit) {
  FakeSink eager("eager"), lazy("lazy");
  eager.want_flush = true;
  Dispatcher d({&eager, &lazy}, 0);
  run_txn(d, 1, 0x100, 0x138);
  EXPECT_EQ(eager.call_names(), (std::vector<std::string>{"begin", "change", "commit", "flush"}));
  EXPECT_EQ(lazy.count("flush"), 0u);
  EXPECT_EQ(eager.durable_lsn(), 0x138u);
  EXPECT_EQ(d.acknowledged(), 0u);  // lazy is not durable yet
}

// ---- sequence errors -----------------------------------------------------------

TEST(Dispatcher, BeginInsideTransactionThrows) {
  FakeSink a("a");
  Dispatcher d({&a}, 0);
  d.handle(begin_ev(1, 0x100, 0x138));
  EXPECT_THROW(d.handle(begin_ev(2, 0x200, 0x238)), SequenceError);
}

TEST(Dispatcher, CommitWithoutBeginThrows) {
  FakeSink a("a");
  Dispatcher d({&a}, 0);
  EXPECT_THROW(d.handle(commit_ev(1, 0x100, 0x138)), SequenceError);
  EXPECT_TRUE(a.calls.empty());
  EXPECT_EQ(d.transactions(), 0u);
}

TEST(Dispatcher, CommitOfAnotherXidThrows) {
  FakeSink a("a");
  Dispatcher d({&a}, 0);
  d.handle(begin_ev(1, 0x100, 0x138));
  EXPECT_THROW(d.handle(commit_ev(2, 0x100, 0x138)), SequenceError);
  EXPECT_EQ(a.count("commit"), 0u);
}

TEST(Dispatcher, RowChangeOutsideTransactionThrows) {
  for (const Action action : {Action::Insert, Action::Update, Action::Delete, Action::Truncate}) {
    FakeSink a("a");
    Dispatcher d({&a}, 0);
    EXPECT_THROW(d.handle(row_ev(action, 1, 0x100)), SequenceError) << static_cast<char>(action);
    EXPECT_TRUE(a.calls.empty());
  }
}

TEST(Dispatcher, TransactionalMessageOutsideTransactionThrows) {
  FakeSink a("a");
  Dispatcher d({&a}, 0);
  EXPECT_THROW(d.handle(message_ev(true, 5)), SequenceError);
}

TEST(Dispatcher, NonTransactionalMessageOutsideTransactionIsIgnored) {
  FakeSink a("a");
  Dispatcher d({&a}, 0);
  EXPECT_NO_THROW(d.handle(message_ev(false)));
  EXPECT_TRUE(a.calls.empty());
  EXPECT_FALSE(d.in_transaction());
  EXPECT_EQ(d.changes(), 0u);
}

TEST(Dispatcher, MessagesInsideTransactionAreNotRowChanges) {
  FakeSink a("a");
  Dispatcher d({&a}, 0);
  d.handle(begin_ev(1, 0x100, 0x138));
  d.handle(message_ev(true, 1));
  d.handle(message_ev(false));
  d.handle(commit_ev(1, 0x100, 0x138));
  EXPECT_EQ(a.call_names(), (std::vector<std::string>{"begin", "commit"}));
  EXPECT_EQ(d.changes(), 0u);
}

// ---- abort ---------------------------------------------------------------------

TEST(Dispatcher, AbortReachesEverySink) {
  FakeSink a("a"), b("b", 0x9000);  // b does not take the open transaction
  Dispatcher d({&a, &b}, 0);
  d.handle(begin_ev(1, 0x100, 0x138));
  d.handle(row_ev(Action::Insert, 1, 0xF0));
  d.abort();
  EXPECT_EQ(a.count("abort"), 1u);
  EXPECT_EQ(b.count("abort"), 1u);
  EXPECT_FALSE(d.in_transaction());
  // After an abort the server resends from the acknowledged position.
  run_txn(d, 1, 0x100, 0x138);
  EXPECT_EQ(a.committed_xids(), (std::vector<std::uint32_t>{1}));
  EXPECT_EQ(a.count("begin"), 2u);
}

TEST(Dispatcher, AbortBetweenTransactionsReachesEverySink) {
  FakeSink a("a"), b("b");
  Dispatcher d({&a, &b}, 0);
  run_txn(d, 1, 0x100, 0x138);
  d.abort();
  EXPECT_EQ(a.count("abort"), 1u);
  EXPECT_EQ(b.count("abort"), 1u);
  EXPECT_EQ(d.acknowledged(), 0u);  // nothing was durable
}

// ---- BoundedQueue ----------------------------------------------------------------

using namespace std::chrono_literals;

TEST(BoundedQueue, PushPopInOrder) {
  BoundedQueue<int> q(10);
  EXPECT_TRUE(q.empty());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.push(int{i}, 1, 0ms));
  EXPECT_FALSE(q.empty());
  EXPECT_EQ(q.weight(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(q.pop(0ms), std::optional<int>(i));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.weight(), 0u);
}

TEST(BoundedQueue, PopOnEmptyTimesOut) {
  BoundedQueue<int> q(1);
  EXPECT_EQ(q.pop(1ms), std::nullopt);
}

TEST(BoundedQueue, RejectedPushLeavesTheItemIntact) {
  // The reader retries a push of its pending batch until there is room: a
  // timed-out push must not have consumed the batch.
  BoundedQueue<std::vector<int>> q(1);
  std::vector<int> first{1};
  ASSERT_TRUE(q.push(std::move(first), 1, 0ms));
  std::vector<int> batch{2, 3, 4};
  EXPECT_FALSE(q.push(std::move(batch), 1, 1ms));
  EXPECT_EQ(batch, (std::vector<int>{2, 3, 4}));
  ASSERT_TRUE(q.pop(0ms).has_value());
  ASSERT_TRUE(q.push(std::move(batch), 1, 0ms));
  EXPECT_EQ(q.pop(0ms), std::optional<std::vector<int>>(std::vector<int>{2, 3, 4}));
}

TEST(BoundedQueue, FullQueueRejectsPushAfterTimeout) {
  BoundedQueue<int> q(3);
  ASSERT_TRUE(q.push(1, 2, 0ms));
  ASSERT_TRUE(q.push(2, 1, 0ms));
  EXPECT_EQ(q.weight(), 3u);
  EXPECT_FALSE(q.push(3, 1, 5ms));
  EXPECT_EQ(q.weight(), 3u);
  EXPECT_EQ(q.pop(0ms), std::optional<int>(1));
  EXPECT_FALSE(q.push(3, 3, 1ms));  // 1 + 3 > 3
  EXPECT_TRUE(q.push(3, 2, 0ms));   // 1 + 2 <= 3
  EXPECT_EQ(q.pop(0ms), std::optional<int>(2));
  EXPECT_EQ(q.pop(0ms), std::optional<int>(3));
}

TEST(BoundedQueue, OversizeItemIsAcceptedIntoEmptyQueue) {
  BoundedQueue<std::string> q(2);
  ASSERT_TRUE(q.push("big", 100, 0ms));
  EXPECT_EQ(q.weight(), 100u);
  EXPECT_FALSE(q.push("small", 1, 1ms));  // not empty and over capacity
  EXPECT_EQ(q.pop(0ms), std::optional<std::string>("big"));
  EXPECT_TRUE(q.push("small", 1, 0ms));
}

TEST(BoundedQueue, BlockedPushProceedsAfterPop) {
  BoundedQueue<int> q(1);
  ASSERT_TRUE(q.push(1, 1, 0ms));
  bool pushed = false;
  std::thread producer([&] { pushed = q.push(2, 1, 60s); });
  EXPECT_EQ(q.pop(60s), std::optional<int>(1));
  producer.join();
  EXPECT_TRUE(pushed);
  EXPECT_EQ(q.pop(0ms), std::optional<int>(2));
}

TEST(BoundedQueue, CloseWakesWaitingPop) {
  BoundedQueue<int> q(4);
  std::optional<int> popped = 42;
  std::thread consumer([&] { popped = q.pop(60s); });  // would wait a minute without close()
  q.close();
  consumer.join();
  EXPECT_EQ(popped, std::nullopt);
  EXPECT_TRUE(q.closed());
}

TEST(BoundedQueue, CloseWakesWaitingPush) {
  BoundedQueue<int> q(1);
  ASSERT_TRUE(q.push(1, 1, 0ms));
  bool pushed = true;
  std::thread producer([&] { pushed = q.push(2, 1, 60s); });
  q.close();
  producer.join();
  EXPECT_FALSE(pushed);
  EXPECT_EQ(q.pop(0ms), std::optional<int>(1));
  EXPECT_EQ(q.pop(0ms), std::nullopt);
}

TEST(BoundedQueue, CloseDrainsRemainingItemsThenRejects) {
  BoundedQueue<int> q(10);
  ASSERT_TRUE(q.push(1, 1, 0ms));
  ASSERT_TRUE(q.push(2, 1, 0ms));
  q.close();
  EXPECT_FALSE(q.push(3, 1, 0ms));
  EXPECT_EQ(q.pop(0ms), std::optional<int>(1));
  EXPECT_EQ(q.pop(60s), std::optional<int>(2));
  EXPECT_EQ(q.pop(60s), std::nullopt);  // closed and empty: returns at once
  EXPECT_TRUE(q.empty());
}

TEST(BoundedQueue, MoveOnlyItems) {
  BoundedQueue<std::unique_ptr<int>> q(2);
  ASSERT_TRUE(q.push(std::make_unique<int>(7), 1, 0ms));
  auto item = q.pop(0ms);
  ASSERT_TRUE(item.has_value());
  ASSERT_NE(*item, nullptr);
  EXPECT_EQ(**item, 7);
}

}  // namespace
}  // namespace cdc::pipeline

namespace cdc::pipeline {
namespace {

StreamEvent undecodable_ev(Lsn wal_position, std::string raw) {
  StreamEvent event;
  event.wal_position = wal_position;
  event.dead_letter = std::make_unique<sinks::DeadLetter>(sinks::DeadLetter{wal_position, "bad json", std::move(raw)});
  return event;
}

TEST(DispatcherDeadLetters, UndecodableMessageGoesToEverySinkTakingTheTransaction) {
  FakeSink a("a");
  FakeSink b("b", 0x1038);  // already holds the first transaction
  Dispatcher d({&a, &b}, 0, /*dead_letters=*/true);
  d.handle(begin_ev(500, 0x1000, 0x1038));
  d.handle(undecodable_ev(0x0F00, "{\"action\":\"I\",garbage"));
  d.handle(commit_ev(500, 0x1000, 0x1038));
  d.handle(begin_ev(501, 0x2000, 0x2038));
  d.handle(undecodable_ev(0x1F00, "x"));
  d.handle(row_ev(Action::Insert, 501, 0x1F40));
  d.handle(commit_ev(501, 0x2000, 0x2038));

  EXPECT_EQ(a.call_names(), (std::vector<std::string>{"begin", "dead_letter", "commit", "begin", "dead_letter",
                                                      "change", "commit"}));
  EXPECT_EQ(b.call_names(), (std::vector<std::string>{"begin", "dead_letter", "change", "commit"}));
  ASSERT_EQ(a.letters.size(), 2u);
  EXPECT_EQ(a.letters[0].wal_position, 0x0F00u);
  EXPECT_EQ(a.letters[0].raw, "{\"action\":\"I\",garbage");
  EXPECT_EQ(a.letters[0].reason, "bad json");
  EXPECT_EQ(d.dead_letters(), 2u);
  EXPECT_EQ(d.changes(), 1u);  // a dead letter is not a change
}

TEST(DispatcherDeadLetters, UndecodableMessageOutsideATransactionIsASequenceError) {
  FakeSink a("a");
  Dispatcher d({&a}, 0, true);
  EXPECT_THROW(d.handle(undecodable_ev(0x0F00, "garbage")), SequenceError);
  EXPECT_TRUE(a.letters.empty());
}

TEST(DispatcherDeadLetters, ChangeRejectedByOneSinkIsADeadLetterForAll) {
  FakeSink a("a");
  FakeSink b("b");
  b.reject_action = Action::Update;
  Dispatcher d({&a, &b}, 0, true);
  d.handle(begin_ev(500, 0x1000, 0x1038));
  StreamEvent update = row_ev(Action::Update, 500, 0x0F00);
  update.change.columns.push_back({"uuid", "uuid", decode::ValueKind::String, "u-1"});
  d.handle(update);
  d.handle(row_ev(Action::Insert, 500, 0x0F40));
  d.handle(commit_ev(500, 0x1000, 0x1038));

  for (const FakeSink* sink : {&a, &b}) {
    EXPECT_EQ(sink->call_names(), (std::vector<std::string>{"begin", "dead_letter", "change", "commit"}))
        << sink->name();
    ASSERT_EQ(sink->letters.size(), 1u);
    EXPECT_EQ(sink->letters[0].reason, "no column 'plan_id'");
    EXPECT_EQ(sink->letters[0].wal_position, 0x0F00u);
    // The change as wal2json, for the operator to see what was skipped.
    EXPECT_NE(sink->letters[0].raw.find("\"action\":\"U\""), std::string::npos) << sink->letters[0].raw;
    EXPECT_NE(sink->letters[0].raw.find("\"u-1\""), std::string::npos) << sink->letters[0].raw;
  }
}

TEST(DispatcherDeadLetters, RejectsIsNotAskedWhenDeadLetteringIsOff) {
  FakeSink a("a");
  a.reject_action = Action::Update;
  Dispatcher d({&a}, 0);
  d.handle(begin_ev(500, 0x1000, 0x1038));
  d.handle(row_ev(Action::Update, 500, 0x0F00));
  d.handle(commit_ev(500, 0x1000, 0x1038));
  EXPECT_EQ(a.call_names(), (std::vector<std::string>{"begin", "change", "commit"}));
  EXPECT_EQ(d.dead_letters(), 0u);
}

}  // namespace
}  // namespace cdc::pipeline
