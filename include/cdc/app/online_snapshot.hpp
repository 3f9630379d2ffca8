#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cdc/app/config.hpp"
#include "cdc/core/pg.hpp"
#include "cdc/pipeline/progress.hpp"
#include "cdc/pipeline/snapshot_chunks.hpp"

namespace cdc::app {

struct SnapshotRequest;

/// The daemon's online snapshot thread (for the daemon's lifetime, with
/// Kafka enabled): holds the snapshot-runner lock of the slot on its own
/// connection, polls customer_cdc.online_snapshot every second, and runs a
/// request chunk by chunk (DBLog): low watermark, SELECT of the next chunk in
/// key order, offer it to the writer's merge, high watermark. Once the slot's
/// acknowledged position covers a chunk's high watermark (every sink holds its
/// reads), the chunk's last key is recorded in the request, so a restart
/// continues from the last chunk every sink holds. Database failures are
/// logged and retried.
class OnlineSnapshots {
 public:
  OnlineSnapshots(const Config& config, pipeline::Progress& progress, pipeline::SnapshotChunks& chunks,
                  const std::atomic<bool>& stop);
  ~OnlineSnapshots();
  OnlineSnapshots(const OnlineSnapshots&) = delete;
  OnlineSnapshots& operator=(const OnlineSnapshots&) = delete;

 private:
  void run();
  /// Until the request is done, cancelled, failed or the daemon stops; a
  /// retryable database error is rethrown (reconnect, then resume).
  void run_request(pg::Connection& conn, SnapshotRequest request, const std::function<bool()>& stopping);
  void fail_request(pg::Connection& conn, std::int64_t id, const std::string& error);

  const Config config_;
  pipeline::Progress& progress_;
  pipeline::SnapshotChunks& chunks_;
  const std::atomic<bool>& daemon_stop_;
  std::atomic<bool> stop_{false};
  std::thread thread_;  ///< last: starts once the members exist
};

/// `customer-cdc snapshot` and its options.
struct SnapshotCommand {
  std::vector<std::string> tables;  ///< empty: every captured table
  std::optional<std::string> where;
  bool wait = false;
  bool cancel = false;
  bool status = false;
};

/// status and --cancel; with a running daemon (it holds the snapshot-runner
/// lock), a request for it (refused while another is active; --wait follows
/// it to the end); without one, the offline snapshot (cmd_snapshot).
int cmd_snapshot_command(const Config& config, const SnapshotCommand& command, const std::atomic<bool>& stop);

}  // namespace cdc::app
