#pragma once
#include <atomic>
#include <cstdint>

#include "cdc/lsn.hpp"

namespace cdc::pipeline {

/// Counters and positions shared by the stream, the writer and the metrics
/// endpoint. Every field is read and written without locks.
struct Progress {
  std::atomic<Lsn> received_lsn{0};        ///< last XLogData position read
  std::atomic<Lsn> server_wal_end{0};      ///< server's WAL end from the last message
  std::atomic<Lsn> acknowledged_lsn{0};    ///< last flush position sent to the server
  std::atomic<std::int64_t> last_commit_time_us{0};  ///< commit time of the last transaction written
  std::atomic<std::int64_t> last_commit_seen_us{0};  ///< local clock when it was written
  std::atomic<std::uint64_t> transactions{0};
  std::atomic<std::uint64_t> changes{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<std::uint64_t> sink_errors{0};
  std::atomic<bool> streaming{false};
};

}  // namespace cdc::pipeline
