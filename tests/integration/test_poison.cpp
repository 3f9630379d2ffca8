// Poison messages: a captured change the sinks cannot use stops the daemon
// with the WAL position and the message, unacknowledged, and a restart stops
// at the same place; with [dead_letter] enabled it is recorded
// (customer_cdc.dead_letter, <prefix>.dead_letter) and the stream goes on.
//
// The poison is real: public.customer's remaining_resources column is renamed
// for the duration of one transaction, so wal2json sends an update without
// the column the audit entry needs.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "support/daemon_config.hpp"
#include "support/daemon_process.hpp"
#include "support/kafka_mock.hpp"
#include "support/pg_cluster.hpp"
#include "support/plugin_variant.hpp"

namespace cdc::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kDeadLetterTopic = "saas.dead_letter";

std::string daemon_config(const PgCluster& pg, const MockKafka& kafka, bool dead_letter, const PluginVariant& variant) {
  DaemonConfig config(pg.conninfo());
  apply_variant(config, variant);
  config.status_interval_ms = 500;
  config.kafka = true;
  config.brokers = kafka.bootstraps();
  config.extra = std::string("[dead_letter]\nenabled = ") + (dead_letter ? "true" : "false") + "\n";
  return write_daemon_config(config);
}

bool caught_up(PgCluster& pg, std::chrono::milliseconds timeout = 60s) {
  const std::string target = *pg.scalar("SELECT pg_current_wal_lsn()::text");
  return wait_until(
      [&] {
        return pg.scalar("SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots "
                         "WHERE slot_name = 'customer_cdc'",
                         {target}) == Value("t");
      },
      timeout, 100ms);
}

long count(PgCluster& pg, const std::string& sql) { return std::stol(*pg.scalar(sql)); }

/// New customers the poisoned transaction starts with under a streaming
/// variant: enough that the server streams it (above its 64kB work memory).
int padding_rows(const PluginVariant& variant) { return variant.streaming ? 400 : 0; }

/// One source transaction: `padding` new customers and a new customer
/// (fine), an update that lacks remaining_resources (poison), another new
/// customer (fine). Returns the WAL position of the transaction's start.
std::string poison_transaction(PgCluster& pg, int padding) {
  const std::string before = *pg.scalar("SELECT pg_current_wal_lsn()::text");
  pg.exec("BEGIN;"
          "INSERT INTO public.customer (uuid, email, plan_id, remaining_resources) "
          "  SELECT gen_random_uuid(), 'pad' || g || '@example.com', 1, '{\"api_calls\": 10}' "
          "  FROM generate_series(1, " + std::to_string(padding) + ") g;"
          "INSERT INTO public.customer (uuid, email, plan_id, remaining_resources) "
          "  VALUES (gen_random_uuid(), 'before@example.com', 1, '{\"api_calls\": 10}');"
          "ALTER TABLE public.customer RENAME COLUMN remaining_resources TO renamed_resources;"
          "UPDATE public.customer SET renamed_resources = '{\"api_calls\": 9}' WHERE email = 'first@example.com';"
          "ALTER TABLE public.customer RENAME COLUMN renamed_resources TO remaining_resources;"
          "INSERT INTO public.customer (uuid, email, plan_id, remaining_resources) "
          "  VALUES (gen_random_uuid(), 'after@example.com', 1, '{\"api_calls\": 10}');"
          "COMMIT;");
  return before;
}

void first_customer(PgCluster& pg) {
  pg.exec("INSERT INTO public.customer (uuid, email, plan_id, remaining_resources) "
          "VALUES (gen_random_uuid(), 'first@example.com', 1, '{\"api_calls\": 10}')");
}

/// Under every plugin and mode (the poison comes from a relation changed
/// inside the transaction: pgoutput sends a new Relation message mid-stream).
class Poison : public ::testing::TestWithParam<PluginVariant> {};

TEST_P(Poison, StopsNamingThePositionAndRestartStopsThereAgain) {
  PgCluster pg;
  prepare_source(pg, GetParam());
  MockKafka kafka;
  const std::string config = daemon_config(pg, kafka, false, GetParam());
  {
    DaemonProcess daemon({"--config", config, "run"});
    ASSERT_TRUE(daemon.wait_for_output("streaming slot", 30s)) << daemon.log_text();
    first_customer(pg);
    ASSERT_TRUE(caught_up(pg)) << daemon.log_text();
    poison_transaction(pg, padding_rows(GetParam()));
    const auto status = daemon.wait_exit(60s);
    ASSERT_TRUE(status.has_value()) << "the daemon did not stop on the poison change\n" << daemon.log_text();
    EXPECT_EQ(*status, 1);
    const std::string log = daemon.log_text();
    EXPECT_NE(log.find("no column 'remaining_resources'"), std::string::npos) << log;
    EXPECT_NE(log.find("at LSN "), std::string::npos) << log;
    EXPECT_NE(log.find("message: {\"action\":\"U\""), std::string::npos) << log;
    EXPECT_NE(log.find("renamed_resources"), std::string::npos) << log;
  }
  expect_streaming_happened(pg, GetParam());
  // Nothing of the poisoned transaction was written or acknowledged.
  EXPECT_EQ(count(pg, "SELECT count(*) FROM public.audit_logs"), 1);
  EXPECT_EQ(count(pg, "SELECT count(*) FROM public.audit_logs a JOIN public.customer c "
                      "ON c.uuid = a.customer_uuid WHERE c.email = 'before@example.com'"),
            0);
  const std::string acknowledged =
      *pg.scalar("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'customer_cdc'");

  // A restart stops at the same change, again without acknowledging it.
  DaemonProcess again({"--config", config, "run"});
  const auto status = again.wait_exit(60s);
  ASSERT_TRUE(status.has_value()) << again.log_text();
  EXPECT_EQ(*status, 1);
  EXPECT_NE(again.log_text().find("no column 'remaining_resources'"), std::string::npos) << again.log_text();
  EXPECT_EQ(*pg.scalar("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'customer_cdc'"),
            acknowledged);
  EXPECT_EQ(count(pg, "SELECT count(*) FROM public.audit_logs"), 1);
  EXPECT_EQ(count(pg, "SELECT count(*) FROM customer_cdc.dead_letter"), 0);
}

