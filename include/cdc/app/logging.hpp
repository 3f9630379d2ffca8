#pragma once
#include <string>

namespace cdc::app {

/// Logs to stderr, one line per event, level first: text
/// ("info 2026-11-25T07:13:13.879Z message") or JSON lines
/// ({"level":"info","ts":"...","msg":"..."}). Throws ConfigError on a bad value.
void setup_logging(const std::string& level, const std::string& format);

/// Changes the level of the running logger (SIGHUP reload).
void set_log_level(const std::string& level);

}  // namespace cdc::app
