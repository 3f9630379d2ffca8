#pragma once
// A real Prometheus server (Debian's /usr/bin/prometheus) on a free loopback
// port, scraping one target, for tests of the shipped monitoring assets.
//
//   PrometheusServer prom({.target = "127.0.0.1:9187", .rule_files = {rules}});
//   ASSERT_TRUE(prom.wait_ready(30s)) << prom.log_text();
//   auto samples = prom.query("customer_cdc_streaming");   // GET /api/v1/query
//   auto alerts = prom.alerts();                          // GET /api/v1/alerts
//
// Its configuration and storage live in a temp dir removed with the object;
// the process (its own process group) is killed by ~DaemonProcess.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace cdc::testing {

class DaemonProcess;

struct PrometheusOptions {
  std::string target;  ///< "host:port" serving /metrics
  std::string job = "customer-cdc";
  int interval_seconds = 1;  ///< scrape and rule evaluation interval
  std::vector<std::string> rule_files;
  std::string binary = "/usr/bin/prometheus";
};

/// One element of an instant vector: labels (with __name__) and value.
struct PromSample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

/// One active alert of GET /api/v1/alerts.
struct PromAlert {
  std::map<std::string, std::string> labels;  ///< alertname, severity, instance, ...
  std::string state;                          ///< "pending" or "firing"
};

class PrometheusServer {
 public:
  /// Writes prometheus.yml and starts the server listening on 127.0.0.1 only.
  /// Throws std::runtime_error if it cannot be spawned.
  explicit PrometheusServer(PrometheusOptions options);
  ~PrometheusServer();
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  int port() const { return port_; }
  /// Polls GET /-/ready until 200; false on timeout or if the process exited.
  bool wait_ready(std::chrono::milliseconds timeout);
  /// Instant query (GET /api/v1/query?query=expr); nullopt if the request or
  /// the query failed (error text in last_error()).
  std::optional<std::vector<PromSample>> query(const std::string& expr);
  /// Active alerts; nullopt if the request failed.
  std::optional<std::vector<PromAlert>> alerts();
  const std::string& last_error() const { return last_error_; }
  /// The server's own log (stdout + stderr).
  std::string log_text() const;

 private:
  std::optional<std::string> get_data(const std::string& path);

  std::string dir_;
  int port_ = 0;
  std::unique_ptr<DaemonProcess> process_;
  std::string last_error_;
};

/// Copy of a rule file in which every `for:` duration is replaced by `hold`
/// (e.g. "2s"), so a test sees alerts fire within seconds; nothing else
/// changes. Returns the copy's path (a temp file).
std::string rules_with_short_for(const std::string& rules_path, const std::string& hold);

/// Metric names that have at least one sample in a Prometheus text exposition
/// (comments and HELP/TYPE lines do not count).
std::set<std::string> sampled_metric_names(const std::string& exposition);

}  // namespace cdc::testing
