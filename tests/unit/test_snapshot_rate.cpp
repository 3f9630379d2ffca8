// `snapshot status`'s rate and ETA: from the current run of the request
// (since the daemon last started or resumed it), not since its first start.
#include <gtest/gtest.h>

#include "../../src/app/online_snapshot/requests.hpp"

namespace cdc::app {
namespace {

TEST(SnapshotRate, CountsTheCurrentRunOnly) {
  SnapshotRequest request;
  request.rows_done = 30000;  // 20000 of them before a long downtime
  request.rows_estimated = 50000;
  request.run_rows = 10000;
  request.run_seconds = 5;
  const SnapshotRate rate = snapshot_rate(request);
  EXPECT_DOUBLE_EQ(rate.rows_per_second, 2000);
  ASSERT_TRUE(rate.eta_seconds);
  EXPECT_DOUBLE_EQ(*rate.eta_seconds, 10);
}

TEST(SnapshotRate, UnknownUntilTheRunRecordedRows) {
  SnapshotRequest request;
  request.rows_done = 30000;
  request.rows_estimated = 50000;
  request.run_seconds = 3;  // resumed, no chunk recorded yet
  const SnapshotRate rate = snapshot_rate(request);
  EXPECT_EQ(rate.rows_per_second, 0);
  EXPECT_FALSE(rate.eta_seconds);
}

}  // namespace
}  // namespace cdc::app