TEST_P(Poison, DeadLetterRecordsTheChangeAndTheStreamGoesOn) {
  PgCluster pg;
  prepare_source(pg, GetParam());
  MockKafka kafka;
  kafka.create_topic(kDeadLetterTopic, 1);
  {
    // Off: the daemon stops at the poison ...
    DaemonProcess daemon({"--config", daemon_config(pg, kafka, false, GetParam()), "run"});
    ASSERT_TRUE(daemon.wait_for_output("streaming slot", 30s)) << daemon.log_text();
    first_customer(pg);
    ASSERT_TRUE(caught_up(pg)) << daemon.log_text();
    poison_transaction(pg, padding_rows(GetParam()));
    ASSERT_TRUE(daemon.wait_exit(60s).has_value()) << daemon.log_text();
  }
  // ... on: the same change, still in the slot, becomes a dead letter.
  DaemonProcess daemon({"--config", daemon_config(pg, kafka, true, GetParam()), "run"});
  ASSERT_TRUE(daemon.wait_for_output("streaming slot", 30s)) << daemon.log_text();
  pg.exec("UPDATE public.customer SET remaining_resources = '{\"api_calls\": 8}' WHERE email = 'first@example.com'");
  ASSERT_TRUE(caught_up(pg)) << daemon.log_text();
  EXPECT_TRUE(daemon.running()) << daemon.log_text();
  EXPECT_NE(daemon.log_text().find("dead letter at WAL"), std::string::npos) << daemon.log_text();

  const Rows letters = pg.query(
      "SELECT slot_name, reason, convert_from(raw_message, 'UTF8'), wal_lsn::text, source_xid::text, "
      "(source_commit_time IS NOT NULL)::text FROM customer_cdc.dead_letter");
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0][0], Value("customer_cdc"));
  EXPECT_NE(letters[0][1]->find("no column 'remaining_resources'"), std::string::npos) << *letters[0][1];
  EXPECT_NE(letters[0][2]->find("\"renamed_resources\""), std::string::npos) << *letters[0][2];
  EXPECT_NE(letters[0][2]->find("\"action\":\"U\""), std::string::npos) << *letters[0][2];
  EXPECT_EQ(letters[0][5], Value("true"));

  // The rest of the poisoned transaction and everything after it arrived once:
  // first created, the padding, before created, after created, the later update.
  const int padding = padding_rows(GetParam());
  EXPECT_EQ(count(pg, "SELECT count(*) FROM public.audit_logs"), 4 + padding);
  EXPECT_EQ(count(pg, "SELECT count(*) FROM public.audit_logs WHERE action = 'customer_created'"), 3 + padding);
  EXPECT_EQ(count(pg, "SELECT count(DISTINCT source_lsn) FROM public.audit_logs"), 4 + padding);
  expect_streaming_happened(pg, GetParam());
  EXPECT_EQ(*pg.scalar("SELECT new_value->>'remaining_resources' FROM public.audit_logs "
                       "WHERE action = 'resource_update'"),
            Value("{\"api_calls\": 8}"));

  // The Kafka dead-letter topic holds the same change, keyed by its position.
  const auto messages = kafka.consume_all({kDeadLetterTopic}, 1, 30s);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].key, "{\"lsn\":\"" + *letters[0][3] + "\"}");
  ASSERT_TRUE(messages[0].value.has_value());
  EXPECT_NE(messages[0].value->find("\"txId\":" + *letters[0][4]), std::string::npos) << *messages[0].value;
  EXPECT_NE(messages[0].value->find("renamed_resources"), std::string::npos) << *messages[0].value;

  daemon.terminate();
  EXPECT_EQ(daemon.wait_exit(30s), 0);
}

INSTANTIATE_TEST_SUITE_P(Plugins, Poison, ::testing::ValuesIn(plugin_variants(/*with_streaming=*/true)), variant_name);

}  // namespace
}  // namespace cdc::testing
