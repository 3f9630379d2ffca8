// Operations: reconnects (walsender killed, Postgres restarted), quiet tables,
// metrics, configuration errors, standby takeover.
#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "support/daemon_config.hpp"
#include "support/daemon_process.hpp"
#include "support/pg_cluster.hpp"
#include "support/plugin_variant.hpp"
#include "support/slot_wait.hpp"

namespace cdc::testing {
namespace {

using namespace std::chrono_literals;

std::string daemon_config(const PgCluster& pg, const std::string& extra = "",
                          const PluginVariant& variant = wal2json_variant()) {
  DaemonConfig config(pg.conninfo());
  config.status_interval_ms = 500;
  config.extra = extra;
  apply_variant(config, variant);
  return write_daemon_config(config);
}

DaemonConfig metrics_on(const std::string& dsn, int port) {
  DaemonConfig config(dsn);
  config.metrics_listen = "127.0.0.1:" + std::to_string(port);
  return config;
}

/// Creates `n` customers on plan 1 (audit: n customer_created).
void create_customers(PgCluster& pg, int n) {
  pg.exec("INSERT INTO public.customer (uuid, email, plan_id, remaining_resources) "
          "SELECT gen_random_uuid(), 'ops' || g || '@example.com', 1, '{\"api_calls\": 100000}' "
          "FROM generate_series(1, " + std::to_string(n) + ") g");
}

/// One transaction decrementing one customer's api_calls (audit: one resource_update).
void decrement(PgConn& conn, int customer) {
  conn.exec("UPDATE public.customer SET remaining_resources = jsonb_set(remaining_resources, '{api_calls}', "
            "to_jsonb((remaining_resources->>'api_calls')::int - 1)) WHERE email = 'ops" +
            std::to_string(customer) + "@example.com'");
}

/// A loopback TCP port that nothing listens on right now.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    ::close(fd);
    return 0;
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

long audit_rows(PgCluster& pg) { return std::stol(*pg.scalar("SELECT count(*) FROM public.audit_logs")); }

/// Under wal2json and pgoutput (which sends nothing at all for transactions
/// that touch no published table: the slot must advance on keepalives).
class OperationsPlugins : public ::testing::TestWithParam<PluginVariant> {};

TEST_P(OperationsPlugins, ReconnectsAfterWalsenderKillAndPostgresRestart) {
  PgCluster pg;
  prepare_source(pg, GetParam());
  DaemonProcess daemon({"--config", daemon_config(pg, "", GetParam()), "run"});
  ASSERT_TRUE(daemon.wait_for_output("streaming slot", 30s)) << daemon.log_text();
  create_customers(pg, 50);

  int updates = 0;
  auto run_updates = [&](int n) {
    PgConn conn = pg.connect();
    for (int i = 0; i < n; ++i) decrement(conn, 1 + (updates++ % 50));
  };
  run_updates(100);
  // Kill the walsender twice mid-workload.
  for (int round = 0; round < 2; ++round) {
    pg.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_replication WHERE application_name = 'customer-cdc'");
    run_updates(100);
  }
  // A fast restart of PostgreSQL under the daemon.
  pg.restart("fast");
  run_updates(100);
  ASSERT_TRUE(wait_slot_caught_up(pg)) << daemon.log_text();
  EXPECT_TRUE(daemon.running());
  EXPECT_EQ(audit_rows(pg), 50 + updates);
  EXPECT_EQ(*pg.scalar("SELECT count(DISTINCT source_lsn) FROM public.audit_logs"), std::to_string(50 + updates));
  EXPECT_NE(daemon.log_text().find("reconnecting"), std::string::npos);
  daemon.terminate();
  EXPECT_EQ(daemon.wait_exit(30s), 0);
}

TEST_P(OperationsPlugins, QuietTablesStillAdvanceTheSlot) {
  PgCluster pg;
  prepare_source(pg, GetParam());
  DaemonProcess daemon({"--config", daemon_config(pg, "", GetParam()), "run"});
  ASSERT_TRUE(daemon.wait_for_output("streaming slot", 30s)) << daemon.log_text();
  pg.exec("CREATE TABLE public.unrelated (id bigserial PRIMARY KEY, payload text)");
  // About 1 GB of WAL on a table the daemon does not capture, in 64 transactions.
  for (int i = 0; i < 64; ++i) {
    pg.exec("INSERT INTO public.unrelated (payload) SELECT repeat('x', 1000) FROM generate_series(1, 16000)");
  }
  const long written = std::stol(*pg.scalar("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"));
  ASSERT_GT(written, 1000L * 1000 * 1000);
  ASSERT_TRUE(wait_slot_caught_up(pg)) << daemon.log_text();
  // restart_lsn follows the confirmed position at the next running-xacts record.
  pg.exec("CHECKPOINT");
  const bool small = wait_until(
      [&] {
        pg.exec("CHECKPOINT");
        const long retained = std::stol(*pg.scalar(
            "SELECT pg_current_wal_lsn() - restart_lsn FROM pg_replication_slots WHERE slot_name = 'customer_cdc'"));
        return retained < 64L * 1024 * 1024;
      },
      60s, 1s);
  EXPECT_TRUE(small) << "retained WAL: "
                     << *pg.scalar("SELECT pg_current_wal_lsn() - restart_lsn FROM pg_replication_slots");
  EXPECT_EQ(audit_rows(pg), 0);  // nothing captured, nothing written
}

INSTANTIATE_TEST_SUITE_P(Plugins, OperationsPlugins, ::testing::Values(wal2json_variant(), pgoutput_variant()),
                         variant_name);

TEST(Operations, MetricsAndHealth) {
  PgCluster pg;
  const int port = free_port();
  ASSERT_GT(port, 0);
  DaemonProcess daemon(
      {"--config", write_daemon_config(metrics_on(pg.conninfo(), port)), "run"});
  ASSERT_TRUE(daemon.wait_for_output("streaming slot", 30s)) << daemon.log_text();
  create_customers(pg, 7);
  ASSERT_TRUE(wait_slot_caught_up(pg));

  httplib::Client client("127.0.0.1", port);
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  std::string body;
  ASSERT_TRUE(wait_until(
      [&] {
        auto metrics = client.Get("/metrics");
        if (!metrics || metrics->status != 200) return false;
        body = metrics->body;
        return body.find("customer_cdc_events_total{table=\"public.customer\",op=\"c\"} 7") != std::string::npos;
      },
      10s))
      << body;
  // Every sample line is "name{labels} value" with a numeric value, names
  // prefixed, but for the standard process_* metrics of every Prometheus client.
  std::istringstream lines(body);
  int samples = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    EXPECT_TRUE(line.rfind("customer_cdc_", 0) == 0 || line.rfind("process_", 0) == 0) << line;
    const auto space = line.rfind(' ');
    ASSERT_NE(space, std::string::npos) << line;
    EXPECT_NO_THROW((void)std::stod(line.substr(space + 1))) << line;
    ++samples;
  }
  EXPECT_GE(samples, 10);
  // Prometheus' own linter (Debian's prometheus package) finds nothing to fix.
  const std::string scraped = write_temp_file(body, ".prom");
  FILE* promtool = ::popen(("promtool check metrics < " + scraped + " 2>&1").c_str(), "r");
  ASSERT_NE(promtool, nullptr);
  std::string lint;
  for (char buffer[512]; std::fgets(buffer, sizeof buffer, promtool) != nullptr;) lint += buffer;
  const int lint_status = ::pclose(promtool);
  EXPECT_EQ(lint_status, 0) << "promtool check metrics (is the prometheus package installed?):\n" << lint;
  EXPECT_EQ(lint, "") << lint;
  for (const char* name : {"customer_cdc_transactions_total", "customer_cdc_confirmed_lsn", "customer_cdc_lag_bytes",
                           "customer_cdc_lag_seconds", "customer_cdc_sink_errors_total", "customer_cdc_reconnects_total",
                           "customer_cdc_kafka_queue_depth", "customer_cdc_streaming 1",
                           "customer_cdc_build_info{version=\"0.1.0\",plugin=\"wal2json\"} 1",
                           "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                           "process_start_time_seconds"}) {
    EXPECT_NE(body.find(name), std::string::npos) << name;
  }
  // Without Postgres the daemon is not streaming: /healthz says so.
  pg.stop("fast");
  EXPECT_TRUE(wait_until(
      [&] {
        auto h = client.Get("/healthz");
        return h && h->status == 503;
      },
      20s));
  pg.start();
}

TEST(Operations, BadConfigurationExitsWithCode2AndNamesTheKey) {
  struct Case {
    std::string toml;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"[postgres]\nslots = \"x\"\n", "postgres.slots"},
      {"[postgres]\nstatus_interval_ms = \"fast\"\n", "postgres.status_interval_ms"},
      {"log_level = \"loud\"\n", "log_level"},
      {"[nope]\nx = 1\n", "nope"},
      {"[postgres]\ndsn = \"host=127.0.0.1 port\"\n", "postgres.dsn"},
      {"[postgres\n", "line"},
  };
  for (const auto& c : cases) {
    const auto result = DaemonProcess::run_to_completion({"--config", write_temp_file(c.toml, ".toml"), "run"}, {}, 20s);
    EXPECT_EQ(result.exit_code, 2) << c.toml << result.output;
    EXPECT_NE(result.output.find(c.needle), std::string::npos) << c.toml << result.output;
  }
  const auto env = DaemonProcess::run_to_completion({"run"}, {{"CUSTOMER_CDC_POSTGRES_SLOTT", "x"}}, 20s);
  EXPECT_EQ(env.exit_code, 2) << env.output;
  EXPECT_NE(env.output.find("CUSTOMER_CDC_POSTGRES_SLOTT"), std::string::npos) << env.output;
  const auto missing = DaemonProcess::run_to_completion({"--config", "/nonexistent/cdc.toml", "run"}, {}, 20s);
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  const auto usage = DaemonProcess::run_to_completion({"frobnicate"}, {}, 20s);
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
}

TEST(Operations, UnreachablePostgresKeepsRetrying) {
  const int port = free_port();
  DaemonProcess daemon({"--config",
                        write_daemon_config(DaemonConfig("host=127.0.0.1 port=" + std::to_string(port) +
                                                         " user=postgres password=hunter2 connect_timeout=2")),
                        "run"});
  ASSERT_TRUE(wait_until([&] { return daemon.log_text().find("attempt 3") != std::string::npos; }, 30s))
      << daemon.log_text();
  EXPECT_TRUE(daemon.running());
  EXPECT_EQ(daemon.log_text().find("hunter2"), std::string::npos) << daemon.log_text();
  daemon.terminate();
  EXPECT_EQ(daemon.wait_exit(20s), 0);
}

TEST(Operations, StandbyTakesOverWhenTheActiveInstanceDies) {
  PgCluster pg;
  const std::string config = daemon_config(pg);
  DaemonProcess active({"--config", config, "run"});
  ASSERT_TRUE(active.wait_for_output("streaming slot", 30s)) << active.log_text();
  DaemonProcess standby({"--config", config, "run"});
  ASSERT_TRUE(standby.wait_for_output("standing by", 30s)) << standby.log_text();
  create_customers(pg, 10);
  ASSERT_TRUE(wait_slot_caught_up(pg));
  active.kill9();
  ASSERT_TRUE(standby.wait_for_output("streaming slot", 60s)) << standby.log_text();
  create_customers(pg, 0);
  PgConn conn = pg.connect();
  for (int i = 1; i <= 10; ++i) decrement(conn, i);
  ASSERT_TRUE(wait_slot_caught_up(pg)) << standby.log_text();
  EXPECT_EQ(audit_rows(pg), 20);
  EXPECT_EQ(*pg.scalar("SELECT count(*) FROM public.audit_logs WHERE action = 'resource_update'"), "10");
}

TEST(Operations, VanishedSlotStopsWithRecoveryAdvice) {
  PgCluster pg;
  const std::string config = daemon_config(pg);
  {
    DaemonProcess daemon({"--config", config, "run"});
    ASSERT_TRUE(daemon.wait_for_output("streaming slot", 30s)) << daemon.log_text();
    create_customers(pg, 5);
    ASSERT_TRUE(wait_slot_caught_up(pg));
    daemon.terminate();
    ASSERT_EQ(daemon.wait_exit(30s), 0);
  }
  // The slot disappears behind the daemon's back (as after a failover).
  pg.exec("SELECT pg_drop_replication_slot('customer_cdc')");
  create_customers(pg, 0);
  const auto refused = DaemonProcess::run_to_completion({"--config", config, "run"}, {}, 30s);
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("disappeared"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("customer-cdc snapshot"), std::string::npos) << refused.output;
  EXPECT_EQ(*pg.scalar("SELECT count(*) FROM pg_replication_slots"), "0");  // no silent new slot

  const auto snapshot = DaemonProcess::run_to_completion({"--config", config, "snapshot"}, {}, 60s);
  ASSERT_EQ(snapshot.exit_code, 0) << snapshot.output;
  EXPECT_NE(snapshot.output.find("public.customer: 5 rows"), std::string::npos) << snapshot.output;
  DaemonProcess resumed({"--config", config, "run"});
  ASSERT_TRUE(resumed.wait_for_output("streaming slot", 30s)) << resumed.log_text();
  PgConn conn = pg.connect();
  decrement(conn, 1);
  ASSERT_TRUE(wait_slot_caught_up(pg)) << resumed.log_text();
  EXPECT_EQ(*pg.scalar("SELECT count(*) FROM public.audit_logs WHERE action = 'resource_update'"), "1");

  // A deliberate `slot drop` forgets the checkpoint: the next start creates a fresh slot.
  resumed.terminate();
  ASSERT_EQ(resumed.wait_exit(30s), 0);
  const auto dropped = DaemonProcess::run_to_completion({"--config", config, "slot", "drop"}, {}, 30s);
  ASSERT_EQ(dropped.exit_code, 0) << dropped.output;
  DaemonProcess fresh({"--config", config, "run"});
  EXPECT_TRUE(fresh.wait_for_output("streaming slot", 30s)) << fresh.log_text();
}

}  // namespace
}  // namespace cdc::testing
