// customer-cdc on a Supabase-like database (tests/support/supabase): postgres,
// not a superuser there, applies the schema and runs the daemon; GoTrue
// (supabase_auth_admin) signs users up and changes their emails through
// auth.users, which it owns; the application (service_role) changes customers
// and plans. Audit rows must equal the seed trigger's shadow, rollups their
// recomputation, and `check` must pass for postgres and name exactly what to
// grant when something is missing. And, without Supabase, a non-superuser
// migrates a blank database.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "support/audit_shadow.hpp"
#include "support/daemon_config.hpp"
#include "support/daemon_process.hpp"
#include "support/pg_cluster.hpp"
#include "support/plugin_variant.hpp"
#include "support/rollup_check.hpp"
#include "support/slot_wait.hpp"
#include "support/supabase.hpp"
#include "support/workload.hpp"

namespace cdc::testing {
namespace {

using namespace std::chrono_literals;
using namespace rollup_check;

constexpr int kTransactions = 400;

std::string config_as_postgres(const SupabaseLike& sb, const PluginVariant& variant) {
  DaemonConfig config(sb.dsn(kSupabasePostgres));
  config.status_interval_ms = 500;
  config.rollups = true;
  apply_variant(config, variant);
  return write_daemon_config(config);
}

RunResult run(const std::string& config, const std::string& command) {
  return DaemonProcess::run_to_completion({"--config", config, command}, {}, 120s);
}

/// The line of `item` in check's output ("OK   item: ..." or "FAIL item: ..."), "" if absent.
std::string line_of(const std::string& output, const std::string& item) {
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("OK   " + item + ":") || line.starts_with("FAIL " + item + ":")) return line;
  }
  return "";
}

/// Every item OK, and the ones that depend on the role say why for postgres.
/// With the audit shadow installed, its trigger is the one failure (the seed's
/// function body writing audit entries, which check is right to report).
void expect_check_all_ok_for_postgres(const RunResult& r, const std::string& plugin, bool audit_shadow = false) {
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_EQ(r.exit_code, audit_shadow ? 1 : 0) << r.output;
  const std::string::size_type fail = r.output.find("FAIL ");
  if (audit_shadow) {
    EXPECT_TRUE(line_of(r.output, "audit trigger").starts_with("FAIL audit trigger: trigger test_shadow_on_"))
        << r.output;
    EXPECT_EQ(r.output.find("FAIL ", fail + 1), std::string::npos) << r.output;
  } else {
    EXPECT_EQ(fail, std::string::npos) << r.output;
  }
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"connect", "as user postgres"},
      {"replication privilege", "role postgres has REPLICATION"},
      {plugin, ""},
      {"schema", "public.customer"},
      {"sign-up triggers", "on_auth_user_created and on_auth_user_updated"},
      {"privileges", "role postgres holds all"},
      {"row level security", "(BYPASSRLS)"},
      {"slot", ""},
  };
  for (const auto& [item, says] : expected) {
    const std::string line = line_of(r.output, item);
    EXPECT_TRUE(line.starts_with("OK   ")) << item << "\n" << r.output;
    EXPECT_NE(line.find(says), std::string::npos) << item << ": " << says << "\n" << r.output;
  }
  if (plugin == "pgoutput") {
    EXPECT_TRUE(line_of(r.output, "publication").starts_with("OK   ")) << r.output;
  }
}

/// The shadows' triggers on public.customer run as whoever changes it (postgres
/// through the SECURITY DEFINER sign-up functions, service_role directly).
void install_shadows(PgCluster& pg) {
  install_audit_shadow(pg);
  install_rollup_shadow(pg);
  pg.exec("GRANT USAGE ON SCHEMA test_shadow, rollup_test TO PUBLIC; "
          "GRANT ALL ON ALL TABLES IN SCHEMA test_shadow, rollup_test TO PUBLIC; "
          "GRANT ALL ON ALL SEQUENCES IN SCHEMA test_shadow TO PUBLIC");
}

