// One workload on a real PostgreSQL 15, decoded three ways: wal2json with the
// daemon's options, pgoutput in text mode and pgoutput in binary mode (each
// decoder's own start_options, through the SQL decoding functions). The three
// Change sequences must be identical in every field the sinks read.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cdc/decode/pgoutput/pgoutput.hpp"
#include "cdc/decode/wal2json/wal2json.hpp"
#include "support/decoded_changes.hpp"
#include "support/pg_cluster.hpp"
#include "support/workload.hpp"

namespace cdc::testing {
namespace {

const std::vector<std::string> kTables = {"public.customer", "public.plans", "public.edge"};

std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

/// Consumes a slot through the SQL interface, as the walsender would send it
/// to a session with the daemon's settings (DateStyle ISO, TimeZone UTC).
std::vector<PluginMessage> fetch(PgConn& conn, const std::string& slot, const decode::Decoder& decoder) {
  conn.exec("SET DateStyle = ISO; SET TimeZone = 'UTC'");
  const bool binary = decoder.plugin() == "pgoutput";
  std::string sql = binary ? "SELECT lsn::text, encode(data, 'hex') FROM pg_logical_slot_get_binary_changes($1, NULL, NULL"
                           : "SELECT lsn::text, data FROM pg_logical_slot_get_changes($1, NULL, NULL";
  std::vector<Value> params{slot};
  for (const auto& [name, value] : decoder.start_options(kTables)) {
    params.emplace_back(name);
    params.emplace_back(value);
    sql += ", $" + std::to_string(params.size() - 1) + ", $" + std::to_string(params.size());
  }
  std::vector<PluginMessage> out;
  for (const Row& row : conn.query(sql + ")", params)) {
    out.push_back({parse_lsn(*row[0]).value(), binary ? from_hex(*row[1]) : *row[1]});
  }
  return out;
}

void setup(PgCluster& pg) {
  pg.exec(R"(
    CREATE TABLE public.edge (id integer PRIMARY KEY, n numeric, n2 numeric(12,3), j jsonb, ts timestamptz,
                              f double precision, d date, arr text[], nums integer[], b bytea, flag boolean);
    ALTER TABLE public.edge REPLICA IDENTITY FULL;
    CREATE PUBLICATION customer_cdc FOR TABLE public.customer, public.plans, public.edge)");
  pg.exec("SELECT pg_create_logical_replication_slot('eq_wal2json', 'wal2json')");
  pg.exec("SELECT pg_create_logical_replication_slot('eq_text', 'pgoutput')");
  pg.exec("SELECT pg_create_logical_replication_slot('eq_binary', 'pgoutput')");
}

void run_workload(PgCluster& pg) {
  WorkloadKnobs knobs;
  knobs.seed = 14;
  knobs.mix = {{Statement::SignUp, 10},      {Statement::InsertOnPlan, 6},   {Statement::InsertWithResources, 4},
               {Statement::PlanChange, 12},  {Statement::PlanReset, 3},      {Statement::ResourceUpdate, 15},
               {Statement::KeyEdit, 6},      {Statement::SameValueUpdate, 3}, {Statement::EmailUpdate, 4},
               {Statement::MetadataUpdate, 4}, {Statement::SameRowChanges, 4}, {Statement::Delete, 5},
               {Statement::UpdateThenDelete, 3}, {Statement::PriceChange, 4}, {Statement::NewPlan, 2},
               {Statement::PlanDelete, 1},   {Statement::RangeUpdate, 2},    {Statement::RolledBack, 2},
               {Statement::Savepoint, 2}};
  knobs.statements = {1, 4};
  knobs.rows_per_insert = {1, 3};
  knobs.min_customers = 10;
  Workload workload(knobs);
  workload.load(pg.conn());
  workload.run(pg.conn(), 150);

  // Edge values, NULLs, a large TOASTed value left unchanged by an update, a
  // logical message of each kind, deletes and a multi-table truncate.
  pg.exec(R"(
    INSERT INTO public.edge VALUES
      (1, 'NaN', 0.000, '{"a": 1.0, "b": [1e400, -0.0], "c": "\u00e9\"\\"}', 'infinity', 'Infinity', '-infinity',
       ARRAY['', 'NULL', 'a,b', NULL, 'q"t'], '{{1,NULL},{3,4}}', '\x', true),
      (2, 123456789012345678901234567890.000000001, -999999999.999, 'null', '0001-01-01 00:00:00+00 BC',
       -2.2250738585072014e-308, '2000-02-29', '{}', NULL, '\xdeadbeef', false),
      (3, 1e-30, 0.5, '[]', '1999-12-31 23:59:59.999999+00', 1e15, '1970-01-01', '[2:3]={x,y}', '{}', NULL, NULL),
      (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL))");
  pg.exec("UPDATE public.edge SET j = (SELECT jsonb_object_agg(i::text, md5(i::text)) FROM generate_series(1, 400) i) "
          "WHERE id = 1");
  pg.exec("UPDATE public.edge SET flag = false, n = -0.5 WHERE id = 1");  // j stays: unchanged TOAST
  pg.exec("UPDATE public.customer SET metadata = (SELECT jsonb_object_agg(i::text, md5(i::text)) "
          "FROM generate_series(1, 400) i) WHERE uuid = (SELECT uuid FROM public.customer ORDER BY uuid LIMIT 1)");
  pg.exec("UPDATE public.customer SET stripe_customer_id = 'cus_toast' WHERE uuid = (SELECT uuid FROM public.customer ORDER BY uuid LIMIT 1)");
  pg.exec("BEGIN; SELECT pg_logical_emit_message(true, 'cdc', 'in a transaction'); "
          "UPDATE public.plans SET price = 0.01 WHERE id = (SELECT min(id) FROM public.plans); COMMIT");
  pg.exec("SELECT pg_logical_emit_message(false, 'cdc', 'outside')");
  pg.exec("DELETE FROM public.edge WHERE id IN (2, 4)");
  pg.exec("TRUNCATE public.edge, public.customer, public.plans");
}

bool has_filled_toast_update(const std::vector<decode::Change>& changes) {
  return std::any_of(changes.begin(), changes.end(), [](const decode::Change& c) {
    return c.action == decode::Action::Update && c.table == "edge" && !c.columns.empty() &&
           c.columns.back().name == "j" && c.columns.back().text.size() > 10000;
  });
}

TEST(DecoderEquivalence, Wal2jsonPgoutputTextAndBinaryGiveIdenticalChanges) {
  PgCluster pg;
  setup(pg);
  run_workload(pg);

  decode::Wal2jsonDecoder wal2json;
  decode::PgoutputDecoder text(decode::DecoderSettings{.plugin = "pgoutput"});
  decode::PgoutputDecoder binary(decode::DecoderSettings{.plugin = "pgoutput", .binary = true});
  const auto expected = decode_all(wal2json, fetch(pg.conn(), "eq_wal2json", wal2json));
  const auto text_changes = decode_all(text, fetch(pg.conn(), "eq_text", text));
  const auto binary_changes = decode_all(binary, fetch(pg.conn(), "eq_binary", binary));

  const auto want = comparable(expected);
  const auto got_text = comparable(text_changes);
  const auto got_binary = comparable(binary_changes);
  ASSERT_GT(want.size(), 400u);
  ASSERT_EQ(got_text.size(), want.size());
  ASSERT_EQ(got_binary.size(), want.size());
  int differences = 0;
  for (std::size_t i = 0; i < want.size() && differences < 5; ++i) {
    if (got_text[i] != want[i]) ++differences;
    EXPECT_EQ(got_text[i], want[i]) << "text mode, change #" << i;
    if (got_binary[i] != want[i]) ++differences;
    EXPECT_EQ(got_binary[i], want[i]) << "binary mode, change #" << i;
  }

  // Guards against a vacuous comparison.
  auto count = [&](decode::Action action) {
    return std::count_if(text_changes.begin(), text_changes.end(), [&](const decode::Change& c) { return c.action == action; });
  };
  EXPECT_GT(count(decode::Action::Insert), 50);
  EXPECT_GT(count(decode::Action::Update), 50);
  EXPECT_GT(count(decode::Action::Delete), 5);
  EXPECT_EQ(count(decode::Action::Truncate), 3);
  EXPECT_EQ(count(decode::Action::Message), 2);
  EXPECT_TRUE(has_filled_toast_update(text_changes));
  EXPECT_TRUE(has_filled_toast_update(binary_changes));
}

}  // namespace
}  // namespace cdc::testing
