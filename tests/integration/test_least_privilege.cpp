// The daemon as the least-privilege role of scripts/create-role.sql (not a
// superuser): `run`, `check`, `snapshot` and `rebuild-rollups` work, the role
// cannot write the application's tables, and its password never reaches the
// daemon's log or `check`'s output.
//
// The test clusters use trust authentication; here the role is switched to
// scram-sha-256 in pg_hba.conf, so the password in the DSN really is checked.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "support/daemon_config.hpp"
#include "support/daemon_process.hpp"
#include "support/pg_cluster.hpp"
#include "support/slot_wait.hpp"

namespace cdc::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kRole = "customer_cdc";
constexpr const char* kPassword = "s3cr3t-pw";
constexpr const char* kWrongPassword = "Wr0ng-Pa55word";

/// psql -f scripts/create-role.sql as the superuser, with -v role= and -v password=.
RunResult create_role(const PgCluster& pg, const std::string& role, const std::string& password) {
  std::vector<std::string> args = {"-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                                   std::to_string(pg.port()), "-U", "postgres", "-d", pg.database(),
                                   "-v", "role=" + role};
  if (!password.empty()) {
    args.push_back("-v");
    args.push_back("password=" + password);
  }
  args.push_back("-f");
  args.push_back(std::string(CDC_SOURCE_DIR) + "/scripts/create-role.sql");
  return DaemonProcess::run_to_completion(args, {}, 60s, "/usr/lib/postgresql/15/bin/psql");
}

/// Puts scram-sha-256 in front of the cluster's trust rules for `role`, then reloads.
void require_scram(PgCluster& pg, const std::string& role) {
  const std::string path = pg.data_dir() + "/pg_hba.conf";
  const std::string rest = read_text_file(path);
  ASSERT_FALSE(rest.empty()) << path;
  {
    std::ofstream out(path, std::ios::trunc);  // keeps the file's owner (postgres)
    out << "host all " << role << " 127.0.0.1/32 scram-sha-256\n"
        << "host replication " << role << " 127.0.0.1/32 scram-sha-256\n"
        << rest;
    ASSERT_TRUE(out.good()) << path;
  }
  ASSERT_EQ(pg.scalar("SELECT pg_reload_conf()"), Value("t"));
  // The reload is asynchronous: wait until the rule is in effect.
  ASSERT_TRUE(wait_until(
      [&] {
        return pg.scalar("SELECT count(*) FROM pg_hba_file_rules WHERE $1 = ANY(user_name) "
                         "AND auth_method = 'scram-sha-256'",
                         {role}) == Value("2");
      },
      10s, 100ms));
}

std::string role_dsn(const PgCluster& pg, const std::string& password) {
  return "host=127.0.0.1 port=" + std::to_string(pg.port()) + " dbname=" + pg.database() + " user=" + kRole +
         " password=" + password;
}

