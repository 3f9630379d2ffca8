// `customer-cdc check` against real PostgreSQL 15 clusters (and Kafka: an
// unreachable broker and librdkafka's in-process mock cluster), run as the
// built binary.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <utility>
#include <sstream>
#include <string>
#include <vector>

#include "cdc/decode/decoder.hpp"
#include "support/daemon_config.hpp"
#include "support/daemon_process.hpp"
#include "support/kafka_mock.hpp"
#include "support/pg_cluster.hpp"
#include "support/test_temp_dir.hpp"

namespace cdc::testing {
namespace {

using Clock = std::chrono::steady_clock;

struct CheckOptions {
  std::string dsn;
  bool kafka = false;
  std::string brokers = "127.0.0.1:9092";
  std::string kafka_properties;  ///< lines of the [kafka.properties] table
  bool create_slot = true;
  std::string plugin = "wal2json";
  bool binary = false;
  std::string postgres_extra;  ///< raw [postgres] lines

  explicit CheckOptions(std::string dsn_) : dsn(std::move(dsn_)) {}
  CheckOptions& with_binary() {
    binary = true;
    return *this;
  }
  CheckOptions& with_plugin(std::string plugin_) {
    plugin = std::move(plugin_);
    return *this;
  }
  CheckOptions& without_create_slot() {
    create_slot = false;
    return *this;
  }
  CheckOptions& with_kafka(std::string brokers_, std::string properties = "") {
    kafka = true;
    brokers = std::move(brokers_);
    kafka_properties = std::move(properties);
    return *this;
  }
};

std::string config_for(const CheckOptions& o) {
  DaemonConfig config(o.dsn);
  config.log_level = "info";
  config.slot = "customer_cdc";
  config.create_slot = o.create_slot;
  if (o.plugin != "wal2json") config.plugin = o.plugin;
  if (o.binary) config.postgres_extra += "binary = true\n";
  config.postgres_extra += o.postgres_extra;
  config.kafka = o.kafka;
  config.brokers = o.brokers;
  config.kafka_properties = o.kafka_properties;
  config.metrics_listen = "127.0.0.1:9187";
  return config.toml();
}

/// `customer-cdc <args...>` with the configuration of `options`.
RunResult run_command(const CheckOptions& options, std::vector<std::string> args,
                      std::chrono::milliseconds timeout = 60s) {
  args.insert(args.begin(), {"--config", write_temp_file(config_for(options), ".toml")});
  return DaemonProcess::run_to_completion(args, {}, timeout);
}

RunResult run_check(const CheckOptions& options, std::chrono::milliseconds timeout = 60s) {
  return run_command(options, {"check"}, timeout);
}

/// plugin = "pgoutput" parses once the pgoutput decoder is in
/// decode::supported_plugins() (its own branch); until then its tests skip.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

/// The line of `item` ("OK   item: ..." or "FAIL item: ..."), "" if absent.
std::string line_of(const std::string& output, const std::string& item) {
  for (const auto& line : lines_of(output)) {
    if (line.starts_with("OK   " + item + ":") || line.starts_with("FAIL " + item + ":")) return line;
  }
  return "";
}

bool has_fail(const std::string& output, const std::string& item) {
  return line_of(output, item).starts_with("FAIL ");
}

bool has_ok(const std::string& output, const std::string& item) {
  return line_of(output, item).starts_with("OK   ");
}

std::string dsn_of(const PgCluster& pg, const std::string& user) {
  return "host=127.0.0.1 port=" + std::to_string(pg.port()) + " dbname=app user=" + user;
}

/// Every item passes on a fresh cluster with the schema (and, for pgoutput,
/// the publication migrate creates), for each output plugin; then the slot
/// `slot create` makes is reported, and a configuration naming the other
/// plugin fails on it.
class CheckPlugin : public ::testing::TestWithParam<std::string> {
 protected:
  CheckOptions options(const PgCluster& pg) const { return CheckOptions(pg.conninfo()).with_plugin(GetParam()); }
  std::string other_plugin() const { return GetParam() == "wal2json" ? "pgoutput" : "wal2json"; }
};

TEST_P(CheckPlugin, AllOkOnFreshClusterWithSchema) {
  const std::string plugin = GetParam();
  PgCluster pg;
  if (plugin == "pgoutput") {
    const RunResult migrated = run_command(options(pg), {"migrate"});
    ASSERT_EQ(migrated.exit_code, 0) << migrated.output;
  }
  const RunResult r = run_check(options(pg));
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const auto lines = lines_of(r.output);
  ASSERT_GE(lines.size(), 12u) << r.output;
  for (const auto& line : lines) EXPECT_TRUE(line.starts_with("OK   ")) << line << "\n" << r.output;
  std::vector<std::string> items = {"connect", "server version", "wal_level", "max_replication_slots",
                                    "max_wal_senders", "replication privilege", plugin, "schema",
                                    "replica identity", "privileges", "slot", "kafka", "metrics"};
  if (plugin == "pgoutput") items.insert(items.end(), {"publication", "streaming"});
  for (const auto& item : items) EXPECT_TRUE(has_ok(r.output, item)) << item << "\n" << r.output;
  EXPECT_EQ(line_of(r.output, other_plugin()), "") << "only the configured plugin is loaded\n" << r.output;
  EXPECT_NE(line_of(r.output, "server version").find("PostgreSQL 15"), std::string::npos) << r.output;
  EXPECT_NE(line_of(r.output, "slot").find("will be created (" + plugin + ")"), std::string::npos) << r.output;
  EXPECT_NE(line_of(r.output, "metrics").find("loopback"), std::string::npos) << r.output;
  // The temporary test slot is gone with the check's connection.
  EXPECT_EQ(pg.scalar("SELECT count(*) FROM pg_replication_slots"), "0");

  // Once the slot exists, its state is reported.
  const RunResult created = run_command(options(pg), {"slot", "create"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  EXPECT_EQ(pg.scalar("SELECT plugin FROM pg_replication_slots WHERE slot_name = 'customer_cdc'"), plugin);
  const RunResult again = run_check(options(pg).without_create_slot());
  EXPECT_EQ(again.exit_code, 0) << again.output;
  const std::string slot = line_of(again.output, "slot");
  EXPECT_TRUE(slot.starts_with("OK   slot: \"customer_cdc\" exists (" + plugin)) << again.output;
  EXPECT_NE(slot.find("inactive"), std::string::npos) << slot;
  EXPECT_NE(slot.find("confirmed_flush_lsn"), std::string::npos) << slot;
  EXPECT_NE(slot.find("retains"), std::string::npos) << slot;

  // A configuration naming the other plugin does not match the slot.
  if (other_plugin() == "pgoutput") {
    ASSERT_EQ(run_command(CheckOptions(pg.conninfo()).with_plugin("pgoutput"), {"migrate"}).exit_code, 0);
  }
  const RunResult mismatch = run_check(CheckOptions(pg.conninfo()).with_plugin(other_plugin()));
  EXPECT_EQ(mismatch.exit_code, 1) << mismatch.output;
  const std::string wrong = line_of(mismatch.output, "slot");
  EXPECT_TRUE(wrong.starts_with("FAIL slot: \"customer_cdc\" is a logical slot with plugin '" + plugin +
                                "', not a logical " + other_plugin() + " slot (postgres.plugin)"))
      << mismatch.output;
  EXPECT_NE(wrong.find("customer-cdc slot drop"), std::string::npos) << wrong;
  EXPECT_NE(wrong.find("set postgres.plugin = \"" + plugin + "\""), std::string::npos) << wrong;
  EXPECT_NE(wrong.find("slot switch --from customer_cdc"), std::string::npos) << wrong;
  const RunResult create_other =
      run_command(CheckOptions(pg.conninfo()).with_plugin(other_plugin()), {"slot", "create"});
  EXPECT_EQ(create_other.exit_code, 1) << create_other.output;
  EXPECT_NE(create_other.output.find("uses plugin " + plugin + ", postgres.plugin is " + other_plugin()),
            std::string::npos)
      << create_other.output;
}

/// pgoutput streaming: the item says where streamed transactions wait, and
/// fails with the fix when that directory cannot be made.
TEST(Check, StreamingReportsItsSpoolDirectory) {
  PgCluster pg;
  CheckOptions options = CheckOptions(pg.conninfo()).with_plugin("pgoutput");
  ASSERT_EQ(run_command(options, {"migrate"}).exit_code, 0);
  const std::string usable = make_test_temp_dir("cdc-test-spool-") + "/spool";
  options.postgres_extra = "streaming = true\nspool_dir = \"" + usable + "\"\n";
  const RunResult ok = run_check(options);
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_EQ(line_of(ok.output, "streaming"),
            "OK   streaming: on: in-progress transactions wait in " + usable + " (writable) until they commit");

  const std::string below_a_file = write_temp_file("x", ".not-a-dir") + "/spool";
  options.postgres_extra = "streaming = true\nspool_dir = \"" + below_a_file + "\"\n";
  const RunResult bad = run_check(options);
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  const std::string line = line_of(bad.output, "streaming");
  EXPECT_TRUE(line.starts_with("FAIL streaming: on, but cannot create the spool directory " + below_a_file))
      << bad.output;
  EXPECT_NE(line.find("set postgres.spool_dir to such a directory, or set postgres.streaming = false"),
            std::string::npos)
      << line;
}

INSTANTIATE_TEST_SUITE_P(Plugins, CheckPlugin, ::testing::Values("wal2json", "pgoutput"),
                         [](const auto& info) { return info.param; });

TEST(Check, MissingSlotWithoutCreateSlotFails) {
  PgCluster pg;
  const RunResult r = run_check(CheckOptions(pg.conninfo()).without_create_slot());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(has_fail(r.output, "slot")) << r.output;
  EXPECT_NE(line_of(r.output, "slot").find("customer-cdc slot create"), std::string::npos) << r.output;
}

TEST(Check, ClusterWithoutSchemaFails) {
  PgCluster::Options opts;
  opts.apply_schema = false;
  PgCluster pg(opts);
  const RunResult r = run_check(CheckOptions(pg.conninfo()));
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(has_ok(r.output, "connect")) << r.output;
  EXPECT_TRUE(has_ok(r.output, "wal2json")) << r.output;
  EXPECT_TRUE(has_fail(r.output, "schema")) << r.output;
  EXPECT_NE(line_of(r.output, "schema").find("public.customer"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("customer-cdc migrate"), std::string::npos) << r.output;
  EXPECT_TRUE(has_fail(r.output, "replica identity")) << r.output;
}

TEST(Check, ReplicaIdentityDefaultFails) {
  PgCluster pg;
  pg.exec("ALTER TABLE public.customer REPLICA IDENTITY DEFAULT");
  const RunResult r = run_check(CheckOptions(pg.conninfo()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const std::string line = line_of(r.output, "replica identity");
  EXPECT_TRUE(line.starts_with("FAIL replica identity:")) << r.output;
  EXPECT_NE(line.find("DEFAULT"), std::string::npos) << line;
  EXPECT_NE(line.find("ALTER TABLE public.customer REPLICA IDENTITY FULL;"), std::string::npos) << line;
  // Everything else is fine.
  for (const auto& l : lines_of(r.output)) {
    if (!l.starts_with("FAIL replica identity")) {
      EXPECT_TRUE(l.starts_with("OK   ")) << l;
    }
  }
}

TEST(Check, WalLevelAndSlotLimitFail) {
  PgCluster::Options opts;
  opts.extra_conf = {"wal_level = replica", "max_replication_slots = 1"};
  PgCluster pg(opts);
  pg.exec("SELECT pg_create_physical_replication_slot('other')");  // the only slot is taken
  const RunResult r = run_check(CheckOptions(pg.conninfo()));
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const std::string wal_level = line_of(r.output, "wal_level");
  EXPECT_TRUE(wal_level.starts_with("FAIL wal_level: wal_level is 'replica'")) << r.output;
  EXPECT_NE(wal_level.find("ALTER SYSTEM SET wal_level = logical;"), std::string::npos) << wal_level;
  EXPECT_NE(wal_level.find("restart"), std::string::npos) << wal_level;
  const std::string slots = line_of(r.output, "max_replication_slots");
  EXPECT_TRUE(slots.starts_with("FAIL max_replication_slots: 1 of 1 in use")) << r.output;
  EXPECT_NE(slots.find("other"), std::string::npos) << slots;
  EXPECT_NE(slots.find("pg_drop_replication_slot"), std::string::npos) << slots;
  EXPECT_TRUE(has_fail(r.output, "wal2json")) << r.output;
  EXPECT_NE(line_of(r.output, "wal2json").find("not verified"), std::string::npos) << r.output;
  EXPECT_TRUE(has_ok(r.output, "schema")) << r.output;
}

TEST(Check, OpenTransactionDoesNotHangTheSlotTest) {
  PgCluster pg;
  // A transaction holding an xid: logical slot creation waits for it to end.
  PgConn open = pg.connect();
  open.exec("BEGIN; SELECT txid_current()");
  const auto started = Clock::now();
  const RunResult r = run_check(CheckOptions(pg.conninfo()), 60s);
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_LT(Clock::now() - started, 40s) << r.output;
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const std::string line = line_of(r.output, "wal2json");
  EXPECT_TRUE(line.starts_with("FAIL wal2json:")) << r.output;
  EXPECT_NE(line.find("long-running transaction"), std::string::npos) << line;
  EXPECT_NE(line.find("pg_stat_activity"), std::string::npos) << line;
  EXPECT_TRUE(has_ok(r.output, "slot")) << r.output;  // the items after it still ran
  open.exec("COMMIT");
  EXPECT_EQ(pg.scalar("SELECT count(*) FROM pg_replication_slots"), "0");
}

TEST(Check, SeedAuditTriggerFails) {
  PgCluster pg;
  pg.exec("CREATE TRIGGER on_customer_changes AFTER UPDATE ON public.customer "
          "FOR EACH ROW EXECUTE FUNCTION public.log_customer_changes()");
  const RunResult r = run_check(CheckOptions(pg.conninfo()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const std::string line = line_of(r.output, "audit trigger");
  EXPECT_TRUE(line.starts_with("FAIL ")) << r.output;
  EXPECT_NE(line.find("DROP TRIGGER on_customer_changes ON public.customer;"), std::string::npos) << line;
}

TEST(Check, RoleWithoutReplicationFails) {
  PgCluster pg;
  // Every table privilege it needs, and BYPASSRLS, but no REPLICATION.
  pg.exec(
      "CREATE ROLE cdc_norepl LOGIN BYPASSRLS; "
      "GRANT USAGE ON SCHEMA customer_cdc, analytics TO cdc_norepl; "
      "GRANT SELECT ON public.customer, public.plans TO cdc_norepl; "
      "GRANT INSERT ON public.audit_logs TO cdc_norepl; "
      "GRANT SELECT, INSERT, UPDATE ON customer_cdc.checkpoint TO cdc_norepl; "
      "GRANT SELECT, INSERT, DELETE ON customer_cdc.plan_price TO cdc_norepl; "
      "GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA analytics TO cdc_norepl");
  const RunResult r = run_check(CheckOptions(dsn_of(pg, "cdc_norepl")));
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const std::string line = line_of(r.output, "replication privilege");
  EXPECT_TRUE(line.starts_with("FAIL ")) << r.output;
  EXPECT_NE(line.find("ALTER ROLE cdc_norepl REPLICATION;"), std::string::npos) << line;
  // wal2json cannot be verified without it (and says so), the rest is fine.
  EXPECT_TRUE(has_fail(r.output, "wal2json")) << r.output;
  EXPECT_NE(line_of(r.output, "wal2json").find("REPLICATION"), std::string::npos) << r.output;
  EXPECT_TRUE(has_ok(r.output, "privileges")) << r.output;
  EXPECT_TRUE(has_ok(r.output, "row level security")) << r.output;
  EXPECT_TRUE(has_ok(r.output, "schema")) << r.output;

  // With REPLICATION it passes entirely.
  pg.exec("ALTER ROLE cdc_norepl REPLICATION");
  const RunResult fixed = run_check(CheckOptions(dsn_of(pg, "cdc_norepl")));
  EXPECT_EQ(fixed.exit_code, 0) << fixed.output;
}

TEST(Check, RoleWithoutTablePrivilegesFails) {
  PgCluster pg;
  pg.exec("CREATE ROLE cdc_bare LOGIN REPLICATION");
  const RunResult r = run_check(CheckOptions(dsn_of(pg, "cdc_bare")));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(has_ok(r.output, "replication privilege")) << r.output;
  EXPECT_TRUE(has_ok(r.output, "wal2json")) << r.output;
  const std::string line = line_of(r.output, "privileges");
  EXPECT_TRUE(line.starts_with("FAIL ")) << r.output;
  EXPECT_NE(line.find("INSERT on public.audit_logs"), std::string::npos) << line;
  EXPECT_NE(line.find("GRANT INSERT ON public.audit_logs TO cdc_bare;"), std::string::npos) << line;
  EXPECT_NE(line.find("GRANT USAGE ON SCHEMA analytics TO cdc_bare;"), std::string::npos) << line;
  // public.customer has row level security (seed) and the role does not own it.
  EXPECT_TRUE(has_fail(r.output, "row level security")) << r.output;
  EXPECT_NE(line_of(r.output, "row level security").find("BYPASSRLS"), std::string::npos) << r.output;
}

TEST(Check, PermissiveSelectPolicyIsAnAlternativeToBypassrls) {
  PgCluster pg;
  // Every privilege the daemon needs, but neither BYPASSRLS nor ownership.
  pg.exec("CREATE ROLE cdc_policy LOGIN REPLICATION; "
          "GRANT USAGE ON SCHEMA customer_cdc, analytics TO cdc_policy; "
          "GRANT SELECT ON public.customer, public.plans TO cdc_policy; "
          "GRANT SELECT, INSERT ON public.audit_logs TO cdc_policy; "
          "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA customer_cdc, analytics TO cdc_policy;");
  const RunResult before = run_check(CheckOptions(dsn_of(pg, "cdc_policy")));
  EXPECT_TRUE(has_fail(before.output, "row level security")) << before.output;

  // A policy that lets it read only some rows is not enough ...
  pg.exec("CREATE POLICY cdc_some ON public.customer FOR SELECT TO cdc_policy USING (plan_id = 1); "
          "CREATE POLICY cdc_all_plans ON public.plans FOR SELECT TO cdc_policy USING (true);");
  const RunResult partial = run_check(CheckOptions(dsn_of(pg, "cdc_policy")));
  EXPECT_TRUE(has_fail(partial.output, "row level security")) << partial.output;
  EXPECT_NE(line_of(partial.output, "row level security").find("public.customer"), std::string::npos)
      << partial.output;

  // ... one that lets it read every row is.
  pg.exec("CREATE POLICY cdc_all ON public.customer FOR SELECT TO cdc_policy USING (true)");
  const RunResult open = run_check(CheckOptions(dsn_of(pg, "cdc_policy")));
  EXPECT_TRUE(has_ok(open.output, "row level security")) << open.output;
  EXPECT_NE(line_of(open.output, "row level security").find("permissive SELECT policy"), std::string::npos)
      << open.output;

  // A restrictive policy applying to the role filters rows again.
  pg.exec("CREATE POLICY cdc_narrow ON public.customer AS RESTRICTIVE FOR SELECT TO PUBLIC USING (plan_id > 0)");
  const RunResult restricted = run_check(CheckOptions(dsn_of(pg, "cdc_policy")));
  EXPECT_TRUE(has_fail(restricted.output, "row level security")) << restricted.output;
}

TEST(Check, UnreachablePostgresFailsQuicklyWithoutPassword) {
  const int port = pick_free_port();  // nothing listens there
  const auto started = Clock::now();
  const RunResult r = run_check(
      CheckOptions("host=127.0.0.1 port=" + std::to_string(port) + " dbname=app user=cdc password=supersecret"),
      30s);
  const auto elapsed = Clock::now() - started;
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_LT(elapsed, 15s) << r.output;
  const std::string line = line_of(r.output, "connect");
  EXPECT_TRUE(line.starts_with("FAIL connect:")) << r.output;
  EXPECT_NE(line.find(std::to_string(port)), std::string::npos) << line;
  EXPECT_NE(line.find("postgres.dsn"), std::string::npos) << line;
  EXPECT_NE(line.find("pg_hba.conf"), std::string::npos) << line;
  EXPECT_TRUE(has_fail(r.output, "wal_level")) << r.output;
  EXPECT_NE(line_of(r.output, "wal_level").find("skipped"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("supersecret"), std::string::npos) << r.output;
  // Items that need no PostgreSQL still run.
  EXPECT_TRUE(has_ok(r.output, "metrics")) << r.output;
}

TEST(Check, PasswordInDsnIsNeverPrinted) {
  PgCluster pg;  // trust authentication: any password is accepted
  const std::string dsn = pg.conninfo() + " password=supersecret";
  const RunResult r = run_check(CheckOptions(dsn));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("supersecret"), std::string::npos) << r.output;
  // Nor when the DSN cannot be parsed (the configuration loader rejects it,
  // exit 2; libpq's message names the keyword, not the value).
  const std::string unparsable = "host=127.0.0.1 port=" + std::to_string(pg.port()) + " password supersecret";
  const RunResult bad = run_check(CheckOptions(unparsable));
  EXPECT_NE(bad.exit_code, 0) << bad.output;
  EXPECT_EQ(bad.output.find("supersecret"), std::string::npos) << bad.output;
}

TEST(Check, KafkaUnreachableBrokerFails) {
  const int port = pick_free_port();
  const int pg_port = pick_free_port();
  const auto started = Clock::now();
  const RunResult r = run_check(CheckOptions("host=127.0.0.1 port=" + std::to_string(pg_port) + " dbname=app")
                                    .with_kafka("127.0.0.1:" + std::to_string(port),
                                                "\"sasl.username\" = \"cdc\"\n"
                                                "\"sasl.password\" = \"kafkasecret\"\n"),
                                30s);
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_LT(Clock::now() - started, 20s) << r.output;
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const std::string line = line_of(r.output, "kafka");
  EXPECT_TRUE(line.starts_with("FAIL kafka:")) << r.output;
  EXPECT_NE(line.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << line;
  EXPECT_NE(line.find("kafka.brokers"), std::string::npos) << line;
  EXPECT_NE(line.find("sasl.password"), std::string::npos) << line;  // the name, never the value
  EXPECT_EQ(r.output.find("kafkasecret"), std::string::npos) << r.output;
}

TEST(Check, KafkaMockBrokerOk) {
  PgCluster pg;
  MockKafka kafka;
  kafka.create_topic("saas.public.customer", 1);
  const RunResult r = run_check(CheckOptions(pg.conninfo()).with_kafka(kafka.bootstraps()));
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const std::string line = line_of(r.output, "kafka");
  EXPECT_TRUE(line.starts_with("OK   kafka: 1 broker reachable")) << r.output;
  EXPECT_NE(line.find("saas.public.customer"), std::string::npos) << line;
  EXPECT_TRUE(has_ok(r.output, "online snapshots")) << r.output;
}

/// Beside the Postgres sink, Kafka records its delivered position in the
/// checkpoint's kafka_lsn (schema/005_kafka_position.sql): a schema not
/// migrated that far fails the schema item, with migrate as the fix; without
/// Kafka the column is not needed.
TEST(Check, CheckpointWithoutKafkaPositionNeedsMigrate) {
  PgCluster pg;
  MockKafka kafka;
  kafka.create_topic("saas.public.customer", 1);
  pg.exec("ALTER TABLE customer_cdc.checkpoint DROP COLUMN kafka_lsn");
  const CheckOptions options = CheckOptions(pg.conninfo()).with_kafka(kafka.bootstraps());
  const RunResult r = run_check(options);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const std::string line = line_of(r.output, "schema");
  EXPECT_TRUE(line.starts_with("FAIL schema: missing: customer_cdc.checkpoint.kafka_lsn")) << r.output;
  EXPECT_NE(line.find("`customer-cdc migrate`"), std::string::npos) << line;

  EXPECT_TRUE(has_ok(run_check(CheckOptions(pg.conninfo())).output, "schema")) << "without Kafka";

  ASSERT_EQ(run_command(options, {"migrate"}).exit_code, 0);
  const RunResult migrated = run_check(options);
  EXPECT_EQ(migrated.exit_code, 0) << migrated.output;
  EXPECT_TRUE(has_ok(migrated.output, "schema")) << migrated.output;
}

/// With Kafka, online snapshots need the request table and EXECUTE on
/// pg_logical_emit_message (revoked from PUBLIC here): the item names what is
/// missing, and its fix, run as printed by a superuser, is enough.
TEST(Check, OnlineSnapshotPrivilegesAndTheirFix) {
  PgCluster pg;
  MockKafka kafka;
  pg.exec("CREATE ROLE cdc_bare LOGIN REPLICATION");
  // PostgreSQL grants it to PUBLIC; a hardened server revokes it.
  pg.exec("REVOKE EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) FROM PUBLIC");
  const CheckOptions options = CheckOptions(dsn_of(pg, "cdc_bare")).with_kafka(kafka.bootstraps());
  const RunResult r = run_check(options);
  const std::string line = line_of(r.output, "online snapshots");
  EXPECT_TRUE(line.starts_with("FAIL online snapshots: role cdc_bare lacks")) << r.output;
  EXPECT_NE(line.find("SELECT, INSERT, UPDATE on customer_cdc.online_snapshot"), std::string::npos) << line;
  EXPECT_NE(line.find("EXECUTE on pg_catalog.pg_logical_emit_message(boolean, text, text)"), std::string::npos)
      << line;
  const std::size_t open = line.find('`');
  const std::size_t close = line.rfind('`');
  ASSERT_TRUE(open != std::string::npos && close > open) << line;
  pg.exec(line.substr(open + 1, close - open - 1));
  const RunResult fixed = run_check(options);
  EXPECT_TRUE(has_ok(fixed.output, "online snapshots")) << fixed.output;
}

/// The publication item (plugin = "pgoutput"): missing, then created by
/// migrate, then each way it can differ from postgres.tables and the
/// operations, with the SQL that fixes it.
TEST(CheckPgoutput, BinaryModeNamesTheColumnsItCannotConvert) {
  PgCluster pg;
  const CheckOptions text = CheckOptions(pg.conninfo()).with_plugin("pgoutput");
  ASSERT_EQ(run_command(text, {"migrate"}).exit_code, 0);
  const CheckOptions binary = CheckOptions(pg.conninfo()).with_plugin("pgoutput").with_binary();
  const RunResult ok = run_check(binary);
  EXPECT_EQ(ok.exit_code, 0) << ok.output;

  pg.exec("ALTER TABLE public.plans ADD COLUMN trial_period interval");
  const RunResult bad = run_check(binary);
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_EQ(line_of(bad.output, "publication"),
            "FAIL publication: \"customer_cdc\" carries columns that binary mode (postgres.binary = true) cannot "
            "convert: public.plans.trial_period (interval) -> fix: set postgres.binary = false (text mode converts "
            "every type)")
      << bad.output;
  EXPECT_EQ(run_check(text).exit_code, 0);
}

TEST(CheckPgoutput, PublicationMissingCreatedByMigrateAndEachDifference) {
  PgCluster pg;
  const CheckOptions pgoutput = CheckOptions(pg.conninfo()).with_plugin("pgoutput");
  const std::string create =
      "CREATE PUBLICATION customer_cdc FOR TABLE public.customer, public.plans WITH (publish = 'insert, update, "
      "delete, truncate');";

  const RunResult missing = run_check(pgoutput);
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  const std::string line = line_of(missing.output, "publication");
  EXPECT_TRUE(line.starts_with("FAIL publication: \"customer_cdc\" (postgres.publication) does not exist"))
      << missing.output;
  EXPECT_NE(line.find("customer-cdc migrate"), std::string::npos) << line;
  EXPECT_NE(line.find(create), std::string::npos) << line;
  EXPECT_EQ(line.find("does not own"), std::string::npos) << "superuser: no owner note\n" << line;
  // Everything else passes: wal2json is not needed for pgoutput.
  for (const auto& l : lines_of(missing.output)) {
    if (!l.starts_with("FAIL publication")) {
      EXPECT_TRUE(l.starts_with("OK   ")) << l << "\n" << missing.output;
    }
  }
  EXPECT_TRUE(has_ok(missing.output, "pgoutput")) << missing.output;
  EXPECT_EQ(line_of(missing.output, "wal2json"), "") << missing.output;

  // A role that owns none of the tables is told who can create it.
  pg.exec("CREATE ROLE cdc_not_owner LOGIN REPLICATION");
  const RunResult not_owner = run_check(CheckOptions(dsn_of(pg, "cdc_not_owner")).with_plugin("pgoutput"));
  EXPECT_NE(line_of(not_owner.output, "publication")
                .find("role cdc_not_owner does not own public.customer, public.plans: a publication of a table "
                      "can be created or changed only by the table's owner or a superuser"),
            std::string::npos)
      << not_owner.output;

  // migrate creates it, once.
  const RunResult migrated = run_command(pgoutput, {"migrate"});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.output;
  EXPECT_NE(migrated.output.find("created publication \"customer_cdc\" for public.customer, public.plans "
                                 "(publish = 'insert, update, delete, truncate')"),
            std::string::npos)
      << migrated.output;
  EXPECT_EQ(pg.scalar("SELECT pubinsert AND pubupdate AND pubdelete AND pubtruncate AND NOT puballtables "
                      "FROM pg_publication WHERE pubname = 'customer_cdc'"),
            "t");
  EXPECT_EQ(pg.scalar("SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY tablename) "
                      "FROM pg_publication_tables WHERE pubname = 'customer_cdc'"),
            "public.customer,public.plans");
  const RunResult again = run_command(pgoutput, {"migrate"});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("publication \"customer_cdc\" exists: left as it is"), std::string::npos)
      << again.output;
  const RunResult ok = run_check(pgoutput);
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  // Reading the publication takes no privilege: the role that does not own
  // the tables sees it as well.
  EXPECT_TRUE(has_ok(run_check(CheckOptions(dsn_of(pg, "cdc_not_owner")).with_plugin("pgoutput")).output,
                     "publication"));
  EXPECT_EQ(line_of(ok.output, "publication"),
            "OK   publication: \"customer_cdc\" publishes insert, update, delete, truncate for public.customer, "
            "public.plans");

  const std::string set_table = "`ALTER PUBLICATION customer_cdc SET TABLE public.customer, public.plans;`";
  struct Difference {
    std::string sql;       ///< makes the publication differ
    std::string detail;    ///< in the FAIL line
    std::string fix;       ///< in the FAIL line
  };
  for (const Difference& d : std::vector<Difference>{
           {"ALTER PUBLICATION customer_cdc DROP TABLE public.plans", "\"customer_cdc\" lacks public.plans",
            set_table},
           {"ALTER PUBLICATION customer_cdc SET (publish = 'insert, update')",
            "\"customer_cdc\" does not publish delete, truncate",
            "`ALTER PUBLICATION customer_cdc SET (publish = 'insert, update, delete, truncate');`"},
           {"CREATE TABLE public.other (id int PRIMARY KEY); ALTER PUBLICATION customer_cdc ADD TABLE public.other",
            "\"customer_cdc\" also publishes public.other", set_table},
           {"ALTER PUBLICATION customer_cdc SET TABLE public.customer WHERE (plan_id > 1), public.plans",
            "publishes only part of public.customer WHERE (plan_id > 1)", set_table},
           {"ALTER PUBLICATION customer_cdc SET TABLE public.customer, public.plans (id, name)",
            "publishes only part of public.plans (only some columns)", set_table},
           {"DROP PUBLICATION customer_cdc; CREATE PUBLICATION customer_cdc FOR ALL TABLES",
            "\"customer_cdc\" is FOR ALL TABLES", "DROP PUBLICATION customer_cdc; " + create},
       }) {
    pg.exec("DROP PUBLICATION customer_cdc; DROP TABLE IF EXISTS public.other; " + create);
    pg.exec(d.sql);
    const RunResult r = run_check(pgoutput);
    EXPECT_EQ(r.exit_code, 1) << d.sql << "\n" << r.output;
    const std::string fail = line_of(r.output, "publication");
    EXPECT_TRUE(fail.starts_with("FAIL publication: ")) << d.sql << "\n" << r.output;
    EXPECT_NE(fail.find(d.detail), std::string::npos) << d.sql << "\n" << fail;
    EXPECT_NE(fail.find(d.fix), std::string::npos) << d.sql << "\n" << fail;
    // The fix it prints repairs it.
    if (d.fix == set_table) {
      pg.exec("ALTER PUBLICATION customer_cdc SET TABLE public.customer, public.plans");
      EXPECT_TRUE(has_ok(run_check(pgoutput).output, "publication")) << d.sql;
    }
  }
}

}  // namespace
}  // namespace cdc::testing
