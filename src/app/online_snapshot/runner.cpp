#include <chrono>
#include <deque>
#include <functional>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "cdc/app/online_snapshot.hpp"
#include "cdc/core/clock.hpp"
#include "cdc/core/lsn.hpp"
#include "chunk_reader.hpp"
#include "requests.hpp"

namespace cdc::app {
namespace {

using std::chrono::steady_clock;

constexpr auto kPollInterval = std::chrono::seconds(1);
constexpr auto kRetryDelay = std::chrono::seconds(5);
constexpr auto kFatalRetryDelay = std::chrono::seconds(60);
constexpr auto kAckWait = std::chrono::milliseconds(20);
constexpr auto kCommitWait = std::chrono::milliseconds(500);
constexpr auto kCommitPoll = std::chrono::milliseconds(2);
constexpr auto kProgressLogInterval = std::chrono::seconds(5);
constexpr auto kCancelCheckInterval = std::chrono::seconds(1);
/// Chunks read whose reads the slot has not acknowledged yet: bounds memory
/// and what a restart reads again.
constexpr std::size_t kMaxChunksInFlight = 4;

/// The request was cancelled, or the daemon stops: leave it as it is.
struct RunInterrupted {};
/// A chunk must be read again (SnapshotChunks::needs_reread): go on from the last recorded chunk.
struct ReadAgain {};

/// A chunk offered to the writer and not yet covered by the acknowledged position.
struct ChunkInFlight {
  std::uint64_t id = 0;
  int table_index = 0;
  std::vector<std::string> last_key;
  std::int64_t rows_done = 0;  ///< of the request, with this chunk
};

/// One run of a request on the runner's connection, until done, cancelled or stopped.
class RequestRun {
 public:
  /// `long_running`: transactions that outlived a whole wait before a
  /// chunk's SELECT (xid8 text), kept across runs of the request.
  RequestRun(pg::Connection& conn, const Config& config, pipeline::Progress& progress,
             pipeline::SnapshotChunks& chunks, std::function<bool()> stopping, SnapshotRequest request,
             std::set<std::string>& long_running)
      : conn_(conn), config_(config), progress_(progress), chunks_(chunks), stopping_(std::move(stopping)),
        request_(std::move(request)), long_running_(long_running) {}

  void run() {
    estimated_ = estimate_rows();
    start_snapshot_request(conn_, request_.id, estimated_);
    spdlog::info("online snapshot {}: {} ({} rows estimated){}{}", request_.id, fmt::join(request_.tables, ", "),
                 estimated_, request_.rows_done > 0 ? fmt::format(", resuming after {} rows", request_.rows_done) : "",
                 request_.where ? ", where " + *request_.where : "");
    rows_done_ = request_.rows_done;
    publish_progress();
    for (int index = request_.table_index; index < static_cast<int>(request_.tables.size()); ++index) {
      const std::optional<std::vector<std::string>> after =
          index == request_.table_index ? request_.last_key : std::nullopt;
      read_table(index, after);
    }
    while (!in_flight_.empty()) wait_for_acknowledgement();
    finish_snapshot_request(conn_, request_.id, "done");
    spdlog::info("online snapshot {} done: {} rows ({} read by this run, {:.0f} rows/s)", request_.id, rows_done_,
                 rows_read_, run_rate());
  }

 private:
  std::int64_t estimate_rows() {
    const pg::Result r = conn_.exec_params(
        "SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint FROM pg_class c WHERE c.oid = ANY($1::regclass[])",
        {pg::array_literal(request_.tables)});
    return std::stoll(std::string(r.value(0, 0)));
  }

  void read_table(int index, std::optional<std::vector<std::string>> after) {
    ChunkReader reader(conn_, request_.tables[static_cast<std::size_t>(index)], request_.where);
    table_ = reader.table();
    for (;;) {
      check_interrupted();
      while (in_flight_.size() >= kMaxChunksInFlight) wait_for_acknowledgement();
      retire_acknowledged();
      const std::uint64_t id = next_chunk_id_++;
      chunks_.offer(reader.chunk(id));
      emit_watermark({pipeline::Watermark::Kind::Low, id});
      wait_for_committing_transactions();
      ChunkRead read = reader.read(after, config_.snapshot.chunk_size);
      if (read.rows.empty()) {
        chunks_.retire(id);  // its low watermark alone changes nothing
        return;
      }
      const std::size_t rows = read.rows.size();
      after = reader.key_of(read.rows.back());
      chunks_.fill(id, std::move(read.rows), std::move(read.invisible_xids));
      emit_watermark({pipeline::Watermark::Kind::High, id});
      rows_read_ += static_cast<std::int64_t>(rows);
      in_flight_.push_back({id, index, *after, rows_done_ + static_cast<std::int64_t>(rows)});
      rows_done_ += static_cast<std::int64_t>(rows);
      publish_progress();
      throttle();
      if (rows < static_cast<std::size_t>(config_.snapshot.chunk_size)) return;
    }
  }

  void emit_watermark(const pipeline::Watermark& mark) {
    conn_.exec_params("SELECT pg_logical_emit_message(true, $1, $2)",
                      {std::string(pipeline::kWatermarkPrefix), pipeline::watermark_content(mark)});
  }

