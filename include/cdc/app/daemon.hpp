#pragma once
#include <atomic>
#include <functional>

#include "cdc/app/config.hpp"
#include "cdc/pipeline/progress.hpp"
#include "cdc/pipeline/session_options.hpp"

namespace cdc::app {

/// Set from signal handlers.
struct Signals {
  std::atomic<bool> stop{false};    ///< SIGTERM / SIGINT
  std::atomic<bool> reload{false};  ///< SIGHUP
};

/// Installs SIGTERM/SIGINT/SIGHUP handlers that set the flags of `signals`.
void install_signal_handlers(Signals& signals);

/// A session's options from the configuration (no on_tick, no end position).
pipeline::SessionOptions session_options(const Config& config);

/// `customer-cdc run`: streams until stopped, reconnecting with capped
/// exponential backoff. Returns the process exit code (0 after a stop signal
/// or at `end_lsn`, 1 on a fatal error).
/// `reload_config` (SIGHUP) re-reads the configuration; its log level is
/// applied, other changes need a restart.
/// `end_lsn` (`run --end-lsn`, 0: none): stop once every transaction
/// committing before it is delivered and acknowledged (SessionOptions::end_lsn).
int run_daemon(const Config& config, Signals& signals, pipeline::Progress& progress,
               std::function<Config()> reload_config = {}, Lsn end_lsn = 0);

}  // namespace cdc::app
