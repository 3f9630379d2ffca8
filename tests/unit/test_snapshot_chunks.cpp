// Tests for the online snapshot's watermark merge (src/pipeline/snapshot/) and
// the dispatcher's handling of watermark messages.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cdc/pipeline/dispatcher.hpp"
#include "cdc/pipeline/snapshot_chunks.hpp"
#include "support/columns.hpp"
#include "support/fake_sink.hpp"

namespace cdc::pipeline {
namespace {

using decode::Action;
using decode::Change;
using testing::number_column;
using testing::row_change;
using testing::text_column;

Change read_row(const std::string& id, const std::string& name = "n") {
  Change row = row_change(Action::Read, "plans", {number_column("id", id), text_column("name", name)});
  return row;
}

SnapshotChunk plans_chunk(std::uint64_t id, const std::vector<std::string>& keys) {
  SnapshotChunk chunk{id, "public", "plans", {"id"}, {}, {}};
  for (const auto& key : keys) chunk.rows.push_back(read_row(key));
  return chunk;
}

std::vector<std::string> emitted_keys(SnapshotChunks& chunks, std::uint64_t id) {
  std::vector<std::string> keys;
  chunks.high(id, [&](const Change& row) { keys.push_back(row.column("id")->text); });
  return keys;
}

Change message(const Watermark& mark) {
  Change change;
  change.action = Action::Message;
  change.transactional = true;
  change.prefix = std::string(kWatermarkPrefix);
  change.content = watermark_content(mark);
  return change;
}

TEST(Watermark, RoundTripsThroughItsMessage) {
  for (const Watermark mark : {Watermark{Watermark::Kind::Low, 0}, Watermark{Watermark::Kind::High, 1764662400123456789}}) {
    EXPECT_EQ(parse_watermark(message(mark)), mark) << watermark_content(mark);
  }
}

TEST(Watermark, IgnoresOtherMessages) {
  Change other = message({Watermark::Kind::Low, 7});
  other.prefix = "app";
  EXPECT_FALSE(parse_watermark(other));
  Change garbled = message({Watermark::Kind::Low, 7});
  garbled.content = R"({"chunk":"7","mark":"middle"})";
  EXPECT_FALSE(parse_watermark(garbled));
  garbled.content = R"({"chunk":"x","mark":"low"})";
  EXPECT_FALSE(parse_watermark(garbled));
  Change row = row_change(Action::Insert, "plans", {number_column("id", "1")});
  EXPECT_FALSE(parse_watermark(row));
}

TEST(SnapshotChunks, EmitsEveryRowWhenNothingChangedInTheWindow) {
  SnapshotChunks chunks;
  chunks.offer(plans_chunk(1, {"1", "2", "3"}));
  chunks.low(1);
  EXPECT_EQ(emitted_keys(chunks, 1), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(chunks.rows_emitted(), 3u);
}

TEST(SnapshotChunks, DropsRowsWhoseKeyChangedInsideTheWindow) {
  SnapshotChunks chunks;
  chunks.offer(plans_chunk(1, {"1", "2", "3", "4"}));
  chunks.low(1);
  chunks.observe(row_change(Action::Update, "plans", {number_column("id", "2")}, {number_column("id", "2")}));
  chunks.observe(row_change(Action::Delete, "plans", {}, {number_column("id", "4")}));
  chunks.observe(row_change(Action::Insert, "customer", {number_column("id", "1")}));  // another table
  EXPECT_EQ(emitted_keys(chunks, 1), (std::vector<std::string>{"1", "3"}));
}

TEST(SnapshotChunks, RowsFilledAfterTheLowWatermarkAreMergedTheSameWay) {
  SnapshotChunks chunks;
  chunks.offer(plans_chunk(1, {}));
  chunks.low(1);  // the writer passes the low watermark while the SELECT runs
  chunks.observe(row_change(Action::Update, "plans", {number_column("id", "2")}, {number_column("id", "2")}));
  chunks.fill(1, plans_chunk(1, {"1", "2", "3"}).rows);
  EXPECT_EQ(emitted_keys(chunks, 1), (std::vector<std::string>{"1", "3"}));
}

TEST(SnapshotChunks, AKeyUpdateDropsBothTheOldAndTheNewKey) {
  SnapshotChunks chunks;
  chunks.offer(plans_chunk(1, {"1", "2", "3"}));
  chunks.low(1);
  chunks.observe(row_change(Action::Update, "plans", {number_column("id", "3")}, {number_column("id", "1")}));
  EXPECT_EQ(emitted_keys(chunks, 1), (std::vector<std::string>{"2"}));
}

TEST(SnapshotChunks, ChangesOutsideTheWindowKeepTheRows) {
  SnapshotChunks chunks;
  chunks.offer(plans_chunk(1, {"1", "2"}));
  // Before the low watermark: the SELECT saw this change already.
  chunks.observe(row_change(Action::Update, "plans", {number_column("id", "1")}, {number_column("id", "1")}));
  chunks.low(1);
  EXPECT_EQ(emitted_keys(chunks, 1), (std::vector<std::string>{"1", "2"}));
  // After the high watermark: it follows the read on the topic.
  chunks.observe(row_change(Action::Delete, "plans", {}, {number_column("id", "2")}));
  chunks.low(1);
  EXPECT_EQ(emitted_keys(chunks, 1), (std::vector<std::string>{"1", "2"}));
}

TEST(SnapshotChunks, ATruncateInsideTheWindowDropsTheChunk) {
  SnapshotChunks chunks;
  chunks.offer(plans_chunk(1, {"1", "2"}));
  chunks.low(1);
  Change truncate;
  truncate.action = Action::Truncate;
  truncate.schema = "public";
  truncate.table = "plans";
  chunks.observe(truncate);
  EXPECT_TRUE(emitted_keys(chunks, 1).empty());
}

TEST(SnapshotChunks, AReplayedWindowEmitsAgainUntilRetired) {
  SnapshotChunks chunks;
  chunks.offer(plans_chunk(1, {"1", "2"}));
  chunks.low(1);
  chunks.observe(row_change(Action::Insert, "plans", {number_column("id", "2")}));
  EXPECT_EQ(emitted_keys(chunks, 1), (std::vector<std::string>{"1"}));
  // A reconnect replays the window from its low watermark: the same outcome.
  chunks.low(1);
  chunks.observe(row_change(Action::Insert, "plans", {number_column("id", "2")}));
  EXPECT_EQ(emitted_keys(chunks, 1), (std::vector<std::string>{"1"}));
  chunks.retire(1);
  chunks.low(1);
  EXPECT_TRUE(emitted_keys(chunks, 1).empty());
}

TEST(SnapshotChunks, TheEmittedEndIsKnownOnlyOnceItsTransactionCommitted) {
  SnapshotChunks chunks;
  chunks.offer(plans_chunk(1, {"1"}));
  chunks.low(1);
  chunks.high(1, [](const Change&) {});
  EXPECT_FALSE(chunks.emitted_end(1));
  chunks.committed(1, 500);
  EXPECT_EQ(chunks.emitted_end(1), std::optional<Lsn>(500));
  chunks.retire(1);
  EXPECT_FALSE(chunks.emitted_end(1));
}

TEST(SnapshotChunks, WatermarksOfChunksNotOfferedAreIgnored) {
  SnapshotChunks chunks;
  chunks.low(9);
  chunks.observe(row_change(Action::Insert, "plans", {number_column("id", "2")}));
  EXPECT_TRUE(emitted_keys(chunks, 9).empty());
  EXPECT_EQ(chunks.rows_emitted(), 0u);
}

TEST(SnapshotChunks, CompositeKeysCompareEveryColumn) {
  SnapshotChunks chunks;
  SnapshotChunk chunk{1, "public", "plans", {"a", "b"}, {}, {}};
  chunk.rows.push_back(row_change(Action::Read, "plans", {number_column("a", "1"), number_column("b", "2")}));
  chunk.rows.push_back(row_change(Action::Read, "plans", {number_column("a", "12"), number_column("b", "")}));
  chunks.offer(std::move(chunk));
  chunks.low(1);
  chunks.observe(row_change(Action::Insert, "plans", {number_column("a", "1"), number_column("b", "22")}));
  std::size_t emitted = chunks.high(1, [](const Change&) {});
  EXPECT_EQ(emitted, 2u);
}

TEST(SnapshotChunks, AnInvisibleTransactionCommittedBeforeTheLowWatermarkMeansReadAgain) {
  SnapshotChunks chunks;
  chunks.offer(plans_chunk(1, {}));
  chunks.transaction_committed(41);
  chunks.transaction_committed(42);  // committed before the low watermark...
  chunks.low(1);
  chunks.fill(1, plans_chunk(1, {"1", "2"}).rows, {42, 77});  // ...but not visible to the SELECT
  EXPECT_TRUE(emitted_keys(chunks, 1).empty()) << "the rows could undo transaction 42's changes";
  EXPECT_TRUE(chunks.needs_reread(1));
}

TEST(SnapshotChunks, InvisibleTransactionsCommittedInTheWindowOrLaterKeepTheRows) {
  SnapshotChunks chunks;
  chunks.offer(plans_chunk(1, {}));
  chunks.transaction_committed(41);
  chunks.low(1);
  chunks.transaction_committed(42);  // in the window: its keys are dropped, the rest is good
  chunks.fill(1, plans_chunk(1, {"1", "2"}).rows, {42, 77});
  EXPECT_EQ(emitted_keys(chunks, 1), (std::vector<std::string>{"1", "2"}));
  EXPECT_FALSE(chunks.needs_reread(1));
  EXPECT_FALSE(chunks.needs_reread(2)) << "a chunk not offered";
}

TEST(SnapshotChunks, CommitsAreNotedOnlyWhileChunksAreOffered) {
  SnapshotChunks chunks;
  chunks.transaction_committed(42);  // no snapshot running: not noted
  chunks.offer(plans_chunk(1, {}));
  chunks.low(1);
  chunks.fill(1, plans_chunk(1, {"1"}).rows, {42});
  EXPECT_EQ(emitted_keys(chunks, 1), (std::vector<std::string>{"1"}));
  chunks.clear();
  chunks.transaction_committed(43);
  chunks.offer(plans_chunk(2, {}));
  chunks.low(2);
  chunks.fill(2, plans_chunk(2, {"1"}).rows, {43});
  EXPECT_EQ(emitted_keys(chunks, 2), (std::vector<std::string>{"1"}));
}

// ---------------------------------------------------------------------------
// The dispatcher merges chunks at their watermarks, in the high watermark's transaction.

StreamEvent frame(Action action, std::uint32_t xid, Lsn commit_lsn, Lsn end_lsn) {
  StreamEvent event;
  event.change.action = action;
  event.change.xid = xid;
  event.change.lsn = commit_lsn;
  event.change.next_lsn = end_lsn;
  event.wal_position = end_lsn;
  return event;
}

StreamEvent watermark_event(const Watermark& mark, std::uint32_t xid, Lsn lsn) {
  StreamEvent event;
  event.change = message(mark);
  event.change.xid = xid;
  event.change.lsn = lsn;
  event.wal_position = lsn;
  return event;
}

StreamEvent plans_event(Action action, const std::string& id, std::uint32_t xid, Lsn lsn) {
  StreamEvent event;
  event.change = row_change(action, "plans", {number_column("id", id)}, {number_column("id", id)}, lsn, xid);
  event.wal_position = lsn;
  return event;
}

/// One transaction of the stream: its begin, `event` (of the same xid), its commit.
void transaction(Dispatcher& dispatcher, std::uint32_t xid, Lsn commit_lsn, Lsn end_lsn, const StreamEvent& event) {
  dispatcher.handle(frame(Action::Begin, xid, commit_lsn, end_lsn));
  dispatcher.handle(event);
  dispatcher.handle(frame(Action::Commit, xid, commit_lsn, end_lsn));
}

TEST(DispatcherWatermarks, ReadsGoOutInTheHighWatermarksTransactionWithoutTheChangedKeys) {
  test::FakeSink sink("kafka");
  SnapshotChunks chunks;
  Dispatcher dispatcher({&sink}, 0, false, {}, &chunks);
  chunks.offer(plans_chunk(5, {"1", "2", "3"}));
  transaction(dispatcher, 10, 100, 110, watermark_event({Watermark::Kind::Low, 5}, 10, 105));
  transaction(dispatcher, 11, 200, 210, plans_event(Action::Update, "2", 11, 205));
  transaction(dispatcher, 12, 300, 310, watermark_event({Watermark::Kind::High, 5}, 12, 305));

  std::vector<std::pair<Action, Lsn>> seen;
  std::vector<std::uint32_t> read_xids;
  for (const auto& call : sink.calls) {
    if (call.what != "change") continue;
    seen.emplace_back(call.action, call.change_lsn);
    if (call.action == Action::Read) read_xids.push_back(call.txn.xid);
  }
  const std::vector<std::pair<Action, Lsn>> expected = {
      {Action::Update, 205}, {Action::Read, 305}, {Action::Read, 305}};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(read_xids, (std::vector<std::uint32_t>{12, 12}));
  EXPECT_EQ(dispatcher.changes(), 1u) << "reads are not counted as the stream's changes";
  EXPECT_EQ(chunks.emitted_end(5), std::optional<Lsn>(310)) << "the snapshot thread waits for this position";
}

TEST(DispatcherWatermarks, CommitsBeforeTheLowWatermarkAreCheckedAgainstTheInvisibleTransactions) {
  test::FakeSink sink("kafka");
  SnapshotChunks chunks;
  Dispatcher dispatcher({&sink}, 0, false, {}, &chunks);
  chunks.offer(plans_chunk(5, {}));
  transaction(dispatcher, 9, 90, 95, plans_event(Action::Update, "2", 9, 92));
  transaction(dispatcher, 10, 100, 110, watermark_event({Watermark::Kind::Low, 5}, 10, 105));
  chunks.fill(5, plans_chunk(5, {"1", "2"}).rows, {9});  // the SELECT did not see transaction 9
  transaction(dispatcher, 12, 300, 310, watermark_event({Watermark::Kind::High, 5}, 12, 305));
  for (const auto& call : sink.calls) EXPECT_NE(call.action, Action::Read);
  EXPECT_TRUE(chunks.needs_reread(5));
  EXPECT_EQ(chunks.emitted_end(5), std::optional<Lsn>(310));
}

TEST(DispatcherWatermarks, WithoutChunksWatermarksAreIgnored) {
  test::FakeSink sink("kafka");
  Dispatcher dispatcher({&sink}, 0);
  transaction(dispatcher, 12, 300, 310, watermark_event({Watermark::Kind::High, 5}, 12, 305));
  EXPECT_EQ(sink.call_names(), (std::vector<std::string>{"begin", "commit"}));
}

}  // namespace
}  // namespace cdc::pipeline
