// Tests for the session's two threads together (run_pipeline: the Reader and
// the Writer of cdc/pipeline/) on a scripted stream: decoding into pooled Changes, commit
// order into the sinks, status updates, dead letters and poison messages.
#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "cdc/decode/wal2json/wal2json.hpp"
#include "cdc/pipeline/session.hpp"
#include "cdc/pipeline/stream_stalled.hpp"
#include "support/fake_sink.hpp"
#include "support/scripted_stream.hpp"

namespace cdc::pipeline {
namespace {

using test::FakeSink;
using test::ScriptedStream;

std::string begin_json(std::uint32_t xid, const char* lsn, const char* next) {
  return fmt::format(R"({{"action":"B","xid":{},"timestamp":"2026-11-25 07:16:53.940085+00","lsn":"{}","nextlsn":"{}"}})",
                     xid, lsn, next);
}
std::string commit_json(std::uint32_t xid, const char* lsn, const char* next) {
  std::string json = begin_json(xid, lsn, next);
  json[11] = 'C';
  return json;
}
std::string insert_json(std::uint32_t xid, const char* lsn, int id) {
  return fmt::format(R"({{"action":"I","xid":{},"timestamp":"2026-11-25 07:16:53.940085+00","lsn":"{}",)"
                     R"("schema":"public","table":"plans","columns":[{{"name":"id","type":"bigint","value":{}}}]}})",
                     xid, lsn, id);
}

/// A session on the scripted stream until the writer has taken `transactions`.
struct Session {
  SessionOptions options;
  ScriptedStream stream;
  decode::Wal2jsonDecoder decoder;
  FakeSink sink{"fake"};
  Progress progress;
  std::atomic<bool> stop{false};

  /// Runs until `transactions` are taken; rethrows what the reader throws.
  void run(Lsn start, std::uint64_t transactions) {
    run_until(start, [&] { return progress.transactions.load() >= transactions; });
  }

