#pragma once
#include <memory>
#include <string>

#include "cdc/pipeline/progress.hpp"

namespace cdc::app {

/// /readyz and customer_cdc_ready: streaming, nothing stalled, and at most
/// this far behind (metrics.ready_max_lag_seconds).
constexpr double kDefaultReadyMaxLagSeconds = 60;

/// Prometheus text exposition of the daemon's progress (names prefixed customer_cdc_).
std::string render_metrics(const pipeline::Progress& progress, std::int64_t now_unix_us,
                           double ready_max_lag_seconds = kDefaultReadyMaxLagSeconds);

/// The labels of the customer_cdc_build_info gauge.
struct BuildInfo {
  std::string version;
  std::string plugin;  ///< postgres.plugin
};
std::string render_build_info(const BuildInfo& build);

/// Seconds the writer has been inside the sinks (0 when idle).
double sink_busy_seconds(const pipeline::Progress& progress, std::int64_t now_unix_us);

/// Seconds since the last message from the server (0 before the first session).
double seconds_since_server_message(const pipeline::Progress& progress, std::int64_t now_unix_us);

/// Age of the last written transaction while behind the server; 0 when caught up.
double lag_seconds(const pipeline::Progress& progress, std::int64_t now_unix_us);

/// The answer of GET /healthz: 200 only while streaming and neither the
/// stream nor a sink is stalled; otherwise 503 with the reason.
struct Health {
  int status;
  std::string body;
};
Health health(const pipeline::Progress& progress, std::int64_t now_unix_us);
/// The answer of GET /readyz: healthy and at most `max_lag_seconds` behind.
Health readiness(const pipeline::Progress& progress, std::int64_t now_unix_us, double max_lag_seconds);

/// GET /metrics, GET /healthz (see health()) and GET /readyz (readiness())
/// on `listen` ("host:port"), served from a background thread until destroyed.
class MetricsServer {
 public:
  /// Throws ConfigError for a malformed address and std::runtime_error when
  /// the address cannot be bound.
  /// GET /metrics: render_metrics, then build info and the process_* metrics.
  MetricsServer(const std::string& listen, const pipeline::Progress& progress, BuildInfo build,
                double ready_max_lag_seconds = kDefaultReadyMaxLagSeconds);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace cdc::app