  /// A transaction whose commit record precedes the low watermark in the WAL
  /// may still be invisible to a snapshot taken right after it (it becomes
  /// visible only after its commit is flushed): the SELECT would miss its
  /// change, which the stream passes before the window, and the read would
  /// undo it. So the SELECT waits until the transactions in progress after
  /// the low watermark have ended, for at most kCommitWait: one still running
  /// then is taken for a long one (idle in a transaction block, say) and not
  /// waited for again at later chunks. Needs no privilege (pg_stat_activity
  /// hides other roles' sessions). SnapshotChunks catches what slips through:
  /// a chunk whose SELECT missed a transaction committed before its low
  /// watermark is read again.
  void wait_for_committing_transactions() {
    const pg::Result running = conn_.exec(
        "SELECT x::text FROM pg_snapshot_xip(pg_current_snapshot()) x WHERE pg_xact_status(x) = 'in progress'");
    std::set<std::string> in_progress;
    std::vector<std::string> waiting;
    for (int row = 0; row < running.rows(); ++row) {
      std::string xid(running.value(row, 0));
      if (!long_running_.contains(xid)) waiting.push_back(xid);
      in_progress.insert(std::move(xid));
    }
    std::erase_if(long_running_, [&](const std::string& xid) { return !in_progress.contains(xid); });
    if (waiting.empty()) return;
    const std::string xids = pg::array_literal(waiting);
    const auto until = steady_clock::now() + kCommitWait;
    for (;;) {
      const pg::Result left = conn_.exec_params(
          "SELECT x::text FROM unnest($1::xid8[]) x WHERE pg_xact_status(x) = 'in progress'", {xids});
      if (left.rows() == 0) return;
      if (steady_clock::now() >= until) {
        for (int row = 0; row < left.rows(); ++row) {
          spdlog::info("online snapshot {}: transaction {} still runs after {} ms; not waiting for it again",
                       request_.id, left.value(row, 0), kCommitWait.count());
          long_running_.emplace(left.value(row, 0));
        }
        return;
      }
      std::this_thread::sleep_for(kCommitPoll);
    }
  }

  void check_interrupted() {
    if (stopping_()) throw RunInterrupted{};
    const auto now = steady_clock::now();
    if (now - last_cancel_check_ < kCancelCheckInterval) return;
    last_cancel_check_ = now;
    const std::optional<SnapshotRequest> current = snapshot_request(conn_, request_.id);
    if (!current || current->state != "running") {
      spdlog::info("online snapshot {} cancelled after {} rows", request_.id, rows_done_);
      throw RunInterrupted{};
    }
  }

  /// Records the last chunk the acknowledged position covers, and forgets the covered ones.
  void retire_acknowledged() {
    const Lsn acknowledged = progress_.acknowledged_lsn.load();
    std::optional<ChunkInFlight> last;
    while (!in_flight_.empty()) {
      const std::optional<Lsn> end = chunks_.emitted_end(in_flight_.front().id);
      if (!end || *end > acknowledged) break;
      if (chunks_.needs_reread(in_flight_.front().id)) {
        if (last) save_snapshot_progress(conn_, request_.id, last->table_index, last->last_key, last->rows_done);
        spdlog::info("online snapshot {}: a transaction committed before a chunk's low watermark was not visible to "
                     "its SELECT; reading again from the last recorded chunk",
                     request_.id);
        throw ReadAgain{};
      }
      chunks_.retire(in_flight_.front().id);
      last = std::move(in_flight_.front());
      in_flight_.pop_front();
    }
    if (last && !save_snapshot_progress(conn_, request_.id, last->table_index, last->last_key, last->rows_done)) {
      spdlog::info("online snapshot {} cancelled after {} rows", request_.id, last->rows_done);
      throw RunInterrupted{};
    }
  }

  void wait_for_acknowledgement() {
    check_interrupted();
    std::this_thread::sleep_for(kAckWait);
    retire_acknowledged();
    log_progress();
  }

  /// Paces the reads so that the run's rate (rows read / time since it
  /// started) never exceeds the limit; the rate logged after it is within it.
  void throttle() {
    const int limit = config_.snapshot.throttle_rows_per_second;
    const auto due = started_ + std::chrono::microseconds(limit > 0 ? rows_read_ * 1'000'000 / limit : 0);
    while (steady_clock::now() < due) {
      if (stopping_()) throw RunInterrupted{};
      std::this_thread::sleep_for(std::min<steady_clock::duration>(due - steady_clock::now(), kAckWait));
      retire_acknowledged();
    }
    log_progress();
  }

  /// Rows read by this run per second since it started (not since the request's first start).
  double run_rate() const {
    const double seconds = std::chrono::duration<double>(steady_clock::now() - started_).count();
    return seconds > 0 ? static_cast<double>(rows_read_) / seconds : 0;
  }

  void publish_progress() {
    progress_.snapshot_rows.store(chunks_.rows_emitted());
    progress_.snapshot_rows_remaining.store(std::max<std::int64_t>(0, estimated_ - rows_done_));
  }

