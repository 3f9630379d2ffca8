// The shipped monitoring assets against a running daemon: the Grafana
// dashboard (config/grafana/) queries only metrics the daemon exports, and a
// real Prometheus server scrapes it with the alert rules of config/prometheus/.
#include <gtest/gtest.h>
#include <httplib.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "support/daemon_config.hpp"
#include "support/daemon_process.hpp"
#include "support/pg_cluster.hpp"
#include "support/prometheus_server.hpp"
#include "support/slot_wait.hpp"

namespace cdc::testing {
namespace {

using namespace std::chrono_literals;

const std::string kDashboard = std::string(CDC_SOURCE_DIR) + "/config/grafana/customer-cdc.json";
const std::string kRules = std::string(CDC_SOURCE_DIR) + "/config/prometheus/customer-cdc.rules.yml";

std::string metrics_config(const PgCluster& pg, int port) {
  DaemonConfig config(pg.conninfo());
  config.metrics_listen = "127.0.0.1:" + std::to_string(port);
  return write_daemon_config(config);
}

/// Every metric name in a PromQL expression: the daemon's (customer_cdc_*)
/// and the standard process_* ones, as written.
std::set<std::string> metric_names_in(const std::string& expr) {
  static const std::regex kName(R"(\b(customer_cdc_|process_)\w*)");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), kName); it != std::sregex_iterator(); ++it) {
    names.insert(it->str());
  }
  return names;
}

struct Query {
  std::string where;  ///< panel title (or variable name), for messages
  std::string expr;
};

bool has_array(const rapidjson::Value& object, const char* name) {
  return object.IsObject() && object.HasMember(name) && object[name].IsArray();
}

std::string string_member(const rapidjson::Value& object, const char* name) {
  return object.IsObject() && object.HasMember(name) && object[name].IsString() ? object[name].GetString() : "";
}

/// object[outer][inner] as a string; "" if any of it is missing.
std::string nested_string(const rapidjson::Value& object, const char* outer, const char* inner) {
  return object.IsObject() && object.HasMember(outer) ? string_member(object[outer], inner) : "";
}

/// The queries of every panel, rows' nested panels included. A panel other
/// than a row without a query, or a query without an expr, fails the test.
void collect_panel_queries(const rapidjson::Value& panels, std::vector<Query>& out, int& panel_count) {
  for (const auto& panel : panels.GetArray()) {
    ++panel_count;
    const std::string title = string_member(panel, "title");
    if (has_array(panel, "panels")) collect_panel_queries(panel["panels"], out, panel_count);
    if (string_member(panel, "type") == "row") continue;
    const bool has_targets = has_array(panel, "targets") && !panel["targets"].Empty();
    EXPECT_TRUE(has_targets) << "panel without a query: " << title;
    if (!has_targets) continue;
    for (const auto& target : panel["targets"].GetArray()) {
      const std::string expr = string_member(target, "expr");
      EXPECT_FALSE(expr.empty()) << "target without an expr in panel " << title;
      EXPECT_EQ(nested_string(target, "datasource", "uid"), "${datasource}") << title;
      out.push_back({title, expr});
    }
  }
}

/// The dashboard's panel queries; `panel_count` counts rows and panels.
std::vector<Query> dashboard_queries(const rapidjson::Document& dashboard, int& panel_count) {
  std::vector<Query> queries;
  const bool has_panels = has_array(dashboard, "panels");
  EXPECT_TRUE(has_panels) << kDashboard;
  if (has_panels) collect_panel_queries(dashboard["panels"], queries, panel_count);
  return queries;
}

