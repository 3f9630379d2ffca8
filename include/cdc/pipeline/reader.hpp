#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

#include "cdc/decode/decoder.hpp"
#include "cdc/pipeline/change_pool.hpp"
#include "cdc/pipeline/policies.hpp"
#include "cdc/pipeline/progress.hpp"
#include "cdc/pipeline/session_options.hpp"
#include "cdc/pipeline/stream_spool.hpp"
#include "cdc/pipeline/writer.hpp"
#include "cdc/stream/message_stream.hpp"

namespace cdc::pipeline {

/// The stream side of a session: reads messages, decodes them into pooled
/// Changes, hands batches to the writer (LingerPolicy), answers the server
/// with status updates (StatusPolicy) and logs progress. Transactions the
/// server streams before their commit wait in a StreamSpool and are handed
/// over at their commit as Begin, changes, Commit, like any other. Everything
/// here runs on the reader thread; it reads the writer's acknowledged()/failed().
class Reader : private decode::ChangeOutput {
 public:
  static constexpr std::size_t kBatchEvents = 256;
  static constexpr std::size_t kBatchBytes = 256 * 1024;
  static constexpr auto kPollInterval = std::chrono::milliseconds(100);
  static constexpr auto kMinStatusGap = std::chrono::milliseconds(200);
  static constexpr auto kLinger = std::chrono::milliseconds(3);

  Reader(const SessionOptions& options, stream::MessageStream& stream, decode::Decoder& decoder, EventQueue& queue,
         BatchRecycler& recycler, Writer& writer, const std::atomic<bool>& stop, Progress& progress, Lsn start);

  /// Until `stop` is set (then to the end of the transaction being read, for
  /// at most options.stop_grace), the writer fails or the end position is passed. Throws PoisonError for a
  /// message that does not decode (unless it is dead-lettered), StreamStalled
  /// when the server stays silent past the stream timeout, and the stream's
  /// errors.
  void run();
  /// The last status update, after the writer has finished.
  void send_final_status();

 private:
  void on_message(const stream::XLogData& data);
  void on_message(const stream::Keepalive& keepalive);
  /// ChangeOutput: a pooled Change appended to the pending batch.
  decode::Change& next_change(bool row_change) override;
  /// ChangeOutput: streamed transactions, kept in the spool.
  void streamed_message(std::uint32_t xid, std::uint32_t subxid, std::string_view payload,
                        Lsn wal_position) override;
  void streamed_abort(std::uint32_t xid, std::uint32_t subxid) override;
  void streamed_commit(const decode::StreamedCommit& commit) override;
  StreamSpool& spool();
  /// Hands the committed streamed transaction over from the spool, pushing
  /// batches as they fill (so memory stays bounded); `position`: the WAL
  /// position of its Stream Commit.
  void replay_streamed(const decode::StreamedCommit& commit, Lsn position);
  /// After a message's Changes were appended from `first_event` on: the
  /// transaction state and the batch weight.
  void took_changes(std::size_t first_event, std::size_t payload_size, Lsn position);
  void undecodable(std::string_view payload, Lsn position, const decode::DecodeError& error,
                   std::size_t first_event);
  /// Hands the pending events from `first` on back to the pool.
  void drop_pending_from(std::size_t first);
  /// Every transaction committing below options_.end_lsn has been read.
  bool past_end() const;
  /// Reading ends now: the writer failed, or a stop was requested and no
  /// transaction is half read (or the grace for finishing it ran out).
  bool must_stop();
  void push_pending();
  Lsn acknowledgeable() const;
  void maybe_send_status();
  void heard_from_server(Clock::time_point now);
  /// Throws StreamStalled when the server has been silent too long.
  void check_liveness(Clock::time_point now);
  void maybe_log_progress();

  // Constant after construction.
  const SessionOptions& options_;
  stream::MessageStream& stream_;
  decode::Decoder& decoder_;
  EventQueue& queue_;
  Writer& writer_;
  const std::atomic<bool>& stop_;
  Progress& progress_;

  ChangePool pool_;
  LingerPolicy linger_{kLinger};
  StatusPolicy status_;
  LivenessPolicy liveness_;
  EventBatch pending_;
  std::size_t pending_bytes_ = 0;  ///< weight of pending_ in the queue (max of payload and decoded size per message)
  Lsn pending_position_ = 0;       ///< WAL position of the message being decoded
  bool in_txn_ = false;
  /// Set by streamed_commit during decode(), replayed right after it.
  std::optional<decode::StreamedCommit> commit_to_replay_;
  /// Where streamed transactions wait (none unless options.spool_dir is set).
  std::optional<StreamSpool> spool_;
  bool reply_requested_ = false;
  /// Set at the first must_stop() that found a stop request inside a transaction.
  std::optional<Clock::time_point> stop_deadline_;
  bool stop_grace_over_ = false;
  bool begin_past_end_ = false;  ///< a transaction committing at or after options_.end_lsn began (not taken)
  Lsn last_enqueued_commit_end_;
  Lsn keepalive_end_;
  Lsn received_;
  Lsn sent_flush_;
  Clock::time_point last_progress_log_{};
  std::uint64_t changes_at_last_log_;
};

}  // namespace cdc::pipeline
