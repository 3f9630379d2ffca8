#pragma once
#include <atomic>
#include <functional>

#include "cdc/app/config.hpp"
#include "cdc/pipeline/progress.hpp"

namespace cdc::app {

/// Set from signal handlers.
struct Signals {
  std::atomic<bool> stop{false};    ///< SIGTERM / SIGINT
  std::atomic<bool> reload{false};  ///< SIGHUP
};

/// Installs SIGTERM/SIGINT/SIGHUP handlers that set the flags of `signals`.
void install_signal_handlers(Signals& signals);

/// `customer-cdc run`: streams until stopped, reconnecting with capped
/// exponential backoff. Returns the process exit code (0 after a stop signal,
/// 1 on a fatal error).
/// `reload_config` (SIGHUP) re-reads the configuration; its log level is
/// applied, other changes need a restart.
int run_daemon(const Config& config, Signals& signals, pipeline::Progress& progress,
               std::function<Config()> reload_config = {});

}  // namespace cdc::app
