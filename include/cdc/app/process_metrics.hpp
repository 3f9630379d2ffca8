#pragma once
#include <optional>
#include <string>

namespace cdc::app {

/// What /proc says about this process, as every Prometheus client library
/// exports it (process_cpu_seconds_total, ...).
struct ProcessStats {
  double cpu_seconds = 0;          ///< user + system
  double start_time_seconds = 0;   ///< Unix time the process started
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double open_fds = 0;
  double max_fds = 0;
};

/// Read from /proc/self; nullopt where /proc is not readable.
std::optional<ProcessStats> read_process_stats();

/// The standard process_* metrics in Prometheus text format ("" without /proc).
std::string render_process_metrics();

}  // namespace cdc::app
