// Tests for the metrics text and the /healthz answer (cdc/app/metrics.hpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ctime>
#include <optional>

#include "cdc/app/metrics.hpp"
#include "cdc/app/process_metrics.hpp"

namespace cdc::app {
namespace {

using ::testing::HasSubstr;

constexpr std::int64_t kNow = 1'800'000'000'000'000;

TEST(Metrics, StallGaugesFollowTheProgress) {
  pipeline::Progress progress;
  std::string text = render_metrics(progress, kNow);
  EXPECT_THAT(text, HasSubstr("# TYPE customer_cdc_stream_stalled gauge\ncustomer_cdc_stream_stalled 0\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE customer_cdc_seconds_since_server_message gauge\n"
                              "customer_cdc_seconds_since_server_message 0.000\n"));
  progress.stream_stalled = true;
  progress.last_server_message_us = kNow - 31'500'000;
  text = render_metrics(progress, kNow);
  EXPECT_THAT(text, HasSubstr("customer_cdc_stream_stalled 1\n"));
  EXPECT_THAT(text, HasSubstr("customer_cdc_seconds_since_server_message 31.500\n"));
}

TEST(Metrics, HealthIsOkOnlyWhileStreamingAndNotStalled) {
  pipeline::Progress progress;
  EXPECT_EQ(health(progress, kNow).status, 503);
  EXPECT_EQ(health(progress, kNow).body, "not streaming\n");
  progress.streaming = true;
  EXPECT_EQ(health(progress, kNow).status, 200);
  EXPECT_EQ(health(progress, kNow).body, "streaming\n");
  progress.streaming = false;
  progress.stream_stalled = true;
  progress.last_server_message_us = kNow - 40'000'000;
  const Health stalled = health(progress, kNow);
  EXPECT_EQ(stalled.status, 503);
  EXPECT_THAT(stalled.body, HasSubstr("stalled: nothing from the server for 40 s"));
}

TEST(Metrics, SinkStallGaugesAndHealth) {
  pipeline::Progress progress;
  progress.streaming = true;
  std::string text = render_metrics(progress, kNow);
  EXPECT_THAT(text, HasSubstr("customer_cdc_sink_stalled 0\n"));
  EXPECT_THAT(text, HasSubstr("customer_cdc_sink_flush_seconds 0.000\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE customer_cdc_sink_timeouts_total counter\ncustomer_cdc_sink_timeouts_total 0\n"));

  progress.sink_busy_since_us = kNow - 33'250'000;
  progress.sink_stalled = true;
  progress.sink_timeouts = 2;
  text = render_metrics(progress, kNow);
  EXPECT_THAT(text, HasSubstr("customer_cdc_sink_stalled 1\n"));
  EXPECT_THAT(text, HasSubstr("customer_cdc_sink_flush_seconds 33.250\n"));
  EXPECT_THAT(text, HasSubstr("customer_cdc_sink_timeouts_total 2\n"));
  const Health stalled = health(progress, kNow);
  EXPECT_EQ(stalled.status, 503);
  EXPECT_THAT(stalled.body, HasSubstr("sink stalled: a sink call has run for 33 s"));
  EXPECT_THAT(text, HasSubstr("customer_cdc_ready 0\n"));
}

TEST(Metrics, RetainedWalIsNaNUntilRead) {
  pipeline::Progress progress;
  EXPECT_THAT(render_metrics(progress, kNow), HasSubstr("customer_cdc_slot_retained_wal_bytes NaN\n"));
  progress.slot_retained_wal_bytes = 123456789;
  EXPECT_THAT(render_metrics(progress, kNow), HasSubstr("customer_cdc_slot_retained_wal_bytes 123456789\n"));
}

TEST(Metrics, OnlineSnapshotProgress) {
  pipeline::Progress progress;
  const std::string idle = render_metrics(progress, kNow);
  EXPECT_THAT(idle, HasSubstr("customer_cdc_snapshot_running 0\n"));
  EXPECT_THAT(idle, HasSubstr("customer_cdc_snapshot_rows_remaining NaN\n"));
  progress.snapshot_running = true;
  progress.snapshot_rows = 4096;
  progress.snapshot_rows_remaining = 904;
  const std::string running = render_metrics(progress, kNow);
  EXPECT_THAT(running, HasSubstr("customer_cdc_snapshot_running 1\n"));
  EXPECT_THAT(running, HasSubstr("customer_cdc_snapshot_rows_total 4096\n"));
  EXPECT_THAT(running, HasSubstr("customer_cdc_snapshot_rows_remaining 904\n"));
}

TEST(Metrics, ReadyWhenHealthyAndWithinTheLagBound) {
  pipeline::Progress progress;
  EXPECT_EQ(readiness(progress, kNow, 60).status, 503);  // not streaming
  progress.streaming = true;
  EXPECT_EQ(readiness(progress, kNow, 60).status, 200);  // caught up
  EXPECT_THAT(render_metrics(progress, kNow, 60), HasSubstr("customer_cdc_ready 1\n"));
  // Behind, with the last written commit 90 s old.
  progress.server_wal_end = 2000;
  progress.acknowledged_lsn = 1000;
  progress.last_commit_time_us = kNow - 90'000'000;
  const Health behind = readiness(progress, kNow, 60);
  EXPECT_EQ(behind.status, 503);
  EXPECT_THAT(behind.body, HasSubstr("behind: 90 s of lag (metrics.ready_max_lag_seconds = 60)"));
  EXPECT_THAT(render_metrics(progress, kNow, 60), HasSubstr("customer_cdc_ready 0\n"));
  EXPECT_EQ(readiness(progress, kNow, 120).status, 200);
  EXPECT_EQ(health(progress, kNow).status, 200);  // lag alone is not ill health
}

TEST(Metrics, BuildInfoNamesVersionAndPlugin) {
  EXPECT_EQ(render_build_info({"0.1.0", "wal2json"}),
            "# HELP customer_cdc_build_info The running release and output plugin (always 1).\n"
            "# TYPE customer_cdc_build_info gauge\n"
            "customer_cdc_build_info{version=\"0.1.0\",plugin=\"wal2json\"} 1\n");
}

TEST(ProcessMetrics, ReadsThisProcessFromProc) {
  const std::optional<ProcessStats> stats = read_process_stats();
  ASSERT_TRUE(stats.has_value());
  EXPECT_GT(stats->resident_bytes, 1024.0 * 1024);  // a test binary holds more than 1 MiB
  EXPECT_GE(stats->virtual_bytes, stats->resident_bytes);
  EXPECT_GE(stats->open_fds, 3.0);  // stdin, stdout, stderr
  EXPECT_GE(stats->max_fds, stats->open_fds);
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(stats->start_time_seconds, now + 1);
  EXPECT_GT(stats->start_time_seconds, now - 3600);  // started within the hour
  EXPECT_GE(stats->cpu_seconds, 0.0);
}

TEST(ProcessMetrics, StandardNamesWithHelpAndType) {
  const std::string text = render_process_metrics();
  for (const char* name : {"process_cpu_seconds_total", "process_open_fds", "process_max_fds",
                           "process_virtual_memory_bytes", "process_resident_memory_bytes",
                           "process_start_time_seconds"}) {
    EXPECT_THAT(text, HasSubstr(std::string("# HELP ") + name + " ")) << name;
    EXPECT_THAT(text, HasSubstr(std::string("# TYPE ") + name + " ")) << name;
    EXPECT_THAT(text, HasSubstr(std::string("\n") + name + " ")) << name;
  }
  EXPECT_THAT(text, HasSubstr("# TYPE process_cpu_seconds_total counter\n"));
}

}  // namespace
}  // namespace cdc::app