rapidjson::Document load_dashboard() {
  rapidjson::Document dashboard;
  dashboard.Parse(read_text_file(kDashboard).c_str());
  EXPECT_FALSE(dashboard.HasParseError()) << kDashboard << ": offset " << dashboard.GetErrorOffset();
  return dashboard;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

TEST(Monitoring, DashboardQueriesNameExportedMetrics) {
  const rapidjson::Document dashboard = load_dashboard();
  ASSERT_TRUE(dashboard.IsObject());
  EXPECT_TRUE(dashboard.HasMember("schemaVersion") && dashboard["schemaVersion"].IsInt());
  int panel_count = 0;
  std::vector<Query> queries = dashboard_queries(dashboard, panel_count);
  EXPECT_GE(panel_count, 10);
  ASSERT_FALSE(queries.empty());

  // Importable anywhere: the data source is a variable, the instance list
  // comes from the daemon's own build_info.
  std::set<std::string> variables;
  ASSERT_TRUE(dashboard.HasMember("templating") && has_array(dashboard["templating"], "list"));
  for (const auto& variable : dashboard["templating"]["list"].GetArray()) {
    const std::string name = string_member(variable, "name");
    variables.insert(name);
    if (name == "datasource") {
      EXPECT_EQ(string_member(variable, "type"), "datasource");
      EXPECT_EQ(string_member(variable, "query"), "prometheus");
    }
    if (name == "instance") {
      // Grafana writes the query as a string or as {"query": ...}.
      const std::string query = string_member(variable, "query").empty() ? nested_string(variable, "query", "query")
                                                                         : string_member(variable, "query");
      EXPECT_EQ(query, "label_values(customer_cdc_build_info, instance)");
      queries.push_back({"variable instance", query});
    }
  }
  EXPECT_EQ(variables, (std::set<std::string>{"datasource", "instance"}));

  PgCluster pg;
  const int port = pick_free_port();
  DaemonProcess daemon({"--config", metrics_config(pg, port), "run"});
  ASSERT_TRUE(daemon.wait_for_output("streaming slot", 30s)) << daemon.log_text();
  // Changes, so that the per-table series (events_total) have samples.
  pg.exec("INSERT INTO public.customer (uuid, email, plan_id, remaining_resources) "
          "SELECT gen_random_uuid(), 'mon' || g || '@example.com', 1, '{\"api_calls\": 10}' "
          "FROM generate_series(1, 3) g");
  ASSERT_TRUE(wait_slot_caught_up(pg, &daemon));
  httplib::Client client("127.0.0.1", port);
  std::string scrape;
  ASSERT_TRUE(wait_until(
      [&] {
        const auto metrics = client.Get("/metrics");
        if (!metrics || metrics->status != 200) return false;
        scrape = metrics->body;
        return scrape.find("customer_cdc_events_total{") != std::string::npos;
      },
      10s))
      << scrape;
  const std::set<std::string> exported = sampled_metric_names(scrape);

  std::set<std::string> named;
  std::string missing;
  for (const auto& query : queries) {
    for (const auto& name : metric_names_in(query.expr)) {
      named.insert(name);
      if (exported.count(name) == 0) missing += name + " (" + query.where + ": " + query.expr + ")\n";
    }
  }
  EXPECT_EQ(missing, "") << "named by the dashboard but not in the daemon's /metrics:\n" << missing << scrape;
  // The dashboard shows the stream, the sinks and the process.
  EXPECT_GE(named.size(), 10u);
  for (const char* name : {"customer_cdc_streaming", "customer_cdc_lag_bytes", "customer_cdc_events_total",
                           "process_cpu_seconds_total", "customer_cdc_build_info"}) {
    EXPECT_EQ(named.count(name), 1u) << name;
  }
}

bool firing(const std::vector<PromAlert>& alerts, const std::string& name) {
  return std::any_of(alerts.begin(), alerts.end(), [&](const PromAlert& alert) {
    return alert.state == "firing" && alert.labels.at("alertname") == name;
  });
}

TEST(Monitoring, PrometheusServerScrapesAndAlerts) {
  PgCluster pg;
  const int port = pick_free_port();
  const std::string target = "127.0.0.1:" + std::to_string(port);
  DaemonProcess daemon({"--config", metrics_config(pg, port), "run"});
  ASSERT_TRUE(daemon.wait_for_output("streaming slot", 30s)) << daemon.log_text();

  // The shipped rules with only their `for:` durations shortened (2 min of
  // not streaming become 2 s), so that the alert fires within seconds; every
  // expression, label and annotation is as shipped.
  PrometheusServer prometheus({.target = target, .rule_files = {rules_with_short_for(kRules, "2s")}});
  ASSERT_TRUE(prometheus.wait_ready(30s)) << prometheus.log_text();

  std::vector<PromSample> streaming;
  ASSERT_TRUE(wait_until(
      [&] {
        const auto samples = prometheus.query("customer_cdc_streaming");
        if (samples) streaming = *samples;
        return !streaming.empty();
      },
      30s, 250ms))
      << prometheus.last_error() << "\n"
      << prometheus.log_text();
  ASSERT_EQ(streaming.size(), 1u);
  EXPECT_EQ(streaming[0].value, 1);
  EXPECT_EQ(streaming[0].labels["job"], "customer-cdc");
  EXPECT_EQ(streaming[0].labels["instance"], target);

  auto build_info = prometheus.query("customer_cdc_build_info");
  ASSERT_TRUE(build_info) << prometheus.last_error();
  ASSERT_EQ(build_info->size(), 1u);
  PromSample& build = build_info->front();
  EXPECT_EQ(build.value, 1);
  EXPECT_EQ(build.labels["plugin"], "wal2json");
  EXPECT_FALSE(build.labels["version"].empty());

  // Every dashboard query is PromQL that Prometheus accepts, Grafana's
  // variables filled in.
  int panel_count = 0;
  for (const auto& query : dashboard_queries(load_dashboard(), panel_count)) {
    const std::string expr =
        replace_all(replace_all(query.expr, "$__rate_interval", "1m"), "$instance", ".*");
    EXPECT_TRUE(prometheus.query(expr)) << query.where << ": " << prometheus.last_error();
  }

  const auto before = prometheus.alerts();
  ASSERT_TRUE(before) << prometheus.last_error();
  EXPECT_FALSE(firing(*before, "CustomerCdcNotStreaming"));

  daemon.terminate();
  ASSERT_EQ(daemon.wait_exit(30s), 0) << daemon.log_text();
  std::vector<PromAlert> after;
  ASSERT_TRUE(wait_until(
      [&] {
        const auto alerts = prometheus.alerts();
        if (alerts) after = *alerts;
        return firing(after, "CustomerCdcNotStreaming");
      },
      60s, 500ms))
      << prometheus.last_error() << "\n"
      << prometheus.log_text();
  for (const auto& alert : after) {
    if (alert.labels.at("alertname") != "CustomerCdcNotStreaming") continue;
    EXPECT_EQ(alert.labels.at("severity"), "critical");
    EXPECT_EQ(alert.labels.at("instance"), target);
  }
}

}  // namespace
}  // namespace cdc::testing
