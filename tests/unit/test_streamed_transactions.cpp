// Streamed transactions through the session's two threads (run_pipeline with
// a PgoutputDecoder and a spool): the captured streaming fixture
// (tests/fixtures/pgoutput/capture_streaming.sh: interleaved streams, a rolled
// back savepoint, an aborted and an empty streamed transaction) must reach the
// sink exactly as the same workload captured without streaming does.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cdc/decode/pgoutput/pgoutput.hpp"
#include "cdc/pipeline/session.hpp"
#include "support/decoded_changes.hpp"
#include "support/fake_sink.hpp"
#include "support/scripted_stream.hpp"

namespace cdc::pipeline {
namespace {

using test::FakeSink;
using test::ScriptedStream;

/// Writes every call with what sinks read of it, one line each.
class TranscriptSink : public FakeSink {
 public:
  TranscriptSink() : FakeSink("transcript") { durable_on_commit = true; }
  void begin(const sinks::TxnInfo& txn) override {
    FakeSink::begin(txn);
    lines.push_back(fmt::format("begin xid {} commit {} at {}", txn.xid, format_lsn(txn.commit_lsn),
                                txn.commit_time_us));
  }
  void change(const sinks::TxnInfo& txn, const decode::Change& change) override {
    FakeSink::change(txn, change);
    lines.push_back(decode::describe_change(change));
  }
  void commit(const sinks::TxnInfo& txn) override {
    FakeSink::commit(txn);
    lines.push_back(fmt::format("commit xid {} commit {} end {}", txn.xid, format_lsn(txn.commit_lsn),
                                format_lsn(txn.end_lsn)));
  }
  std::vector<std::string> lines;
};

struct Transcript {
  std::vector<std::string> lines;
  std::uint64_t streamed = 0;
  Lsn acknowledged = 0;
};

std::filesystem::path spool_dir() {
  return std::filesystem::temp_directory_path() / fmt::format("cdc-test-spool-{}", ::getpid());
}

/// The fixture through run_pipeline until `transactions` are written.
Transcript run_fixture(const std::string& file, bool streaming, std::uint64_t transactions) {
  SessionOptions options;
  options.status_interval = std::chrono::milliseconds(100000);
  if (streaming) options.spool_dir = spool_dir().string();
  ScriptedStream stream;
  for (const auto& message :
       testing::load_plugin_messages(std::string(CDC_FIXTURES_DIR) + "/pgoutput/" + file, true)) {
    stream.xlog(message.lsn, message.payload);
  }
  decode::PgoutputDecoder decoder(decode::DecoderSettings{.plugin = "pgoutput", .streaming = streaming});
  TranscriptSink sink;
  Progress progress;
  std::atomic<bool> stop{false};
  options.on_tick = [&] {
    if (progress.transactions.load() >= transactions) stop = true;
  };
  run_pipeline(options, stream, decoder, 0, {&sink}, stop, progress);
  return {sink.lines, progress.streamed_transactions.load(), progress.acknowledged_lsn.load()};
}


TEST(StreamedTransactions, SinksSeeWhatTheUnstreamedPathGives) {
  const Transcript plain = run_fixture("streaming.proto1.hex", false, 3);
  const Transcript streamed = run_fixture("streaming.proto2.hex", true, 3);
  // A (with a savepoint rolled back), B's small one, B's big one; the aborted
  // one and the one without published changes give nothing.
  ASSERT_EQ(std::count_if(plain.lines.begin(), plain.lines.end(),
                          [](const std::string& l) { return l.rfind("commit ", 0) == 0; }),
            3);
  ASSERT_EQ(streamed.lines.size(), plain.lines.size());
  for (std::size_t i = 0; i < plain.lines.size(); ++i) ASSERT_EQ(streamed.lines[i], plain.lines[i]) << "line " << i;
  EXPECT_EQ(plain.streamed, 0u);
  EXPECT_EQ(streamed.streamed, 2u);  // A and B's big one; the small one came as B..C
  EXPECT_EQ(streamed.acknowledged, plain.acknowledged);
  // The rows of the rolled-back savepoint and of the aborted transaction were streamed, not taken.
  for (const std::string& line : streamed.lines) {
    EXPECT_EQ(line.find("rolled back"), std::string::npos) << line;
    EXPECT_EQ(line.find("b aborted"), std::string::npos) << line;
  }
  // Every file is gone once the transactions are settled.
  EXPECT_TRUE(std::filesystem::is_empty(spool_dir()));
  std::filesystem::remove_all(spool_dir());
}

TEST(StreamedTransactions, StreamMessagesWithoutASpoolStopTheSession) {
  ScriptedStream stream;
  for (const auto& message : testing::load_plugin_messages(
           std::string(CDC_FIXTURES_DIR) + "/pgoutput/streaming.proto2.hex", true)) {
    stream.xlog(message.lsn, message.payload);
  }
  decode::PgoutputDecoder decoder(decode::DecoderSettings{.plugin = "pgoutput", .streaming = true});
  FakeSink sink("fake");
  Progress progress;
  std::atomic<bool> stop{false};
  SessionOptions options;  // no spool_dir
  EXPECT_THROW(run_pipeline(options, stream, decoder, 0, {&sink}, stop, progress), FatalError);
  EXPECT_TRUE(sink.committed_xids().empty());
}

}  // namespace
}  // namespace cdc::pipeline