  void run_until(Lsn start, const std::function<bool()>& done) {
    sink.durable_on_commit = true;
    options.status_interval = std::chrono::milliseconds(100000);
    options.on_tick = [&] {
      if (done()) stop = true;
    };
    run_pipeline(options, stream, decoder, start, {&sink}, stop, progress);
  }
};

/// Transaction 1 (two inserts, commit ends at 0x238), then transaction 2 (one insert, ends at 0x438).
void script_two_transactions(ScriptedStream& stream) {
  stream.xlog(0x100, begin_json(1, "0/200", "0/238"));
  stream.xlog(0x150, insert_json(1, "0/150", 1));
  stream.xlog(0x160, insert_json(1, "0/160", 2));
  stream.xlog(0x238, commit_json(1, "0/200", "0/238"));
  stream.xlog(0x300, begin_json(2, "0/400", "0/438"));
  stream.xlog(0x350, insert_json(2, "0/350", 3));
  stream.xlog(0x438, commit_json(2, "0/400", "0/438"));
}

TEST(ReaderWriter, TransactionsReachTheSinkInCommitOrderAndAreAcknowledged) {
  Session s;
  script_two_transactions(s.stream);
  s.run(0x80, 2);

  EXPECT_EQ(s.sink.committed_xids(), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(s.sink.count("change"), 3u);
  EXPECT_EQ(s.progress.changes.load(), 3u);
  ASSERT_FALSE(s.stream.statuses.empty());
  EXPECT_EQ(s.stream.statuses.back().second, 0x438u);  // the final update confirms the last commit's end
  EXPECT_EQ(s.progress.acknowledged_lsn.load(), 0x438u);
}

TEST(ReaderWriter, QuietStreamIsAcknowledgedUpToTheKeepalive) {
  Session s;
  s.stream.keepalive(0x9000);  // only unrelated tables changed since the start
  s.run_until(0x238, [&] { return s.progress.server_wal_end.load() >= 0x9000; });
  ASSERT_FALSE(s.stream.statuses.empty());
  EXPECT_EQ(s.stream.statuses.back().second, 0x9000u);
}

TEST(ReaderWriter, KeepaliveDoesNotMoveTheAcknowledgementPastAnUnheldTransaction) {
  Session s;
  s.stream.xlog(0x100, begin_json(1, "0/200", "0/238"));
  s.stream.xlog(0x150, insert_json(1, "0/150", 1));
  s.stream.keepalive(0x9000);  // the transaction is still open
  s.run_until(0x80, [&] { return s.progress.server_wal_end.load() >= 0x9000; });
  for (const auto& [written, flushed] : s.stream.statuses) EXPECT_LE(flushed, 0x80u);
  EXPECT_TRUE(s.sink.committed_xids().empty());
}

TEST(ReaderWriter, StopInsideATransactionReadsItToItsCommitAndNoFurther) {
  Session s;
  script_two_transactions(s.stream);
  // The stop comes right after the first insert was read.
  s.run_until(0x80, [&] { return s.progress.received_lsn.load() >= 0x150; });

  EXPECT_EQ(s.sink.committed_xids(), (std::vector<std::uint32_t>{1}));
  EXPECT_EQ(s.sink.count("begin"), 1u);
  EXPECT_EQ(s.sink.count("abort"), 0u);
  ASSERT_FALSE(s.stream.statuses.empty());
  EXPECT_EQ(s.stream.statuses.back().second, 0x238u);
}

TEST(ReaderWriter, StopInsideATransactionWhoseCommitNeverComesEndsAfterTheGrace) {
  Session s;
  s.options.stop_grace = std::chrono::milliseconds(50);
  s.stream.xlog(0x100, begin_json(1, "0/200", "0/238"));
  s.stream.xlog(0x150, insert_json(1, "0/150", 1));
  s.run_until(0x80, [&] { return s.progress.received_lsn.load() >= 0x150; });

  EXPECT_TRUE(s.sink.committed_xids().empty());
  for (const auto& [written, flushed] : s.stream.statuses) EXPECT_LE(flushed, 0x80u);
}

/// A session with an end position, on a script: it must end by itself.
void run_to_end(Session& s, Lsn start, Lsn end) {
  s.sink.durable_on_commit = true;
  s.options.status_interval = std::chrono::milliseconds(100000);
  s.options.end_lsn = end;
  run_pipeline(s.options, s.stream, s.decoder, start, {&s.sink}, s.stop, s.progress);
}

TEST(ReaderWriter, EndPositionTakesWhatCommitsBelowItAndAcknowledgesUpToIt) {
  Session s;
  s.stream.xlog(0x100, begin_json(1, "0/200", "0/238"));
  s.stream.xlog(0x150, insert_json(1, "0/150", 1));
  s.stream.xlog(0x238, commit_json(1, "0/200", "0/238"));
  // Began before the end position but commits at it: the new slot's first.
  s.stream.xlog(0x240, begin_json(2, "0/300", "0/338"));
  s.stream.xlog(0x250, insert_json(2, "0/250", 2));
  s.stream.xlog(0x338, commit_json(2, "0/300", "0/338"));
  run_to_end(s, 0x80, 0x300);

  EXPECT_EQ(s.sink.committed_xids(), (std::vector<std::uint32_t>{1}));
  EXPECT_EQ(s.sink.count("begin"), 1u);
  ASSERT_FALSE(s.stream.statuses.empty());
  EXPECT_EQ(s.stream.statuses.back().second, 0x300u);  // nothing else commits below it
}

TEST(ReaderWriter, EndPositionIsReachedByAKeepaliveOnlyBetweenTransactions) {
  Session s;
  s.stream.xlog(0x100, begin_json(1, "0/200", "0/238"));
  s.stream.keepalive(0x500);  // in the middle of transaction 1: its commit still comes
  s.stream.xlog(0x150, insert_json(1, "0/150", 1));
  s.stream.xlog(0x238, commit_json(1, "0/200", "0/238"));
  run_to_end(s, 0x80, 0x300);

  EXPECT_EQ(s.sink.committed_xids(), (std::vector<std::uint32_t>{1}));
  ASSERT_FALSE(s.stream.statuses.empty());
  EXPECT_EQ(s.stream.statuses.back().second, 0x300u);  // not beyond: a slot created there streams the rest
}

TEST(ReaderWriter, EndPositionIsNotAcknowledgedBeforeTheSinkHoldsWhatPrecedesIt) {
  Session s;
  s.stream.xlog(0x100, begin_json(1, "0/200", "0/238"));
  s.stream.xlog(0x238, commit_json(1, "0/200", "0/238"));
  s.stream.xlog(0x240, begin_json(2, "0/300", "0/338"));
  s.options.status_interval = std::chrono::milliseconds(100000);
  s.options.end_lsn = 0x300;
  s.sink.confirms_nothing = true;  // e.g. Kafka has not confirmed transaction 1
  run_pipeline(s.options, s.stream, s.decoder, 0x80, {&s.sink}, s.stop, s.progress);

  EXPECT_EQ(s.sink.committed_xids(), (std::vector<std::uint32_t>{1}));
  for (const auto& [written, flushed] : s.stream.statuses) EXPECT_LE(flushed, 0x80u);
}

TEST(ReaderWriter, EndPositionCapsTheAcknowledgementOfAQuietStream) {
  Session s;
  s.stream.keepalive(0x9000);
  run_to_end(s, 0x80, 0x300);
  ASSERT_FALSE(s.stream.statuses.empty());
  EXPECT_EQ(s.stream.statuses.back().second, 0x300u);
}

TEST(ReaderWriter, UndecodableMessageStopsTheSessionUnacknowledged) {
  Session s;
  s.stream.xlog(0x100, begin_json(1, "0/200", "0/238"));
  s.stream.xlog(0x150, R"({"action":"I","xid":1,garbage)");
  s.stream.xlog(0x238, commit_json(1, "0/200", "0/238"));
  EXPECT_THROW(s.run(0x80, 1), PoisonError);
  EXPECT_TRUE(s.sink.committed_xids().empty());
  for (const auto& [written, flushed] : s.stream.statuses) EXPECT_LE(flushed, 0x80u);
}

TEST(ReaderWriter, UndecodableMessageInsideATransactionIsADeadLetterWhenEnabled) {
  Session s;
  s.options.dead_letters = true;
  s.stream.xlog(0x100, begin_json(1, "0/200", "0/238"));
  s.stream.xlog(0x150, R"({"action":"I","xid":1,garbage)");
  s.stream.xlog(0x160, insert_json(1, "0/160", 2));
  s.stream.xlog(0x238, commit_json(1, "0/200", "0/238"));
  s.run(0x80, 1);
  std::vector<std::string> calls = s.sink.call_names();
  std::erase(calls, "flush");
  EXPECT_EQ(calls, (std::vector<std::string>{"begin", "dead_letter", "change", "commit"}));
  ASSERT_EQ(s.sink.letters.size(), 1u);
  EXPECT_EQ(s.sink.letters[0].wal_position, 0x150u);
  EXPECT_EQ(s.sink.letters[0].raw, R"({"action":"I","xid":1,garbage)");
}

TEST(ReaderWriter, UndecodableCommitIsNeverADeadLetter) {
  Session s;
  s.options.dead_letters = true;
  s.stream.xlog(0x100, begin_json(1, "0/200", "0/238"));
  s.stream.xlog(0x238, R"({"action":"C","xid":1,garbage)");
  EXPECT_THROW(s.run(0x80, 1), PoisonError);
}

TEST(ReaderWriter, SilentServerIsAskedForAReplyThenTheSessionEndsStalled) {
  Session s;
  s.options.stream_timeout = std::chrono::milliseconds(300);
  s.stream.xlog(0x100, begin_json(1, "0/200", "0/238"));
  s.stream.xlog(0x150, insert_json(1, "0/150", 1));
  s.stream.xlog(0x238, commit_json(1, "0/200", "0/238"));
  const auto started = std::chrono::steady_clock::now();
  try {
    s.run_until(0x80, [] { return false; });
    FAIL() << "the session did not end";
  } catch (const StreamStalled& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Retryable);
    EXPECT_NE(std::string(e.what()).find("postgres.stream_timeout_ms = 300"), std::string::npos) << e.what();
  }
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(300));
  EXPECT_GE(s.stream.reply_requests, 1);
  EXPECT_TRUE(s.progress.stream_stalled.load());
  EXPECT_GT(s.progress.last_server_message_us.load(), 0);
  EXPECT_EQ(s.sink.committed_xids(), (std::vector<std::uint32_t>{1}));
  for (const auto& [written, flushed] : s.stream.statuses) EXPECT_LE(flushed, 0x238u);
}

TEST(ReaderWriter, QuietServerThatAnswersIsNotStalled) {
  Session s;
  s.options.stream_timeout = std::chrono::milliseconds(200);
  s.stream.answer_reply_requests = true;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(700);
  s.run_until(0x80, [&] { return std::chrono::steady_clock::now() >= until; });
  EXPECT_GE(s.stream.reply_requests, 3);
  EXPECT_FALSE(s.progress.stream_stalled.load());
}

}  // namespace
}  // namespace cdc::pipeline
