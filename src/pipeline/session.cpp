#include "cdc/pipeline/session.hpp"

#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "cdc/pipeline/reader.hpp"
#include "cdc/pipeline/writer.hpp"
#include "cdc/stream/slot_check.hpp"

namespace cdc::pipeline {

void run_session(const SessionOptions& options, stream::ReplicationStream& stream, decode::Decoder& decoder,
                 Lsn start, const std::vector<sinks::Sink*>& sinks, const std::atomic<bool>& stop,
                 Progress& progress) {
  decoder.reset();
  try {
    stream.start(options.slot, 0, decoder.start_options(options.tables));
  } catch (const pg::Error& e) {
    if (e.sqlstate() == "55006") throw stream::SlotBusy(e.what());  // object_in_use: another walsender holds it
    throw;
  }
  spdlog::info("streaming slot \"{}\" from {} (tables: {})", options.slot, format_lsn(start),
               fmt::join(options.tables, ", "));
  progress.acknowledged_lsn.store(start);
  progress.streaming.store(true);
  progress.stream_stalled.store(false);
  struct StreamingFlag {
    std::atomic<bool>& flag;
    ~StreamingFlag() { flag.store(false); }
  } streaming_flag{progress.streaming};

  run_pipeline(options, stream, decoder, start, sinks, stop, progress);
  stream.finish();
  spdlog::info("stopped; slot \"{}\" acknowledged up to {}", options.slot,
               format_lsn(progress.acknowledged_lsn.load()));
}

void run_pipeline(const SessionOptions& options, stream::MessageStream& stream, decode::Decoder& decoder, Lsn start,
                  const std::vector<sinks::Sink*>& sinks, const std::atomic<bool>& stop, Progress& progress) {
  EventQueue queue(options.queue_bytes);
  BatchRecycler recycler;
  Writer writer(sinks, start, options.dead_letters, queue, recycler, stop, progress,
                [&decoder](const decode::Change& change) { return decoder.describe(change); },
                options.snapshot_chunks);
  std::thread writer_thread([&] { writer.run(); });
  Reader reader(options, stream, decoder, queue, recycler, writer, stop, progress, start);
  try {
    reader.run();
  } catch (...) {
    queue.close();
    writer_thread.join();
    throw;
  }
  queue.close();
  writer_thread.join();
  if (writer.failed()) std::rethrow_exception(writer.error());
  reader.send_final_status();
}

}  // namespace cdc::pipeline
