// Tests for the metrics text and the /healthz answer (cdc/app/metrics.hpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cdc/app/metrics.hpp"

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

}  // namespace
}  // namespace cdc::app