std::string config_for(const std::string& dsn, const std::string& top = "") {
  DaemonConfig config(dsn);
  config.top = top;
  config.status_interval_ms = 500;
  return write_daemon_config(config);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

/// Every line of `check` output is OK, and every item is there.
void expect_check_all_ok(const RunResult& r) {
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const auto lines = lines_of(r.output);
  EXPECT_GE(lines.size(), 14u) << r.output;
  for (const auto& line : lines) EXPECT_TRUE(line.starts_with("OK   ")) << line << "\n" << r.output;
  for (const char* item : {"connect", "replication privilege", "wal2json", "schema", "privileges",
                           "row level security", "slot"}) {
    EXPECT_NE(r.output.find(std::string("OK   ") + item + ":"), std::string::npos) << item << "\n" << r.output;
  }
  EXPECT_NE(r.output.find("has REPLICATION"), std::string::npos) << r.output;  // not "is a superuser"
  EXPECT_NE(r.output.find("(BYPASSRLS)"), std::string::npos) << r.output;
}

/// Runs `sql` as the role; returns the SQLSTATE of the error ("" = it worked).
std::string sqlstate_as_role(const PgCluster& pg, const std::string& sql) {
  PgConn conn(role_dsn(pg, kPassword));
  try {
    conn.exec(sql);
  } catch (const PgError& e) {
    return e.sqlstate();
  }
  return "";
}

Rows rollups(PgCluster& pg) {
  Rows rows = pg.query("SELECT 'plan', plan_id::text, customers::text, mrr::text FROM analytics.plan_rollup "
                       "ORDER BY plan_id");
  for (auto& row : pg.query("SELECT 'usage', customer_uuid::text, resource, consumed::text "
                            "FROM analytics.usage_daily ORDER BY 2, 3")) {
    rows.push_back(row);
  }
  for (auto& row : pg.query("SELECT 'change', from_plan_id::text, to_plan_id::text, changes::text "
                            "FROM analytics.plan_changes_daily ORDER BY 2, 3")) {
    rows.push_back(row);
  }
  return rows;
}

TEST(LeastPrivilege, RoleRunsChecksSnapshotsAndRebuildsButCannotWriteTheSource) {
  PgCluster pg;
  // Twice: the script is idempotent.
  for (int i = 0; i < 2; ++i) {
    const RunResult script = create_role(pg, kRole, kPassword);
    ASSERT_EQ(script.exit_code, 0) << script.output;
  }
  require_scram(pg, kRole);
  EXPECT_EQ(pg.query("SELECT rolsuper::text, rolreplication::text, rolbypassrls::text, rolcreaterole::text, "
                     "rolcreatedb::text FROM pg_roles WHERE rolname = $1",
                     {kRole}),
            (Rows{{"false", "true", "true", "false", "false"}}));
  // scram is in effect: the wrong password is refused.
  EXPECT_THROW(PgConn(role_dsn(pg, kWrongPassword)), std::runtime_error);

  // Customers from before the daemon: only the initial snapshot sees them
  // (through row level security, thanks to BYPASSRLS).
  pg.exec("INSERT INTO public.customer (uuid, email, plan_id, remaining_resources) "
          "SELECT gen_random_uuid(), 'old' || g || '@example.com', 1, '{\"api_calls\": 1000}' "
          "FROM generate_series(1, 3) g");

  const std::string config = config_for(role_dsn(pg, kPassword));
  expect_check_all_ok(DaemonProcess::run_to_completion({"--config", config, "check"}, {}, 90s));

  {
    DaemonProcess daemon({"--config", config, "run"});
    ASSERT_TRUE(daemon.wait_for_output("streaming slot", 60s)) << daemon.log_text();
    // The daemon's connections really are the role's.
    EXPECT_NE(pg.scalar("SELECT count(*) FROM pg_stat_activity WHERE usename = $1", {kRole}), Value("0"));
    EXPECT_EQ(pg.scalar("SELECT usename FROM pg_stat_replication WHERE application_name = 'customer-cdc'"),
              Value(kRole));

    // Changes made by the superuser: inserts, a plan change, a resource update,
    // a delete, a plan price change.
    pg.exec("INSERT INTO public.customer (uuid, email, plan_id, remaining_resources) "
            "SELECT gen_random_uuid(), 'lp' || g || '@example.com', 1, '{\"api_calls\": 1000}' "
            "FROM generate_series(1, 5) g");
    pg.exec("UPDATE public.customer SET plan_id = 2 WHERE email = 'lp1@example.com'");
    pg.exec("UPDATE public.customer SET remaining_resources = '{\"api_calls\": 990}' WHERE email = 'lp2@example.com'");
    pg.exec("DELETE FROM public.customer WHERE email = 'lp3@example.com'");
    pg.exec("UPDATE public.plans SET price = 29.99 WHERE id = 2");
    ASSERT_TRUE(wait_slot_caught_up(pg)) << daemon.log_text();

    EXPECT_EQ(pg.query("SELECT action, count(*)::text FROM public.audit_logs GROUP BY 1 ORDER BY 1"),
              (Rows{{"customer_created", "5"}, {"customer_deleted", "1"}, {"plan_change", "1"},
                    {"resource_update", "1"}}));
    EXPECT_EQ(pg.scalar("SELECT count(DISTINCT source_lsn) FROM public.audit_logs"), Value("8"));
    const std::string lp2 = *pg.scalar("SELECT uuid::text FROM public.customer WHERE email = 'lp2@example.com'");
    const Rows expected = {{"plan", "1", "6", "59.94"},   // 3 old + 5 new - 1 moved - 1 deleted
                           {"plan", "2", "1", "29.99"},   // at the new price
                           {"plan", "3", "0", "0.00"},
                           {"usage", lp2, "api_calls", "10"},
                           {"change", "1", "2", "1"}};
    EXPECT_EQ(rollups(pg), expected);
    const std::string log = daemon.log_text();
    EXPECT_EQ(log.find("permission denied"), std::string::npos) << log;
    EXPECT_EQ(log.find(kPassword), std::string::npos) << log;

    // While it streams: check passes too (the slot is active: a note, not a failure).
    expect_check_all_ok(DaemonProcess::run_to_completion({"--config", config, "check"}, {}, 90s));

    daemon.terminate();
    ASSERT_EQ(daemon.wait_exit(30s), 0) << daemon.log_text();
  }

  // With the daemon stopped: a snapshot and a rollup rebuild as the role.
  const RunResult snapshot = DaemonProcess::run_to_completion({"--config", config, "snapshot"}, {}, 120s);
  ASSERT_EQ(snapshot.exit_code, 0) << snapshot.output;
  EXPECT_NE(snapshot.output.find("public.customer: 7 rows"), std::string::npos) << snapshot.output;
  EXPECT_NE(snapshot.output.find("public.plans: 3 rows"), std::string::npos) << snapshot.output;
  EXPECT_NE(snapshot.output.find("rollups rebuilt"), std::string::npos) << snapshot.output;
  EXPECT_EQ(pg.scalar("SELECT snapshot_lsn IS NOT NULL FROM customer_cdc.checkpoint WHERE slot_name = 'customer_cdc'"),
            Value("t"));

  pg.exec("DELETE FROM analytics.plan_rollup; DELETE FROM analytics.usage_daily; "
          "DELETE FROM analytics.plan_changes_daily");
  const RunResult rebuild = DaemonProcess::run_to_completion({"--config", config, "rebuild-rollups"}, {}, 120s);
  ASSERT_EQ(rebuild.exit_code, 0) << rebuild.output;
  EXPECT_NE(rebuild.output.find("rebuilt rollups"), std::string::npos) << rebuild.output;
  const std::string lp2 = *pg.scalar("SELECT uuid::text FROM public.customer WHERE email = 'lp2@example.com'");
  EXPECT_EQ(rollups(pg), (Rows{{"plan", "1", "6", "59.94"},
                               {"plan", "2", "1", "29.99"},
                               {"plan", "3", "0", "0.00"},
                               {"usage", lp2, "api_calls", "10"},
                               {"change", "1", "2", "1"}}));
  for (const auto* output : {&snapshot.output, &rebuild.output}) {
    EXPECT_EQ(output->find(kPassword), std::string::npos) << *output;
  }
  expect_check_all_ok(DaemonProcess::run_to_completion({"--config", config, "check"}, {}, 90s));

  // What the role must not do. 42501 = insufficient_privilege.
  EXPECT_EQ(sqlstate_as_role(pg, "UPDATE public.customer SET email = 'x' || email"), "42501");
  EXPECT_EQ(sqlstate_as_role(pg, "DELETE FROM public.customer"), "42501");
  EXPECT_EQ(sqlstate_as_role(pg, "INSERT INTO public.plans (name, price, benefits) VALUES ('x', 1, '[]')"), "42501");
  EXPECT_EQ(sqlstate_as_role(pg, "UPDATE public.audit_logs SET action = 'x'"), "42501");
  EXPECT_EQ(sqlstate_as_role(pg, "DELETE FROM public.audit_logs"), "42501");
  EXPECT_EQ(sqlstate_as_role(pg, "TRUNCATE analytics.plan_rollup"), "42501");
  EXPECT_EQ(sqlstate_as_role(pg, "CREATE TABLE public.intruder (id int)"), "42501");
  EXPECT_EQ(sqlstate_as_role(pg, "ALTER TABLE public.customer DISABLE ROW LEVEL SECURITY"), "42501");
  {
    PgConn conn(role_dsn(pg, kPassword));
    try {
      conn.exec("UPDATE public.customer SET email = 'x'");
      ADD_FAILURE() << "the role updated public.customer";
    } catch (const PgError& e) {
      EXPECT_NE(std::string(e.what()).find("permission denied for table customer"), std::string::npos) << e.what();
    }
    // What it may do: read the source through row level security.
    EXPECT_EQ(conn.scalar("SELECT count(*) FROM public.customer"), Value("7"));
  }
  EXPECT_EQ(pg.scalar("SELECT count(*) FROM public.customer WHERE email LIKE 'x%'"), Value("0"));
}

TEST(LeastPrivilege, PasswordNeverInTheLogNorInCheckOutput) {
  PgCluster pg;
  const RunResult script = create_role(pg, kRole, kPassword);
  ASSERT_EQ(script.exit_code, 0) << script.output;
  require_scram(pg, kRole);
  const std::string good_dsn = role_dsn(pg, kPassword);
  auto expect_no_secret = [](const std::string& text, const std::string& what) {
    EXPECT_EQ(text.find(kPassword), std::string::npos) << what << ":\n" << text;
    EXPECT_EQ(text.find(kWrongPassword), std::string::npos) << what << ":\n" << text;
  };

  // Connected, at debug level, through a config file.
  {
    DaemonProcess daemon({"--config", config_for(good_dsn, "log_level = \"debug\"\n"), "run"});
    ASSERT_TRUE(daemon.wait_for_output("streaming slot", 60s)) << daemon.log_text();
    pg.exec("INSERT INTO public.customer (uuid, email, plan_id) VALUES (gen_random_uuid(), 'pw@example.com', 1)");
    ASSERT_TRUE(wait_slot_caught_up(pg)) << daemon.log_text();
    EXPECT_EQ(pg.scalar("SELECT count(*) FROM public.audit_logs"), Value("1"));
    daemon.terminate();
    EXPECT_EQ(daemon.wait_exit(30s), 0) << daemon.log_text();
    expect_no_secret(daemon.log_text(), "daemon log (connected)");
  }
  const RunResult check_ok =
      DaemonProcess::run_to_completion({"--config", config_for(good_dsn), "check"}, {}, 90s);
  EXPECT_EQ(check_ok.exit_code, 0) << check_ok.output;
  expect_no_secret(check_ok.output, "check output (connected)");

  // Authentication fails: the DSN from the environment (key=value and URI
  // forms), text and JSON logs. The daemon keeps retrying; nothing quotes the password.
  const std::string wrong_kv = role_dsn(pg, kWrongPassword);
  const std::string wrong_uri = std::string("postgresql://") + kRole + ":" + kWrongPassword + "@127.0.0.1:" +
                                std::to_string(pg.port()) + "/" + pg.database() + "?connect_timeout=5";
  for (const auto& [dsn, format] : std::vector<std::pair<std::string, std::string>>{
           {wrong_kv, "text"}, {wrong_uri, "json"}}) {
    // No config file (none at the default path): defaults plus the environment.
    DaemonProcess daemon({"run"}, {{"CUSTOMER_CDC_POSTGRES_DSN", dsn},
                                   {"CUSTOMER_CDC_LOG_FORMAT", format},
                                   {"CUSTOMER_CDC_LOG_LEVEL", "debug"},
                                   {"CUSTOMER_CDC_METRICS_LISTEN", ""}});
    ASSERT_TRUE(wait_until([&] { return daemon.log_text().find("attempt 2") != std::string::npos; }, 60s))
        << daemon.log_text();
    EXPECT_NE(daemon.log_text().find("password authentication failed"), std::string::npos) << daemon.log_text();
    daemon.terminate();
    EXPECT_EQ(daemon.wait_exit(30s), 0) << daemon.log_text();
    expect_no_secret(daemon.log_text(), "daemon log (" + format + ", authentication failed)");
  }

  // check with the wrong password: FAIL connect, exit 1, the fix names the password, not its value.
  for (const auto& dsn : {wrong_kv, wrong_uri}) {
    const RunResult r = DaemonProcess::run_to_completion({"--config", config_for(dsn), "check"}, {}, 90s);
    ASSERT_FALSE(r.timed_out) << r.output;
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("FAIL connect:"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("password authentication failed"), std::string::npos) << r.output;
    expect_no_secret(r.output, "check output (authentication failed)");
  }

  // A DSN libpq cannot parse: a configuration error (exit 2) for run and check alike.
  const std::string unparsable =
      "host=127.0.0.1 port=" + std::to_string(pg.port()) + " user=customer_cdc password " + kPassword;
  for (const char* command : {"run", "check"}) {
    const RunResult r = DaemonProcess::run_to_completion({"--config", config_for(unparsable), command}, {}, 30s);
    EXPECT_NE(r.exit_code, 0) << command << "\n" << r.output;
    expect_no_secret(r.output, std::string(command) + " output (unparsable DSN)");
  }
}

}  // namespace
}  // namespace cdc::testing
