// The pgoutput decoder's protocol version 2 streaming messages: Stream Start,
// Stop, Commit and Abort (hand-built and captured), what a stream chunk hands
// to the output, how a kept message decodes at the commit, and every
// malformed or misplaced stream message.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cdc/decode/pgoutput/pgoutput.hpp"
#include "support/decoded_changes.hpp"
#include "support/pgoutput_messages.hpp"

namespace cdc::decode {
namespace {

using testing::customer_relation;
using testing::kCustomer;
using testing::kPosition;
using testing::kUnixUsAt2000;
using testing::kUuid;
using testing::Msg;


/// Records what the decoder hands over, streamed or not.
class StreamRecorder : public testing::CollectedChanges {
 public:
  struct Kept {
    std::uint32_t xid;
    std::uint32_t subxid;
    std::string payload;
    Lsn position;
  };
  void streamed_message(std::uint32_t xid, std::uint32_t subxid, std::string_view payload, Lsn position) override {
    kept.push_back({xid, subxid, std::string(payload), position});
  }
  void streamed_abort(std::uint32_t xid, std::uint32_t subxid) override { aborts.emplace_back(xid, subxid); }
  void streamed_commit(const StreamedCommit& commit) override { commits.push_back(commit); }

  std::vector<Kept> kept;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> aborts;
  std::vector<StreamedCommit> commits;
};

std::string stream_start(std::uint32_t xid, bool first) {
  return Msg('S').i32(static_cast<std::int32_t>(xid)).u8(first ? 1 : 0);
}
std::string stream_commit(std::uint32_t xid, Lsn commit_lsn, Lsn end_lsn, std::int64_t pg_time) {
  return Msg('c').i32(static_cast<std::int32_t>(xid)).u8(0).i64(static_cast<std::int64_t>(commit_lsn))
      .i64(static_cast<std::int64_t>(end_lsn)).i64(pg_time);
}
std::string stream_abort(std::uint32_t xid, std::uint32_t subxid) {
  return Msg('A').i32(static_cast<std::int32_t>(xid)).i32(static_cast<std::int32_t>(subxid));
}
/// A protocol 1 message with the xid a stream chunk puts after its type byte.
std::string in_stream(std::string message, std::uint32_t subxid) {
  const std::string xid = Msg('x').i32(static_cast<std::int32_t>(subxid));
  return message.insert(1, xid.substr(1));
}

class PgoutputStreamingTest : public ::testing::Test {
 protected:
  void decode(const std::string& payload, Lsn position = kPosition) { decoder.decode(payload, position, out); }

