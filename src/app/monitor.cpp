#include "cdc/app/monitor.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cdc/core/clock.hpp"
#include "cdc/sinks/postgres/backend_activity.hpp"
#include "cdc/stream/replication_stream.hpp"

namespace cdc::app {
namespace {

constexpr std::chrono::milliseconds kQueryTimeout{5000};
/// One call to the sink's server still running this long after the sink
/// timeout (which ends lock waits): the server process does not answer.
constexpr std::chrono::milliseconds kHungGrace{5000};

}  // namespace

Monitor::Monitor(MonitorOptions options, pipeline::Progress& progress)
    : options_(std::move(options)), progress_(progress), thread_([this] { run(); }) {}

Monitor::~Monitor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Monitor::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    watch_sink(unix_now_us());
    end_hung_sink_call();
    if (std::chrono::steady_clock::now() >= next_slot_poll_) {
      poll_slot();
      next_slot_poll_ = std::chrono::steady_clock::now() + options_.slot_poll_interval;
    }
    lock.lock();
    wake_.wait_for(lock, options_.tick, [this] { return stopping_; });
  }
}

void Monitor::watch_sink(std::int64_t now_us) {
  const std::int64_t since = progress_.sink_busy_since_us.load();
  const std::int64_t stall_after_us =
      std::chrono::duration_cast<std::chrono::microseconds>(options_.sink_timeout).count() / 2;
  if (since == 0 || since == reported_busy_since_us_ || now_us - since < stall_after_us) return;
  reported_busy_since_us_ = since;
  progress_.sink_stalled.store(true);

  std::string waits_on = "the sinks (Kafka: " + std::to_string(progress_.sink_queue_depth.load()) +
                         " messages await delivery)";
  if (const int pid = progress_.sink_backend_pid.load(); pid > 0) {
    try {
      if (pg::Connection* conn = connection()) {
        const auto activity = sinks::read_backend_activity(*conn, pid, kQueryTimeout);
        waits_on = activity ? "the Postgres sink: server process " + activity->describe(pid)
                            : fmt::format("the Postgres sink (server process PID {} did not say what it does)", pid);
        // Idle while we wait on its answer: that is its last report, it does not run.
        if (activity && activity->state.starts_with("idle") && progress_.sink_connection.in_call()) {
          waits_on += " [its last report: the process does not seem to run]";
        }
      }
    } catch (const std::exception& e) {
      connection_failed(e);
    }
  }
  spdlog::warn("sink stalled: the writer has waited {:.0f} s on {}; a lock wait is cancelled after "
               "postgres.sink_timeout_ms = {} (a call that hangs is ended 5 s later) and its batch retried",
               static_cast<double>(now_us - since) / 1e6, waits_on, options_.sink_timeout.count());
}

void Monitor::end_hung_sink_call() {
  ConnectionWatch& watch = progress_.sink_connection;
  const auto now = std::chrono::steady_clock::now();
  const std::uint64_t call = watch.calls();
  if (!watch.in_call() || call != watched_call_) {
    watched_call_ = watch.in_call() ? call : 0;
    watched_call_since_ = now;
    return;
  }
  if (now - watched_call_since_ < options_.sink_timeout + kHungGrace) return;
  watched_call_since_ = now;  // once per timeout, should ending it not wake the call
  spdlog::warn("sink stalled: a call to the sink's server process (PID {}) has not returned {} ms after "
               "postgres.sink_timeout_ms = {} (the process hangs, or the network): ending the sink connection; "
               "the batch is retried",
               progress_.sink_backend_pid.load(), kHungGrace.count(), options_.sink_timeout.count());
  watch.trip();
}

void Monitor::poll_slot() {
  try {
    pg::Connection* conn = connection();
    if (conn == nullptr) return;
    const auto result = conn->exec_with_deadline(stream::slot_state_query(*conn, options_.slot), kQueryTimeout);
    if (!result) throw std::runtime_error("pg_replication_slots did not answer within 5 s");
    const auto state = stream::slot_state_from(*result);
    progress_.slot_retained_wal_bytes.store(state && state->retained_wal_bytes ? *state->retained_wal_bytes : -1);
  } catch (const std::exception& e) {
    progress_.slot_retained_wal_bytes.store(-1);
    connection_failed(e);
  }
}

pg::Connection* Monitor::connection() {
  if (conn_ && conn_->ok()) return conn_.get();
  conn_.reset();
  try {
    conn_ = std::make_unique<pg::Connection>(options_.dsn, std::vector<std::pair<std::string, std::string>>{
                                                               {"connect_timeout", "5"},
                                                               {"application_name", "customer-cdc monitor"}});
  } catch (const std::exception& e) {
    connection_failed(e);
  }
  return conn_.get();
}

void Monitor::connection_failed(const std::exception& e) {
  conn_.reset();
  // The stream loop reports an unreachable server; this only adds detail.
  const auto now = std::chrono::steady_clock::now();
  if (now < next_failure_log_) return;
  next_failure_log_ = now + std::chrono::minutes(1);
  spdlog::info("monitor: cannot read the slot's retained WAL or a sink's activity (retrying): {}", e.what());
}

}  // namespace cdc::app
