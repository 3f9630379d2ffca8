// CursorPrefetch (the offline snapshot's reader): a cursor read one batch
// ahead on its own thread, against a real server.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "../../src/app/cursor_prefetch.hpp"
#include "support/pg_cluster.hpp"

namespace cdc::app {
namespace {

using testing::PgCluster;

/// A server without the schema and a connection inside a transaction (cursors need one).
class CursorPrefetchTest : public ::testing::Test {
 protected:
  static PgCluster::Options bare() {
    PgCluster::Options options;
    options.apply_schema = false;
    return options;
  }
  CursorPrefetchTest() { conn.exec("BEGIN"); }

  PgCluster cluster{bare()};
  pg::Connection conn{cluster.conninfo()};
};

TEST_F(CursorPrefetchTest, ReturnsEveryRowInOrderThenRethrowsTheServersErrorInItsTurn) {
  conn.exec("DECLARE numbers NO SCROLL CURSOR FOR SELECT g FROM generate_series(1, 10007) g");
  {
    CursorPrefetch batches(conn, "numbers", 1000);
    long expected = 1;
    int batch_count = 0;
    for (;;) {
      const pg::Result batch = batches.next();
      if (batch.rows() == 0) break;
      ++batch_count;
      for (int row = 0; row < batch.rows(); ++row) ASSERT_EQ(std::stol(std::string(batch.value(row, 0))), expected++);
    }
    EXPECT_EQ(expected, 10008);
    EXPECT_EQ(batch_count, 11);
    EXPECT_THROW(batches.next(), std::logic_error);  // not undefined: there is nothing after the end
  }
  conn.exec("CLOSE numbers");  // the connection is the caller's again

  // Rows 1..2999 come through; the batch holding the failing row raises the server's error.
  conn.exec("DECLARE failing NO SCROLL CURSOR FOR SELECT 1 / (3000 - g) FROM generate_series(1, 5000) g");
  CursorPrefetch batches(conn, "failing", 1000);
  EXPECT_EQ(batches.next().rows(), 1000);
  EXPECT_EQ(batches.next().rows(), 1000);
  try {
    batches.next();
    ADD_FAILURE() << "expected the division by zero";
  } catch (const pg::Error& e) {
    EXPECT_EQ(e.sqlstate(), "22012") << e.what();
  }
}

// Dropping it early (the snapshot was stopped) joins the thread without reading the rest.
TEST_F(CursorPrefetchTest, DestroyedBeforeTheEndLeavesTheConnectionUsable) {
  conn.exec("DECLARE numbers NO SCROLL CURSOR FOR SELECT g FROM generate_series(1, 100000) g");
  {
    CursorPrefetch batches(conn, "numbers", 100);
    EXPECT_EQ(batches.next().value(0, 0), "1");
  }
  // At most kAhead + 1 batches were fetched: the cursor goes on from there.
  const pg::Result rest = conn.exec("FETCH FORWARD 1 FROM numbers");
  ASSERT_EQ(rest.rows(), 1);
  EXPECT_LE(std::stol(std::string(rest.value(0, 0))), 301);
  EXPECT_GT(std::stol(std::string(rest.value(0, 0))), 100);
}

}  // namespace
}  // namespace cdc::app