WorkloadKnobs supabase_workload() {
  WorkloadKnobs knobs;
  knobs.seed = 18;
  knobs.min_customers = 10;
  knobs.mix = {{Statement::SignUp, 14},        {Statement::EmailUpdate, 10},      {Statement::AuthProfileUpdate, 4},
               {Statement::InsertOnPlan, 4},   {Statement::PlanChange, 14},       {Statement::ResourceUpdate, 24},
               {Statement::KeyEdit, 3},        {Statement::SameValueUpdate, 2},   {Statement::MetadataUpdate, 3},
               {Statement::SameRowChanges, 5}, {Statement::Delete, 2},            {Statement::UpdateThenDelete, 2},
               {Statement::PriceChange, 3},    {Statement::NewPlan, 1},           {Statement::PlanDelete, 1},
               {Statement::RangeUpdate, 2},    {Statement::RolledBack, 2},        {Statement::Savepoint, 2}};
  knobs.customers_per_statement = {1, 3};
  return knobs;
}

class OnSupabase : public ::testing::TestWithParam<PluginVariant> {};

TEST_P(OnSupabase, PostgresMigratesAndRunsTheDaemonWhileGoTrueAndTheApplicationWrite) {
  const PluginVariant& variant = GetParam();
  PgClusterOptions options;
  options.extra_conf = {"track_commit_timestamp = on"};
  SupabaseLike sb(options);
  PgCluster& pg = sb.cluster();
  const std::string config = config_as_postgres(sb, variant);

  // migrate as postgres, and again (nothing to do the second time).
  for (int i = 0; i < 2; ++i) {
    const RunResult migrated = run(config, "migrate");
    ASSERT_EQ(migrated.exit_code, 0) << migrated.output;
    EXPECT_NE(migrated.output.find("schema is up to date"), std::string::npos) << migrated.output;
    if (variant.plugin == "pgoutput") {
      EXPECT_NE(migrated.output.find(i == 0 ? "created publication" : "left as it is"), std::string::npos)
          << migrated.output;
    }
  }
  // postgres owns what it created; GoTrue's auth.users is left as it was, with the sign-up triggers.
  EXPECT_EQ(pg.query("SELECT DISTINCT pg_get_userbyid(relowner)::text FROM pg_class WHERE oid IN "
                     "('public.customer'::regclass, 'public.plans'::regclass, 'public.audit_logs'::regclass, "
                     "'customer_cdc.checkpoint'::regclass, 'analytics.plan_rollup'::regclass)"),
            (Rows{{"postgres"}}));
  EXPECT_EQ(pg.query("SELECT pg_get_userbyid(relowner)::text, relrowsecurity::text, relnatts::text FROM pg_class "
                     "WHERE oid = 'auth.users'::regclass"),
            (Rows{{kSupabaseAuthAdmin, "true", "35"}}));
  EXPECT_EQ(pg.query("SELECT tgname::text FROM pg_trigger WHERE tgrelid = 'auth.users'::regclass ORDER BY 1"),
            (Rows{{"on_auth_user_created"}, {"on_auth_user_updated"}}));

  expect_check_all_ok_for_postgres(run(config, "check"), variant.plugin);

  install_shadows(pg);
  Workload workload(supabase_workload());
  workload.load(pg.conn());
  DaemonProcess daemon({"--config", config, "run"});
  ASSERT_TRUE(daemon.wait_for_output("streaming slot", 60s)) << daemon.log_text();
  EXPECT_EQ(pg.scalar("SELECT usename::text FROM pg_stat_replication WHERE application_name = 'customer-cdc'"),
            Value(kSupabasePostgres));

  SupabaseClients clients(sb);
  for (int i = 0; i < kTransactions; ++i) clients.execute(workload, workload.next());
  // One more email change through auth.users, followed to its customer below.
  const std::string user = *pg.scalar("SELECT u.id::text FROM auth.users u JOIN public.customer c ON c.uuid = u.id "
                                      "ORDER BY u.id LIMIT 1");
  clients.gotrue().exec("UPDATE auth.users SET email = 'changed@example.test' WHERE id = '" + user + "'");
  ASSERT_TRUE(wait_slot_caught_up(pg, &daemon));

  const WorkloadStats& stats = workload.stats();
  std::cout << "[supabase] " << variant.name << ": transactions=" << stats.transactions
            << " sign_ups=" << stats.count(Statement::SignUp)
            << " email_updates=" << stats.count(Statement::EmailUpdate) << std::endl;
  // GoTrue's writes reached public.customer through the seed's triggers.
  EXPECT_GT(count_of(pg, "SELECT count(*) FROM auth.users u JOIN public.customer c ON c.uuid = u.id"), 30);
  EXPECT_EQ(count_of(pg, "SELECT count(*) FROM auth.users u JOIN public.customer c ON c.uuid = u.id "
                         "WHERE c.email <> u.email"),
            0);
  EXPECT_EQ(pg.scalar("SELECT email::text FROM public.customer WHERE uuid = $1", {user}), Value("changed@example.test"));

  const AuditShadowComparison audit = compare_audit_with_shadow(pg);
  std::cout << "[supabase] " << variant.name << ": audit rows=" << audit.ours << " shadow=" << audit.shadow
            << " differences=" << audit.differences << std::endl;
  EXPECT_GT(audit.shadow, 200);
  EXPECT_EQ(audit.ours, audit.shadow);
  EXPECT_EQ(audit.differences, 0) << audit.first_differences;
  EXPECT_EQ(audit.missing, 0);
  EXPECT_EQ(audit.extra, 0);
  EXPECT_EQ(audit.distinct_lsn, audit.ours);
  EXPECT_GT(count_of(pg, "SELECT count(*) FROM public.audit_logs a JOIN auth.users u ON u.id = a.customer_uuid "
                         "WHERE a.action = 'customer_created'"),
            30);

  const bool same_day = count_of(pg, "SELECT count(DISTINCT (created_at AT TIME ZONE 'UTC')::date) "
                                     "FROM public.audit_logs") <= 1;
  EXPECT_TRUE(same_rows(pg, "plan_rollup vs customers * price", kExpectedPlanRollup, kActualPlanRollup));
  EXPECT_TRUE(same_rows(pg, "plan_changes_daily vs audit history", kPlanChangesFromAudit, kActualPlanChanges));
  if (same_day) {
    EXPECT_TRUE(same_rows(pg, "usage_daily vs test trigger", kUsageFromShadow, kActualUsage));
  } else {
    EXPECT_TRUE(same_rows(pg, "usage_daily vs test trigger (summed over days)",
                          without_day(kUsageFromShadow, "customer_uuid, resource", "consumed"),
                          without_day(kActualUsage, "customer_uuid, resource", "consumed")));
  }

  // While it streams, check still passes for postgres (the slot is in use: a note).
  expect_check_all_ok_for_postgres(run(config, "check"), variant.plugin, /*audit_shadow=*/true);
  daemon.terminate();
  EXPECT_EQ(daemon.wait_exit(30s), 0) << daemon.log_text();
  EXPECT_EQ(daemon.log_text().find("permission denied"), std::string::npos) << daemon.log_text();
}