  PgoutputDecoder decoder{DecoderSettings{.plugin = "pgoutput", .streaming = true}};
  StreamRecorder out;
};

TEST_F(PgoutputStreamingTest, StartOptionsAskForProtocol2AndStreaming) {
  EXPECT_EQ(decoder.start_options({}), (PluginOptions{{"proto_version", "2"},
                                                      {"publication_names", "\"customer_cdc\""},
                                                      {"messages", "true"},
                                                      {"streaming", "on"}}));
  const PgoutputDecoder both(DecoderSettings{.plugin = "pgoutput", .binary = true, .streaming = true});
  EXPECT_EQ(both.start_options({}), (PluginOptions{{"proto_version", "2"},
                                                   {"publication_names", "\"customer_cdc\""},
                                                   {"binary", "true"},
                                                   {"messages", "true"},
                                                   {"streaming", "on"}}));
}

TEST_F(PgoutputStreamingTest, AChunkIsKeptWithItsXidsAndTheCommitIsTold) {
  const std::string relation = in_stream(customer_relation(), 901);
  const std::string insert = in_stream(Msg('I').i32(kCustomer).u8('N').customer_row("a@x", "{}"), 901);
  const std::string sub_insert = in_stream(Msg('I').i32(kCustomer).u8('N').customer_row("b@x", "{}"), 905);
  decode(stream_start(900, true));
  decode(relation, 0x10);
  decode(insert, 0x20);
  decode(Msg('O').i64(7).str("origin"));  // an origin inside a chunk is skipped, as outside
  decode(sub_insert, 0x30);
  decode(Msg('E'));
  decode(stream_abort(900, 905));
  decode(stream_commit(900, 0x5000, 0x5030, 817'000'000'000'000));
  EXPECT_TRUE(out.changes.empty());
  ASSERT_EQ(out.kept.size(), 3u);
  EXPECT_EQ(out.kept[0].subxid, 900u);  // a relation description is kept under the top-level xid
  EXPECT_EQ(out.kept[0].payload, relation);
  EXPECT_EQ(out.kept[1].xid, 900u);
  EXPECT_EQ(out.kept[1].subxid, 901u);
  EXPECT_EQ(out.kept[1].position, 0x20u);
  EXPECT_EQ(out.kept[2].subxid, 905u);
  EXPECT_EQ(out.aborts, (std::vector<std::pair<std::uint32_t, std::uint32_t>>{{900, 905}}));
  ASSERT_EQ(out.commits.size(), 1u);
  EXPECT_EQ(out.commits[0].xid, 900u);
  EXPECT_EQ(out.commits[0].commit_lsn, 0x5000u);
  EXPECT_EQ(out.commits[0].end_lsn, 0x5030u);
  EXPECT_EQ(out.commits[0].commit_time_us, 817'000'000'000'000 + kUnixUsAt2000);
}

TEST_F(PgoutputStreamingTest, KeptMessagesDecodeAsInsideTheCommittedTransaction) {
  const StreamedCommit commit{900, 0x5000, 0x5030, 817'000'000'000'000 + kUnixUsAt2000};
  testing::CollectedChanges changes;
  decoder.decode_streamed(in_stream(customer_relation(), 901), 0x10, commit, changes);
  decoder.decode_streamed(in_stream(Msg('I').i32(kCustomer).u8('N').customer_row("a@x", "{}"), 901), 0x20, commit,
                          changes);
  decoder.decode_streamed(in_stream(Msg('M').u8(1).i64(0x21).str("pfx").i32(2).raw("hi"), 901), 0x21, commit,
                          changes);
  decoder.decode_streamed(in_stream(Msg('T').i32(1).u8(0).i32(kCustomer), 902), 0x22, commit, changes);
  ASSERT_EQ(changes.changes.size(), 3u);
  const Change& insert = changes.changes[0];
  EXPECT_EQ(insert.action, Action::Insert);
  EXPECT_EQ(insert.xid, 900u);  // the top-level xid, as between B and C
  EXPECT_EQ(insert.lsn, 0x20u);
  EXPECT_EQ(insert.timestamp_us, commit.commit_time_us);
  EXPECT_EQ(insert.column("uuid")->text, kUuid);
  EXPECT_EQ(changes.changes[1].action, Action::Message);
  EXPECT_EQ(changes.changes[1].xid, 900u);
  EXPECT_EQ(changes.changes[2].action, Action::Truncate);
  EXPECT_EQ(changes.changes[2].xid, 900u);
  // Afterwards, a plain transaction's messages carry no xid of the replayed one.
  testing::CollectedChanges plain;
  decoder.decode(std::string(Msg('M').u8(0).i64(1).str("p").i32(1).raw("x")), 0x30, plain);
  EXPECT_EQ(plain.changes.at(0).xid, 0u);
}

TEST_F(PgoutputStreamingTest, PlainTransactionsBetweenChunksDecodeAsUsual) {
  decode(stream_start(900, true));
  decode(Msg('E'));
  decode(Msg('B').i64(0x3000).i64(100).i32(731));
  decode(customer_relation());
  decode(Msg('I').i32(kCustomer).u8('N').customer_row("a@x", "{}"));
  decode(Msg('C').u8(0).i64(0x3000).i64(0x3030).i64(100));
  ASSERT_EQ(out.changes.size(), 3u);
  EXPECT_EQ(out.changes[1].xid, 731u);
  EXPECT_TRUE(out.kept.empty());
}

TEST_F(PgoutputStreamingTest, CapturedStreamMessages) {
  // From tests/fixtures/pgoutput/streaming.proto2.hex (capture_streaming.sh).
  const auto messages = testing::load_plugin_messages(
      std::string(CDC_FIXTURES_DIR) + "/pgoutput/streaming.proto2.hex", true);
  std::size_t starts = 0;
  std::size_t stops = 0;
  for (const auto& message : messages) {
    decode(message.payload, message.lsn);
    starts += message.payload[0] == 'S';
    stops += message.payload[0] == 'E';
  }
  EXPECT_EQ(starts, stops);
  EXPECT_GT(starts, 10u);
  // Transaction A rolled back savepoint s1 (its own xid + 1); B's big transaction aborted whole.
  ASSERT_EQ(out.aborts.size(), 2u);
  EXPECT_EQ(out.aborts[0].second, out.aborts[0].first + 1);
  EXPECT_EQ(out.aborts[1].first, out.aborts[1].second);
  // B's big one, the one on an unpublished table only, and A commit streamed; the aborted one does not.
  ASSERT_EQ(out.commits.size(), 3u);
  EXPECT_EQ(out.commits[0].xid, out.aborts[0].first + 7);  // B's big transaction commits first
  EXPECT_EQ(out.commits[2].xid, out.aborts[0].first);      // then A
  for (const StreamedCommit& commit : out.commits) {
    EXPECT_GT(commit.end_lsn, commit.commit_lsn);
    EXPECT_GT(commit.commit_time_us, 1'700'000'000'000'000);  // 2023 or later
  }
  // The only plain transaction is B's small one.
  ASSERT_EQ(out.changes.size(), 3u);
  EXPECT_EQ(out.changes[1].column("note")->text, "b small");
}

TEST_F(PgoutputStreamingTest, MalformedAndMisplacedStreamMessagesAreDecodeErrors) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{Msg('S').i32(900)}, "message ends inside the first-segment flag"},
      {{Msg('S').i32(900).u8(2)}, "first-segment flag 2"},
      {{Msg('S').i32(0).u8(1)}, "Stream Start of the invalid xid 0"},
      {{Msg('S').i32(900).u8(1).u8(0)}, "1 unexpected bytes after the end of the Stream Start message"},
      {{stream_start(900, true), stream_start(901, true)}, "message 'S' inside the stream of transaction 900"},
      {{stream_start(900, true), Msg('B').i64(1).i64(1).i32(1)}, "message 'B' inside the stream"},
      {{stream_start(900, true), stream_commit(900, 1, 2, 3)}, "message 'c' inside the stream"},
      {{stream_start(900, true), stream_abort(900, 900)}, "message 'A' inside the stream"},
      {{stream_start(900, true), Msg('I').u8(0).u8(0)}, "message ends inside the xid"},
      {{stream_start(900, true), Msg('I').i32(0)}, "streamed message with the invalid xid 0"},
      {{stream_start(900, true), Msg('Z')}, "unknown message type 90 'Z' inside the stream of transaction 900"},
      {{stream_start(900, true), Msg('E').u8(0)}, "unexpected bytes after the end of the Stream Stop message"},
      {{Msg('E')}, "Stream Stop outside a stream"},
      {{stream_commit(900, 1, 2, 3).substr(0, 20)}, "message ends inside the end LSN"},
      {{stream_commit(900, 1, 2, 3) + "x"}, "unexpected bytes after the end of the Stream Commit message"},
      {{stream_commit(900, 1, 2, 0x7FFFFFFFFFFFFFFF)}, "commit timestamp 9223372036854775807 out of range"},
      {{stream_abort(900, 0)}, "Stream Abort of the invalid subtransaction xid 0"},
      {{stream_abort(900, 901).substr(0, 7)}, "message ends inside the subtransaction xid"},
      {{stream_abort(900, 901) + std::string(8, '\0')}, "8 unexpected bytes after the end of the Stream Abort"},
  };
  for (const auto& [messages, reason] : cases) {
    PgoutputDecoder fresh(DecoderSettings{.plugin = "pgoutput", .streaming = true});
    StreamRecorder sink;
    try {
      for (const std::string& message : messages) fresh.decode(message, kPosition, sink);
      ADD_FAILURE() << "accepted: " << reason;
    } catch (const DecodeError& e) {
      EXPECT_EQ(e.wal_position(), kPosition);
      EXPECT_NE(e.reason().find(reason), std::string::npos) << e.reason();
      EXPECT_EQ(std::string(e.what()).rfind("cannot decode pgoutput message at WAL 16/B374D848: ", 0), 0u);
    }
  }
}

TEST_F(PgoutputStreamingTest, StreamMessagesWithoutStreamingAreDecodeErrors) {
  PgoutputDecoder proto1(DecoderSettings{.plugin = "pgoutput"});
  for (const std::string& message : {stream_start(900, true), stream_commit(900, 1, 2, 3), stream_abort(900, 900)}) {
    try {
      proto1.decode(message, kPosition, out);
      ADD_FAILURE() << "accepted " << message[0];
    } catch (const DecodeError& e) {
      EXPECT_NE(e.reason().find("but streaming was not asked for (proto_version 1)"), std::string::npos)
          << e.reason();
    }
  }
}

TEST_F(PgoutputStreamingTest, ResetEndsAnOpenChunk) {
  decode(stream_start(900, true));
  decoder.reset();
  decode(Msg('B').i64(0x3000).i64(100).i32(731));
  EXPECT_EQ(out.changes.size(), 1u);
}

}  // namespace
}  // namespace cdc::decode
