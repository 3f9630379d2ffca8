#include "support/daemon_config.hpp"

#include <sstream>

#include "support/daemon_process.hpp"

namespace cdc::testing {
namespace {

const char* toml_bool(bool b) { return b ? "true" : "false"; }

}  // namespace

std::string DaemonConfig::toml() const {
  std::ostringstream out;
  out << top;
  if (log_level) out << "log_level = \"" << *log_level << "\"\n";
  out << "[postgres]\n"
      << "dsn = \"" << dsn << "\"\n";
  if (slot) out << "slot = \"" << *slot << "\"\n";
  if (create_slot) out << "create_slot = " << toml_bool(*create_slot) << "\n";
  if (status_interval_ms) out << "status_interval_ms = " << *status_interval_ms << "\n";
  if (stream_timeout_ms) out << "stream_timeout_ms = " << *stream_timeout_ms << "\n";
  if (sink_timeout_ms) out << "sink_timeout_ms = " << *sink_timeout_ms << "\n";
  if (snapshot_mode) out << "snapshot_mode = \"" << *snapshot_mode << "\"\n";
  if (plugin) out << "plugin = \"" << *plugin << "\"\n";
  out << postgres_extra;
  if (audit) out << "[audit]\nenabled = " << toml_bool(*audit) << "\n";
  if (rollups) out << "[rollups]\nenabled = " << toml_bool(*rollups) << "\n";
  if (kafka) {
    out << "[kafka]\nenabled = " << toml_bool(*kafka) << "\n";
    if (brokers) out << "brokers = \"" << *brokers << "\"\n";
    if (topic_prefix) out << "topic_prefix = \"" << *topic_prefix << "\"\n";
    out << kafka_extra;
    if (kafka_properties) out << "[kafka.properties]\n" << *kafka_properties << "\n";
  }
  if (metrics_listen) out << "[metrics]\nlisten = \"" << *metrics_listen << "\"\n";
  out << extra;
  return out.str();
}

std::string write_daemon_config(const DaemonConfig& config) { return write_temp_file(config.toml(), ".toml"); }

}  // namespace cdc::testing
