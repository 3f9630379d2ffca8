#include "cdc/app/daemon.hpp"

#include <csignal>
#include <cstdlib>
#include <optional>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include "cdc/app/logging.hpp"
#include "cdc/app/monitor.hpp"
#include "cdc/app/online_snapshot.hpp"
#include "cdc/app/plugin_settings.hpp"
#include "cdc/app/sink_factory.hpp"
#include "cdc/app/snapshot.hpp"
#include "cdc/core/errors.hpp"
#include "cdc/core/pg.hpp"
#include "cdc/decode/decoder.hpp"
#include "cdc/pipeline/session.hpp"
#include "cdc/pipeline/stream_stalled.hpp"
#include "cdc/stream/replication_stream.hpp"

namespace cdc::app {
namespace {

Signals* g_signals = nullptr;

extern "C" void on_signal(int signo) {
  if (g_signals == nullptr) return;
  if (signo == SIGHUP) {
    g_signals->reload.store(true);
  } else {
    g_signals->stop.store(true);
  }
}

/// Capped exponential backoff with full jitter.
class Backoff {
 public:
  std::chrono::milliseconds next() {
    const std::chrono::milliseconds cap = std::min<std::chrono::milliseconds>(kMax, kBase * (1LL << std::min(attempt_, 16)));
    ++attempt_;
    std::uniform_int_distribution<long long> jitter(cap.count() / 2, cap.count());
    return std::chrono::milliseconds(jitter(rng_));
  }
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  static constexpr std::chrono::milliseconds kBase{250};
  static constexpr std::chrono::milliseconds kMax{30000};
  int attempt_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
};

/// Sleeps up to `duration`, returning early when a stop is requested;
/// `tick` keeps the systemd watchdog fed meanwhile (retrying is not hanging).
void interruptible_sleep(std::chrono::milliseconds duration, const std::atomic<bool>& stop,
                         const std::function<void()>& tick) {
  const auto until = std::chrono::steady_clock::now() + duration;
  while (!stop.load() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    tick();
  }
}

/// systemd notifications from the stream loop; harmless without systemd.
class Notifier {
 public:
  explicit Notifier(pipeline::Progress& progress) : progress_(progress) {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0) watchdog_interval_ = std::chrono::microseconds(usec / 2);
  }

  void tick() {
    const auto now = std::chrono::steady_clock::now();
    if (!ready_ && progress_.streaming.load()) {
      sd_notify(0, "READY=1");
      ready_ = true;
    }
    if (watchdog_interval_.count() > 0 && now - last_watchdog_ >= watchdog_interval_) {
      sd_notify(0, "WATCHDOG=1");
      last_watchdog_ = now;
    }
    if (now - last_status_ >= std::chrono::seconds(2)) {
      const Lsn ack = progress_.acknowledged_lsn.load();
      const Lsn end = progress_.server_wal_end.load();
      const std::string status =
          progress_.streaming.load()
              ? "STATUS=streaming, acknowledged " + format_lsn(ack) + ", lag " +
                    std::to_string(end > ack ? end - ack : 0) + " bytes"
              : "STATUS=not streaming (waiting or reconnecting), acknowledged " + format_lsn(ack);
      sd_notify(0, status.c_str());
      last_status_ = now;
    }
  }

 private:
  pipeline::Progress& progress_;
  bool ready_ = false;
  std::chrono::microseconds watchdog_interval_{0};
  std::chrono::steady_clock::time_point last_watchdog_{};
  std::chrono::steady_clock::time_point last_status_{};
};

/// The daemon's own stalled walsender was told to exit but still holds the
/// slot (a stopped process exits only when it runs again); retry.
class OwnWalsenderExiting : public CategorizedError<ErrorCategory::Retryable> {
 public:
  using CategorizedError::CategorizedError;
};

/// The session passed the end position (`run --end-lsn`) but the sinks did
/// not confirm everything before it in time (e.g. Kafka); the next session
/// delivers the rest.
class EndNotAcknowledged : public CategorizedError<ErrorCategory::Retryable> {
 public:
  using CategorizedError::CategorizedError;
};

/// After a stall, this daemon's own walsender may still hold the slot (a hung
/// server process, or a connection the server has not yet seen go away): end
/// it, and only it; a slot held by any other process is waited for as usual
/// (SlotBusy). Returns whether the slot was still held by `walsender_pid`;
/// throws OwnWalsenderExiting when it still is after a short wait.
bool end_own_stalled_walsender(stream::ReplicationStream& stream, const Config& config, int walsender_pid) {
  const std::string& slot = config.postgres.slot;
  std::optional<stream::SlotState> state = stream.slot_state(slot);
  if (!state || !state->active || state->active_pid != walsender_pid) return false;
  spdlog::warn("replication slot \"{}\" is still held by this daemon's stalled walsender (PID {}): "
               "ending it with pg_terminate_backend",
               slot, walsender_pid);
  pg::Connection conn(config.postgres.dsn);
  conn.exec_params("SELECT pg_terminate_backend($1::int)", {std::to_string(walsender_pid)});
  // It lets go of the slot as it exits (unless the process is stopped:
  // then the slot stays busy and the next attempt ends it again).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (state && state->active && state->active_pid == walsender_pid && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    state = stream.slot_state(slot);
  }
  if (state && state->active && state->active_pid == walsender_pid) {
    throw OwnWalsenderExiting(fmt::format("replication slot \"{}\" is still held by this daemon's stalled "
                                          "walsender (PID {}), which was told to exit",
                                          slot, walsender_pid));
  }
  return true;
}

}  // namespace

