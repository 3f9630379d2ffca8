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

/// Seconds from `since_us` (Unix microseconds) to now; 0 when `since_us` is unset.
double seconds_since(std::int64_t since_us, std::int64_t now_unix_us) {
  if (since_us <= 0) return 0.0;
  return static_cast<double>(std::max<std::int64_t>(0, now_unix_us - since_us)) / 1e6;
}

}  // namespace

std::string render_metrics(const pipeline::Progress& progress, std::int64_t now_unix_us,
                           double ready_max_lag_seconds) {
  std::string out;
  const Lsn ack = progress.acknowledged_lsn.load();
  const Lsn wal_end = progress.server_wal_end.load();
  const std::uint64_t lag_bytes = wal_end > ack ? wal_end - ack : 0;
  const std::int64_t last_commit = progress.last_commit_time_us.load();

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
  metric(out, "streamed_transactions_total", "counter",
         "Source transactions the server streamed before their commit (postgres.streaming), spooled and taken "
         "at their commit.",
         std::to_string(progress.streamed_transactions.load()));
  metric(out, "confirmed_lsn", "gauge", "LSN acknowledged to the server (flush position), as a number.",
         std::to_string(ack));
  metric(out, "received_lsn", "gauge", "Last WAL position received, as a number.",
         std::to_string(progress.received_lsn.load()));
  metric(out, "server_wal_end_lsn", "gauge", "Server WAL end reported by the stream, as a number.",
         std::to_string(wal_end));
  metric(out, "lag_bytes", "gauge", "Server WAL end minus the acknowledged position.", std::to_string(lag_bytes));
  metric(out, "lag_seconds", "gauge", "Age of the last written transaction while behind; 0 when caught up.",
         fmt::format("{:.3f}", lag_seconds(progress, now_unix_us)));
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
  metric(out, "sink_stalled", "gauge",
         "1 while a sink call has run longer than half of postgres.sink_timeout_ms; cleared by the next flush.",
         progress.sink_stalled.load() ? "1" : "0");
  metric(out, "sink_flush_seconds", "gauge", "How long the writer has been in the sinks (a batch or a flush); 0 when idle.",
         fmt::format("{:.3f}", sink_busy_seconds(progress, now_unix_us)));
  metric(out, "sink_timeouts_total", "counter", "Sink statements cancelled by postgres.sink_timeout_ms (each batch is retried).",
         std::to_string(progress.sink_timeouts.load()));
  const std::int64_t retained = progress.slot_retained_wal_bytes.load();
  metric(out, "slot_retained_wal_bytes", "gauge",
         "WAL the replication slot holds back on the server (current WAL position minus restart_lsn); NaN until read.",
         retained < 0 ? std::string("NaN") : std::to_string(retained));
  metric(out, "snapshot_running", "gauge", "1 while an online snapshot runs.",
         progress.snapshot_running.load() ? "1" : "0");
  metric(out, "snapshot_rows_total", "counter", "Rows published by online snapshots (op r; re-reads after a restart count again).",
         std::to_string(progress.snapshot_rows.load()));
  const std::int64_t remaining = progress.snapshot_rows_remaining.load();
  metric(out, "snapshot_rows_remaining", "gauge",
         "Rows the running online snapshot has left, estimated from pg_class.reltuples; NaN when none runs.",
         remaining < 0 ? std::string("NaN") : std::to_string(remaining));
  metric(out, "ready", "gauge", "1 while /readyz answers 200 (streaming, nothing stalled, lag within metrics.ready_max_lag_seconds).",
         readiness(progress, now_unix_us, ready_max_lag_seconds).status == 200 ? "1" : "0");
  return out;
}

double lag_seconds(const pipeline::Progress& progress, std::int64_t now_unix_us) {
  const Lsn ack = progress.acknowledged_lsn.load();
  const Lsn wal_end = progress.server_wal_end.load();
  // An idle source is not lag: only the age of the last written commit while
  // there is a backlog.
  if (wal_end <= ack) return 0.0;
  return seconds_since(progress.last_commit_time_us.load(), now_unix_us);
}

std::string render_build_info(const BuildInfo& build) {
  return fmt::format("# HELP customer_cdc_build_info The running release and output plugin (always 1).\n"
                     "# TYPE customer_cdc_build_info gauge\n"
                     "customer_cdc_build_info{{version=\"{}\",plugin=\"{}\"}} 1\n",
                     build.version, build.plugin);
}

double sink_busy_seconds(const pipeline::Progress& progress, std::int64_t now_unix_us) {
  return seconds_since(progress.sink_busy_since_us.load(), now_unix_us);
}

double seconds_since_server_message(const pipeline::Progress& progress, std::int64_t now_unix_us) {
  return seconds_since(progress.last_server_message_us.load(), now_unix_us);
}

Health health(const pipeline::Progress& progress, std::int64_t now_unix_us) {
  if (progress.stream_stalled.load()) {
    return {503, fmt::format("stalled: nothing from the server for {:.0f} s (postgres.stream_timeout_ms); "
                             "reconnecting\n",
                             seconds_since_server_message(progress, now_unix_us))};
  }
  if (progress.sink_stalled.load()) {
    return {503, fmt::format("sink stalled: a sink call has run for {:.0f} s (postgres.sink_timeout_ms); "
                             "see the log for what it waits on\n",
                             sink_busy_seconds(progress, now_unix_us))};
  }
  if (progress.streaming.load()) return {200, "streaming\n"};
  return {503, "not streaming\n"};
}

Health readiness(const pipeline::Progress& progress, std::int64_t now_unix_us, double max_lag_seconds) {
  Health state = health(progress, now_unix_us);
  if (state.status != 200) return state;
  const double lag = lag_seconds(progress, now_unix_us);
  if (lag > max_lag_seconds) {
    return {503, fmt::format("behind: {:.0f} s of lag (metrics.ready_max_lag_seconds = {:.0f})\n", lag,
                             max_lag_seconds)};
  }
  return {200, fmt::format("ready: {:.3f} s of lag\n", lag)};
}

struct MetricsServer::Impl {
  httplib::Server server;
  std::thread thread;
};

MetricsServer::MetricsServer(const std::string& listen, const pipeline::Progress& progress, BuildInfo build,
                             double ready_max_lag_seconds)
    : impl_(std::make_unique<Impl>()) {
  HostPortError error = HostPortError::kForm;
  const auto address = parse_host_port(listen, AnyPort::kAllow, &error);
  if (!address) {
    if (error == HostPortError::kPort) throw ConfigError("metrics.listen: bad port in '" + listen + "'");
    throw ConfigError("metrics.listen: expected host:port, got '" + listen + "'");
  }
  const std::string& host = address->host;
  const int port = address->port;
  impl_->server.Get("/metrics", [&progress, ready_max_lag_seconds, build_info = render_build_info(build)](
                                    const httplib::Request&, httplib::Response& response) {
    response.set_content(render_metrics(progress, unix_now_us(), ready_max_lag_seconds) + build_info +
                             render_process_metrics(),
                         "text/plain; version=0.0.4");
  });
  impl_->server.Get("/healthz", [&progress](const httplib::Request&, httplib::Response& response) {
    const Health state = health(progress, unix_now_us());
    response.status = state.status;
    response.set_content(state.body, "text/plain");
  });
  impl_->server.Get("/readyz", [&progress, ready_max_lag_seconds](const httplib::Request&,
                                                                 httplib::Response& response) {
    const Health state = readiness(progress, unix_now_us(), ready_max_lag_seconds);
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
