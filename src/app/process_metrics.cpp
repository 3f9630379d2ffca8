#include "cdc/app/process_metrics.hpp"

#include <unistd.h>

#include <filesystem>
#include <limits>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

namespace cdc::app {
namespace {

/// The fields of /proc/self/stat after the command name (which may hold spaces).
std::vector<std::string> stat_fields() {
  std::ifstream file("/proc/self/stat");
  std::string line;
  if (!std::getline(file, line)) return {};
  const auto close = line.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string field; rest >> field;) fields.push_back(field);
  return fields;
}

/// "btime" of /proc/stat: boot time, Unix seconds.
double boot_time_seconds() {
  std::ifstream file("/proc/stat");
  for (std::string key; file >> key;) {
    if (key == "btime") {
      double value = 0;
      file >> value;
      return value;
    }
    file.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

double max_open_files() {
  std::ifstream file("/proc/self/limits");
  for (std::string line; std::getline(file, line);) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream fields(line.substr(14));
    double soft = 0;
    fields >> soft;
    return soft;
  }
  return 0;
}

double open_fds() {
  std::error_code error;
  double count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
       it.increment(error)) {
    ++count;
  }
  return count;
}

}  // namespace

std::optional<ProcessStats> read_process_stats() {
  // Fields after the name, 0-based: 11 utime, 12 stime, 19 starttime (clock
  // ticks since boot), 20 vsize (bytes), 21 rss (pages). See proc(5).
  const std::vector<std::string> fields = stat_fields();
  if (fields.size() < 22) return std::nullopt;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  ProcessStats stats;
  stats.cpu_seconds = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
  stats.start_time_seconds = boot_time_seconds() + std::stod(fields[19]) / ticks;
  stats.virtual_bytes = std::stod(fields[20]);
  stats.resident_bytes = std::stod(fields[21]) * page;
  stats.open_fds = open_fds();
  stats.max_fds = max_open_files();
  return stats;
}

std::string render_process_metrics() {
  const std::optional<ProcessStats> stats = read_process_stats();
  if (!stats) return {};
  std::string out;
  const auto metric = [&out](std::string_view name, std::string_view type, std::string_view help, double value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
         stats->cpu_seconds);
  metric("process_open_fds", "gauge", "Number of open file descriptors.", stats->open_fds);
  metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", stats->max_fds);
  metric("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", stats->virtual_bytes);
  metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", stats->resident_bytes);
  metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
         stats->start_time_seconds);
  return out;
}

}  // namespace cdc::app