  void log_progress() {
    publish_progress();
    const auto now = steady_clock::now();
    if (now - last_log_ < kProgressLogInterval) return;
    last_log_ = now;
    const double rate = run_rate();
    const std::int64_t left = std::max<std::int64_t>(0, estimated_ - rows_done_);
    spdlog::info("online snapshot {}: {} rows of ~{} ({}), {:.0f} rows/s, ETA {}", request_.id, rows_done_,
                 estimated_, table_, rate, rate > 0 ? fmt::format("{:.0f} s", static_cast<double>(left) / rate) : "?");
  }

  pg::Connection& conn_;
  const Config& config_;
  pipeline::Progress& progress_;
  pipeline::SnapshotChunks& chunks_;
  std::function<bool()> stopping_;
  SnapshotRequest request_;
  /// Unique per process: watermarks an earlier process left in the WAL never match.
  std::uint64_t next_chunk_id_ = static_cast<std::uint64_t>(unix_now_us()) * 1000;
  std::deque<ChunkInFlight> in_flight_;
  std::set<std::string>& long_running_;
  std::int64_t estimated_ = 0;
  std::int64_t rows_done_ = 0;  ///< of the request, read (acknowledged or in flight)
  std::int64_t rows_read_ = 0;  ///< by this run
  std::string table_;
  const steady_clock::time_point started_ = steady_clock::now();
  steady_clock::time_point last_log_ = steady_clock::now();
  steady_clock::time_point last_cancel_check_ = steady_clock::now();
};

}  // namespace

OnlineSnapshots::OnlineSnapshots(const Config& config, pipeline::Progress& progress,
                                 pipeline::SnapshotChunks& chunks, const std::atomic<bool>& stop)
    : config_(config), progress_(progress), chunks_(chunks), daemon_stop_(stop), thread_([this] { run(); }) {}

OnlineSnapshots::~OnlineSnapshots() {
  stop_.store(true);
  thread_.join();
}

void OnlineSnapshots::run() {
  const auto stopping = [this] { return stop_.load() || daemon_stop_.load(); };
  const auto pause = [&](std::chrono::milliseconds duration) {
    const auto until = steady_clock::now() + duration;
    while (!stopping() && steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  };
  while (!stopping()) {
    try {
      pg::Connection conn(config_.postgres.dsn, {{"options", "-c DateStyle=ISO -c TimeZone=UTC"}});
      if (!try_lock_snapshot_runner(conn, config_.postgres.slot)) {
        spdlog::warn("another process runs online snapshots for slot \"{}\"; retrying", config_.postgres.slot);
        pause(kRetryDelay);
        continue;
      }
      spdlog::info("online snapshots: taking requests for slot \"{}\" (`customer-cdc snapshot`)", config_.postgres.slot);
      while (!stopping()) {
        if (std::optional<SnapshotRequest> request = active_snapshot_request(conn, config_.postgres.slot)) {
          run_request(conn, std::move(*request), stopping);
        }
        pause(kPollInterval);
      }
    } catch (const pg::Error& e) {
      // Fatal: e.g. an old schema without customer_cdc.online_snapshot (`customer-cdc migrate`).
      const auto delay = e.category() == ErrorCategory::Fatal ? kFatalRetryDelay : kRetryDelay;
      spdlog::warn("online snapshots: {}; retrying in {} s", e.log_message(), delay.count());
      pause(delay);
    } catch (const std::exception& e) {
      spdlog::warn("online snapshots: {}; retrying in {} s", e.what(), kRetryDelay.count());
      pause(kRetryDelay);
    }
  }
}

void OnlineSnapshots::run_request(pg::Connection& conn, SnapshotRequest request,
                                  const std::function<bool()>& stopping) {
  const std::int64_t id = request.id;
  struct Running {
    OnlineSnapshots& self;
    ~Running() {
      self.chunks_.clear();
      self.progress_.snapshot_running.store(false);
      self.progress_.snapshot_rows_remaining.store(-1);
    }
  } running{*this};
  progress_.snapshot_running.store(true);
  try {
    std::set<std::string> long_running;
    for (;;) {
      try {
        RequestRun(conn, config_, progress_, chunks_, stopping, std::move(request), long_running).run();
        return;
      } catch (const ReadAgain&) {
        chunks_.clear();
        std::optional<SnapshotRequest> recorded = snapshot_request(conn, id);
        if (!recorded || recorded->state != "running") return;
        request = std::move(*recorded);
      }
    }
  } catch (const RunInterrupted&) {
  } catch (const pg::Error& e) {
    if (e.category() == ErrorCategory::Retryable) throw;  // reconnect, then resume from the recorded chunk
    fail_request(conn, id, e.what());
  } catch (const std::runtime_error& e) {
    fail_request(conn, id, e.what());
  }
}

void OnlineSnapshots::fail_request(pg::Connection& conn, std::int64_t id, const std::string& error) {
  spdlog::error("online snapshot {} failed: {}", id, error);
  finish_snapshot_request(conn, id, "failed", error);
}

}  // namespace cdc::app