INSTANTIATE_TEST_SUITE_P(Plugins, OnSupabase, ::testing::Values(wal2json_variant(), pgoutput_variant()),
                         variant_name);

/// What `check` and `migrate` say when postgres lacks what Supabase normally
/// gives it, and that the grant they name is the whole fix.
TEST(OnSupabaseCheck, NamesExactlyWhatToGrant) {
  SupabaseLike sb;
  PgCluster& pg = sb.cluster();
  const std::string config = config_as_postgres(sb, wal2json_variant());
  const RunResult migrated = run(config, "migrate");
  ASSERT_EQ(migrated.exit_code, 0) << migrated.output;
  PgConn gotrue = sb.connect_as(kSupabaseAuthAdmin);

  // A sign-up trigger is gone (say, a restore without it) and postgres lost TRIGGER on auth.users.
  pg.exec("DROP TRIGGER on_auth_user_updated ON auth.users");
  gotrue.exec("REVOKE TRIGGER ON auth.users FROM postgres");
  const RunResult lacking = run(config, "check");
  EXPECT_EQ(lacking.exit_code, 1) << lacking.output;
  const std::string triggers = line_of(lacking.output, "sign-up triggers");
  EXPECT_TRUE(triggers.starts_with("FAIL sign-up triggers: on_auth_user_updated missing on auth.users")) << triggers;
  EXPECT_NE(triggers.find("as supabase_auth_admin (the owner of auth.users) or a superuser: "
                          "`GRANT TRIGGER ON auth.users TO postgres;`, then `customer-cdc migrate` as postgres"),
            std::string::npos)
      << triggers;
  EXPECT_EQ(triggers.find("GRANT USAGE"), std::string::npos) << triggers;  // postgres holds USAGE on auth
  const RunResult refused = run(config, "migrate");
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("role postgres lacks TRIGGER on auth.users to create the sign-up trigger "
                                "on_auth_user_updated on auth.users. As supabase_auth_admin (the owner of "
                                "auth.users) or a superuser run: GRANT TRIGGER ON auth.users TO postgres;"),
            std::string::npos)
      << refused.output;

  gotrue.exec("GRANT TRIGGER ON auth.users TO postgres");
  const RunResult fixed = run(config, "migrate");
  EXPECT_EQ(fixed.exit_code, 0) << fixed.output;
  expect_check_all_ok_for_postgres(run(config, "check"), "wal2json");
  // Re-applying with the triggers in place needs TRIGGER no more.
  gotrue.exec("REVOKE TRIGGER ON auth.users FROM postgres");
  const RunResult again = run(config, "migrate");
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(line_of(run(config, "check").output, "sign-up triggers").starts_with("OK   "));

  // A trigger disabled by the owner.
  gotrue.exec("ALTER TABLE auth.users DISABLE TRIGGER on_auth_user_created");
  const std::string disabled = line_of(run(config, "check").output, "sign-up triggers");
  EXPECT_NE(disabled.find("FAIL sign-up triggers: on_auth_user_created on auth.users disabled"), std::string::npos)
      << disabled;
  EXPECT_NE(disabled.find("as supabase_auth_admin (the owner of auth.users) or a superuser: "
                          "`ALTER TABLE auth.users ENABLE TRIGGER on_auth_user_created;`"),
            std::string::npos)
      << disabled;
  gotrue.exec("ALTER TABLE auth.users ENABLE TRIGGER on_auth_user_created");

  // postgres without REPLICATION (only a superuser can give it back).
  pg.exec("ALTER ROLE postgres NOREPLICATION");
  const RunResult no_replication = run(config, "check");
  EXPECT_EQ(no_replication.exit_code, 1) << no_replication.output;
  const std::string replication = line_of(no_replication.output, "replication privilege");
  EXPECT_EQ(replication,
            "FAIL replication privilege: role postgres has neither REPLICATION nor SUPERUSER: it cannot open the "
            "replication connection -> fix: `ALTER ROLE postgres REPLICATION;` as a superuser")
      << no_replication.output;
  pg.exec("ALTER ROLE postgres REPLICATION");
  expect_check_all_ok_for_postgres(run(config, "check"), "wal2json");
}

