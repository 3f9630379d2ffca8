#pragma once
#include <atomic>
#include <vector>

#include "cdc/decode/decoder.hpp"
#include "cdc/pipeline/progress.hpp"
#include "cdc/pipeline/session_options.hpp"
#include "cdc/sinks/sink.hpp"
#include "cdc/stream/message_stream.hpp"
#include "cdc/stream/replication_stream.hpp"

namespace cdc::pipeline {

/// One replication connection from start to stop: starts streaming the slot
/// from its confirmed position `start` with the decoder's options, and runs
/// the Reader on this thread and the Writer on a thread of its own, until
/// `stop` is set (returns normally after flushing and a final status update)
/// or something fails (throws; nothing past the durable position is
/// acknowledged). Throws stream::SlotBusy when another walsender holds the slot.
void run_session(const SessionOptions& options, stream::ReplicationStream& stream, decode::Decoder& decoder,
                 Lsn start, const std::vector<sinks::Sink*>& sinks, const std::atomic<bool>& stop,
                 Progress& progress);

/// The two threads of a session on a stream already streaming from `start`:
/// the Reader on this thread, the Writer on its own, joined by the queue.
/// Returns after the final status update once `stop` is set; rethrows the
/// reader's or the writer's failure.
void run_pipeline(const SessionOptions& options, stream::MessageStream& stream, decode::Decoder& decoder, Lsn start,
                  const std::vector<sinks::Sink*>& sinks, const std::atomic<bool>& stop, Progress& progress);

}  // namespace cdc::pipeline
