#include "cdc/app/metrics.hpp"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cdc/app/config.hpp"
#include "cdc/app/process_metrics.hpp"
#include "cdc/core/clock.hpp"
#include "cdc/core/host_port.hpp"

namespace cdc::app {
namespace {


void metric(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            const std::string& value) {
  out += fmt::format("# HELP customer_cdc_{} {}\n# TYPE customer_cdc_{} {}\ncustomer_cdc_{} {}\n", name, help, name,
                     type, name, value);
}

}  // namespace

std::string render_metrics(const pipeline::Progress& progress, std::int64_t now_unix_us) {
  std::string out;
  const Lsn ack = progress.acknowledged_lsn.load();
  const Lsn wal_end = progress.server_wal_end.load();
  const std::uint64_t lag_bytes = wal_end > ack ? wal_end - ack : 0;
  const std::int64_t last_commit = progress.last_commit_time_us.load();
  // Seconds behind: age of the last written transaction's commit while there
  // is a backlog, 0 when caught up (an idle source is not lag).
  const double lag_seconds = lag_bytes > 0 && last_commit > 0
                                 ? static_cast<double>(std::max<std::int64_t>(0, now_unix_us - last_commit)) / 1e6
                                 : 0.0;

  out += "# HELP customer_cdc_events_total Row changes taken from the stream, by table and op.\n"
         "# TYPE customer_cdc_events_total counter\n";
  static constexpr const char* kOps[] = {"c", "u", "d", "t"};
  for (const auto& [table, counts] : progress.event_counts()) {
    for (std::size_t i = 0; i < counts.size(); ++i) {
      out += fmt::format("customer_cdc_events_total{{table=\"{}\",op=\"{}\"}} {}\n", table, kOps[i], counts[i]);
    }
  }
  metric(out, "transactions_total", "counter", "Source transactions taken from the stream.",
         std::to_string(progress.transactions.load()));
  metric(out, "confirmed_lsn", "gauge", "LSN acknowledged to the server (flush position), as a number.",
         std::to_string(ack));
  metric(out, "received_lsn", "gauge", "Last WAL position received, as a number.",
         std::to_string(progress.received_lsn.load()));
  metric(out, "server_wal_end_lsn", "gauge", "Server WAL end reported by the stream, as a number.",
         std::to_string(wal_end));
  metric(out, "lag_bytes", "gauge", "Server WAL end minus the acknowledged position.", std::to_string(lag_bytes));
  metric(out, "lag_seconds", "gauge", "Age of the last written transaction while behind; 0 when caught up.",
         fmt::format("{:.3f}", lag_seconds));
  metric(out, "last_commit_timestamp_seconds", "gauge", "Commit time of the last written source transaction.",
         fmt::format("{:.6f}", static_cast<double>(last_commit) / 1e6));
  metric(out, "sink_errors_total", "counter", "Sink failures (each restarts the session).",
         std::to_string(progress.sink_errors.load()));
  metric(out, "dead_letters_total", "counter",
         "Poison messages recorded in customer_cdc.dead_letter / <prefix>.dead_letter instead of stopping.",
         std::to_string(progress.dead_letters.load()));
  metric(out, "reconnects_total", "counter", "Reconnect attempts after a failure.",
         std::to_string(progress.reconnects.load()));
  metric(out, "kafka_queue_depth", "gauge", "Kafka messages waiting for a delivery report.",
         std::to_string(progress.sink_queue_depth.load()));
  metric(out, "streaming", "gauge", "1 while streaming from the slot.", progress.streaming.load() ? "1" : "0");
  metric(out, "stream_stalled", "gauge",
         "1 while the last session ended because the server sent nothing for postgres.stream_timeout_ms.",
         progress.stream_stalled.load() ? "1" : "0");
  metric(out, "seconds_since_server_message", "gauge",
         "Seconds since the last message (change or keepalive) from the server; 0 before the first session.",
         fmt::format("{:.3f}", seconds_since_server_message(progress, now_unix_us)));
  return out;
}

std::string render_build_info(const BuildInfo& build) {
  return fmt::format("# HELP customer_cdc_build_info The running release and output plugin (always 1).\n"
                     "# TYPE customer_cdc_build_info gauge\n"
                     "customer_cdc_build_info{{version=\"{}\",plugin=\"{}\"}} 1\n",
                     build.version, build.plugin);
}

double seconds_since_server_message(const pipeline::Progress& progress, std::int64_t now_unix_us) {
  const std::int64_t last = progress.last_server_message_us.load();
  if (last == 0) return 0.0;
  return static_cast<double>(std::max<std::int64_t>(0, now_unix_us - last)) / 1e6;
}

Health health(const pipeline::Progress& progress, std::int64_t now_unix_us) {
  if (progress.stream_stalled.load()) {
    return {503, fmt::format("stalled: nothing from the server for {:.0f} s (postgres.stream_timeout_ms); "
                             "reconnecting\n",
                             seconds_since_server_message(progress, now_unix_us))};
  }
  if (progress.streaming.load()) return {200, "streaming\n"};
  return {503, "not streaming\n"};
}

struct MetricsServer::Impl {
  httplib::Server server;
  std::thread thread;
};

MetricsServer::MetricsServer(const std::string& listen, const pipeline::Progress& progress, BuildInfo build)
    : impl_(std::make_unique<Impl>()) {
  HostPortError error = HostPortError::kForm;
  const auto address = parse_host_port(listen, AnyPort::kAllow, &error);
  if (!address) {
    if (error == HostPortError::kPort) throw ConfigError("metrics.listen: bad port in '" + listen + "'");
    throw ConfigError("metrics.listen: expected host:port, got '" + listen + "'");
  }
  const std::string& host = address->host;
  const int port = address->port;
  impl_->server.Get("/metrics", [&progress, build_info = render_build_info(build)](const httplib::Request&,
                                                                                 httplib::Response& response) {
    response.set_content(render_metrics(progress, unix_now_us()) + build_info + render_process_metrics(),
                         "text/plain; version=0.0.4");
  });
  impl_->server.Get("/healthz", [&progress](const httplib::Request&, httplib::Response& response) {
    const Health state = health(progress, unix_now_us());
    response.status = state.status;
    response.set_content(state.body, "text/plain");
  });
  if (port == 0) {
    port_ = impl_->server.bind_to_any_port(host);
    if (port_ < 0) throw std::runtime_error("metrics: cannot listen on " + listen);
  } else {
    if (!impl_->server.bind_to_port(host, port)) {
      throw std::runtime_error("metrics: cannot listen on " + listen +
                               " (address in use? set metrics.listen, or \"\" to disable)");
    }
    port_ = port;
  }
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  spdlog::info("metrics on http://{}:{}/metrics", host, port_);
}

MetricsServer::~MetricsServer() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace cdc::app