void install_signal_handlers(Signals& signals) {
  g_signals = &signals;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGHUP, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

pipeline::SessionOptions session_options(const Config& config) {
  pipeline::SessionOptions options;
  options.slot = config.postgres.slot;
  options.tables = config.postgres.tables;
  options.status_interval = std::chrono::milliseconds(config.postgres.status_interval_ms);
  options.stream_timeout = std::chrono::milliseconds(config.postgres.stream_timeout_ms);
  options.dead_letters = config.dead_letter.enabled;
  if (config.postgres.streaming) options.spool_dir = spool_directory(config.postgres, std::getenv("STATE_DIRECTORY"));
  return options;
}

int run_daemon(const Config& config, Signals& signals, pipeline::Progress& progress,
               std::function<Config()> reload_config, Lsn end_lsn) {
  Notifier notifier(progress);
  const Monitor monitor({.dsn = config.postgres.dsn,
                         .slot = config.postgres.slot,
                         .sink_timeout = std::chrono::milliseconds(config.postgres.sink_timeout_ms)},
                        progress);
  pipeline::SessionOptions options = session_options(config);
  options.end_lsn = end_lsn;
  options.on_tick = [&] {
    notifier.tick();
    if (signals.reload.exchange(false)) {
      try {
        const std::string level = reload_config ? reload_config().log_level : config.log_level;
        set_log_level(level);
        spdlog::info("SIGHUP: configuration re-read, log level {} (other changes apply at restart)", level);
      } catch (const std::exception& e) {
        spdlog::error("SIGHUP: configuration not reloaded, keeping the running one: {}", e.what());
      }
    }
  };

  // Online snapshots publish to Kafka only.
  pipeline::SnapshotChunks snapshot_chunks;
  std::optional<OnlineSnapshots> online_snapshots;
  if (config.kafka.enabled) {
    options.snapshot_chunks = &snapshot_chunks;
    online_snapshots.emplace(config, progress, snapshot_chunks, signals.stop);
  }

  Backoff backoff;
  /// The walsender of the last session, when that session stalled.
  std::optional<int> stalled_walsender;
  while (!signals.stop.load()) {
    const auto started = std::chrono::steady_clock::now();
    std::string failure;
    try {
      stream::ReplicationStream stream(config.postgres.dsn);
      if (stalled_walsender && !end_own_stalled_walsender(stream, config, *stalled_walsender)) {
        stalled_walsender.reset();
      }
      const Lsn start = prepare_stream(stream, config, signals.stop);
      std::vector<std::unique_ptr<sinks::Sink>> owned = make_sinks(config, &progress);
      std::vector<sinks::Sink*> sinks;
      for (auto& sink : owned) sinks.push_back(sink.get());
      const std::unique_ptr<decode::Decoder> decoder = decode::make_decoder(decoder_settings(config));
      const int walsender = stream.backend_pid();
      try {
        pipeline::run_session(options, stream, *decoder, start, sinks, signals.stop, progress);
      } catch (const pipeline::StreamStalled&) {
        stalled_walsender = walsender;
        throw;
      }
      if (end_lsn != 0 && !signals.stop.load()) {
        const Lsn acknowledged = progress.acknowledged_lsn.load();
        if (acknowledged < end_lsn) {
          throw EndNotAcknowledged(fmt::format("end position {} passed, but the sinks confirmed only up to {}",
                                               format_lsn(end_lsn), format_lsn(acknowledged)));
        }
        spdlog::info("end position {} reached: every transaction committing before it is delivered, slot "
                     "\"{}\" acknowledged up to {}",
                     format_lsn(end_lsn), config.postgres.slot, format_lsn(acknowledged));
      }
      sd_notify(0, "STOPPING=1");
      return 0;
    } catch (const SnapshotStopped& e) {
      spdlog::info("{}; nothing of it was committed, the next start takes it again", e.what());
      return 0;
    } catch (const Error& e) {
      // Fatal and poison stop (a poison message is not acknowledged, so a
      // restart stops at it again); everything else is retried.
      if (e.category() != ErrorCategory::Retryable) {
        spdlog::error("{}", e.log_message());
        return 1;
      }
      failure = e.log_message();
    } catch (const std::exception& e) {
      spdlog::error("unexpected failure: {}", e.what());
      return 1;
    }
    if (signals.stop.load()) break;
    if (std::chrono::steady_clock::now() - started > std::chrono::seconds(30)) backoff.reset();
    const auto delay = backoff.next();
    ++progress.reconnects;
    spdlog::warn("{}; reconnecting in {} ms (attempt {})", failure, delay.count(), backoff.attempts());
    sd_notify(0, ("STATUS=reconnecting: " + failure).c_str());
    interruptible_sleep(delay, signals.stop, options.on_tick);
  }
  return 0;
}

}  // namespace cdc::app