/// Without Supabase: a non-superuser owning the database migrates a blank one
/// (the minimal auth.users is made, and is its own) and re-applies.
TEST(NonSuperuserMigrate, CreatesTheMinimalAuthUsersItOwnsAndReapplies) {
  PgClusterOptions options;
  options.apply_schema = false;
  PgCluster pg(options);
  pg.exec("CREATE ROLE app_owner LOGIN; ALTER DATABASE app OWNER TO app_owner");
  DaemonConfig daemon_config(pg.conninfo_as("app_owner"));
  const std::string config = write_daemon_config(daemon_config);
  for (int i = 0; i < 2; ++i) {
    const RunResult migrated = run(config, "migrate");
    ASSERT_EQ(migrated.exit_code, 0) << migrated.output;
  }
  EXPECT_EQ(pg.query("SELECT pg_get_userbyid(relowner)::text, relnatts::text FROM pg_class "
                     "WHERE oid = 'auth.users'::regclass"),
            (Rows{{"app_owner", "3"}}));
  PgConn owner(pg.conninfo_as("app_owner"));
  owner.exec("INSERT INTO auth.users (email) VALUES ('first@example.test')");
  EXPECT_EQ(pg.scalar("SELECT count(*) FROM public.customer WHERE email = 'first@example.test'"), Value("1"));
}

}  // namespace
}  // namespace cdc::testing
