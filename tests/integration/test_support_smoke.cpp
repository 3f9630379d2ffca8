// Smoke tests of the integration-test support library (tests/support/):
// a real throwaway PostgreSQL 15 cluster with wal2json, and child processes.

#include <gtest/gtest.h>

#include <signal.h>

#include <string>

#include "support/daemon_process.hpp"
#include "support/pg_cluster.hpp"

namespace cdc::testing {
namespace {

TEST(SupportSmoke, ClusterLogicalDecodingAndRestart) {
  PgCluster::Options opts;
  opts.apply_schema = false;  // independent of the state of schema/*.sql
  PgCluster pg(opts);

  ASSERT_GT(pg.port(), 0);
  EXPECT_EQ(pg.scalar("SHOW wal_level"), "logical");
  EXPECT_EQ(pg.scalar("SELECT current_database()"), "app");
  EXPECT_EQ(pg.scalar("SHOW server_encoding"), "UTF8");
  EXPECT_EQ(pg.scalar("SELECT current_setting('server_version_num')::int / 10000"), "15");

  pg.exec("CREATE TABLE smoke (id int PRIMARY KEY, name text); CREATE INDEX ON smoke (name)");
  // (not in the same implicit transaction as the DDL: slots need a clean one)
  pg.exec("SELECT pg_create_logical_replication_slot('smoke', 'wal2json')");
  pg.exec("INSERT INTO smoke VALUES (1, 'ünïcode')");

  Rows changes = pg.query(
      "SELECT data FROM pg_logical_slot_get_changes('smoke', NULL, NULL, "
      "'format-version', '2', 'include-lsn', '1')");
  ASSERT_EQ(changes.size(), 3u);  // B, I, C
  ASSERT_TRUE(changes[1][0].has_value());
  const std::string& insert = *changes[1][0];
  EXPECT_NE(insert.find("\"action\":\"I\""), std::string::npos) << insert;
  EXPECT_NE(insert.find("\"table\":\"smoke\""), std::string::npos) << insert;
  EXPECT_NE(insert.find("ünïcode"), std::string::npos) << insert;

  // Parameters and NULLs.
  Rows rows = pg.query("SELECT $1::text, $2::text", {"x", std::nullopt});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "x");
  EXPECT_EQ(rows[0][1], std::nullopt);

  // Errors carry the server message and SQLSTATE.
  try {
    pg.exec("SELECT * FROM no_such_table");
    ADD_FAILURE() << "expected PgError";
  } catch (const PgError& e) {
    EXPECT_EQ(e.sqlstate(), "42P01");
    EXPECT_NE(std::string(e.what()).find("no_such_table"), std::string::npos) << e.what();
  }

  const int port = pg.port();
  pg.restart();
  EXPECT_EQ(pg.port(), port);
  EXPECT_EQ(pg.scalar("SELECT count(*) FROM smoke"), "1");
  EXPECT_EQ(pg.scalar("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'smoke'"),
            "1");

  // Crash-like stop, then the change made after it is still decodable.
  pg.exec("INSERT INTO smoke VALUES (2, NULL)");
  pg.restart("immediate");
  changes = pg.query(
      "SELECT data FROM pg_logical_slot_get_changes('smoke', NULL, NULL, "
      "'format-version', '2')");
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_NE(changes[1][0]->find("\"value\":2"), std::string::npos) << *changes[1][0];

  // A separate connection and psql see the same server.
  PgConn other = pg.connect("postgres");
  EXPECT_EQ(other.scalar("SELECT current_database()"), "postgres");
  EXPECT_EQ(pg.psql("SELECT name FROM smoke WHERE id = 1;"), "ünïcode\n");
  EXPECT_THROW(pg.psql("SELECT 1/0;"), std::runtime_error);
}

TEST(SupportSmoke, ClusterWithSchema) {
  // Applies schema/*.sql (whatever exists) as the documented psql does.
  PgCluster pg;
  EXPECT_EQ(pg.scalar("SELECT 1"), "1");
}

TEST(SupportSmoke, ProcessExitCodeAndOutput) {
  auto r = DaemonProcess::run_to_completion({"-c", "echo hi; echo err >&2; exit 3"}, {},
                                            std::chrono::seconds(10), "/bin/sh");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.output, "hi\nerr\n");

  DaemonProcess p({"-c", "echo \"hi $CDC_SMOKE_VAR\"; exit 3"}, {{"CDC_SMOKE_VAR", "there"}},
                  "/bin/sh");
  EXPECT_EQ(p.wait_exit(std::chrono::seconds(10)), 3);
  EXPECT_FALSE(p.running());
  EXPECT_EQ(p.log_text(), "hi there\n");
}

TEST(SupportSmoke, ProcessKill9AndTerminate) {
  DaemonProcess sleeper({"30"}, {}, "sleep");
  EXPECT_TRUE(sleeper.running());
  EXPECT_EQ(sleeper.wait_exit(std::chrono::milliseconds(100)), std::nullopt);
  sleeper.kill9();
  EXPECT_EQ(sleeper.wait_exit(std::chrono::seconds(10)), 137);

  DaemonProcess term({"30"}, {}, "sleep");
  term.terminate();
  EXPECT_EQ(term.wait_exit(std::chrono::seconds(10)), 128 + SIGTERM);

  auto r = DaemonProcess::run_to_completion({"30"}, {}, std::chrono::milliseconds(200), "sleep");
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 137);
}

TEST(SupportSmoke, WaitUntilAndTempFiles) {
  int calls = 0;
  EXPECT_TRUE(wait_until([&] { return ++calls >= 3; }, std::chrono::seconds(5),
                         std::chrono::milliseconds(1)));
  EXPECT_FALSE(wait_until([] { return false; }, std::chrono::milliseconds(50)));

  const std::string path = write_temp_file("a = 1\n", ".toml");
  EXPECT_EQ(path.substr(path.size() - 5), ".toml");
  EXPECT_EQ(read_text_file(path), "a = 1\n");
}

}  // namespace
}  // namespace cdc::testing
