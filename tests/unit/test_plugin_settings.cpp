// The output plugin's settings: the decoder's settings from the
// configuration, the server version rule, the spool directory's default.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cdc/app/config.hpp"
#include "cdc/app/plugin_settings.hpp"
#include "cdc/app/publication.hpp"

using cdc::app::PostgresConfig;
using cdc::app::server_version_problem;
using cdc::app::spool_directory;
using ::testing::HasSubstr;

namespace {

PostgresConfig pgoutput(bool binary, bool streaming) {
  PostgresConfig postgres;
  postgres.plugin = "pgoutput";
  postgres.binary = binary;
  postgres.streaming = streaming;
  return postgres;
}

}  // namespace

TEST(PluginSettings, DecoderSettingsComeFromThePostgresSection) {
  cdc::app::Config config;
  config.postgres = pgoutput(true, false);
  config.postgres.publication = "pub_x";
  const cdc::decode::DecoderSettings settings = cdc::app::decoder_settings(config);
  EXPECT_EQ(settings.plugin, "pgoutput");
  EXPECT_EQ(settings.publication, "pub_x");
  EXPECT_TRUE(settings.binary);
  EXPECT_FALSE(settings.streaming);
  EXPECT_EQ(cdc::app::decoder_settings(cdc::app::Config{}).plugin, "wal2json");
}

TEST(PluginSettings, BinaryNeedsPostgres14) {
  const auto problem = server_version_problem(pgoutput(true, false), 130008);
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->problem,
            "postgres.binary = true needs PostgreSQL 14 or newer (pgoutput's binary mode), the server runs "
            "PostgreSQL 13.8");
  EXPECT_EQ(problem->fix, "upgrade the server to PostgreSQL 14 or newer, or set postgres.binary = false");
  EXPECT_EQ(problem->message(), problem->problem + ": " + problem->fix);
  EXPECT_FALSE(server_version_problem(pgoutput(true, false), 140000));
  EXPECT_FALSE(server_version_problem(pgoutput(true, false), 150004));
}

TEST(PluginSettings, StreamingNeedsPostgres14) {
  const auto problem = server_version_problem(pgoutput(false, true), 130000);
  ASSERT_TRUE(problem.has_value());
  EXPECT_THAT(problem->problem, HasSubstr("postgres.streaming = true needs PostgreSQL 14 or newer"));
  EXPECT_THAT(problem->problem, HasSubstr("the server runs PostgreSQL 13.0"));
  EXPECT_THAT(problem->fix, HasSubstr("set postgres.streaming = false"));
  EXPECT_FALSE(server_version_problem(pgoutput(false, true), 140001));
  // Both set: the first one is named.
  EXPECT_THAT(server_version_problem(pgoutput(true, true), 120015)->problem,
              HasSubstr("postgres.binary = true needs PostgreSQL 14 or newer (pgoutput's binary mode), the "
                        "server runs PostgreSQL 12.15"));
  EXPECT_THAT(server_version_problem(pgoutput(true, true), 90624)->problem, HasSubstr("PostgreSQL 9.6.24"));
}

TEST(PluginSettings, TextModeWithoutStreamingRunsOnEveryServer) {
  EXPECT_FALSE(server_version_problem(pgoutput(false, false), 100000));
  EXPECT_FALSE(server_version_problem(PostgresConfig{}, 100000));
}

TEST(PluginSettings, SpoolDirectory) {
  PostgresConfig postgres;
  postgres.slot = "slot_a";
  EXPECT_EQ(spool_directory(postgres, "/var/lib/customer-cdc"), "/var/lib/customer-cdc/spool");
  EXPECT_EQ(spool_directory(postgres, "/var/lib/a:/var/lib/b"), "/var/lib/a/spool");
  const std::string temp = (std::filesystem::temp_directory_path() / "customer-cdc-spool-slot_a").string();
  EXPECT_EQ(spool_directory(postgres, nullptr), temp);
  EXPECT_EQ(spool_directory(postgres, ""), temp);
  postgres.spool_dir = "/srv/spool";
  EXPECT_EQ(spool_directory(postgres, "/var/lib/customer-cdc"), "/srv/spool");
}

TEST(PluginSettings, CreatePublicationSql) {
  EXPECT_EQ(cdc::app::create_publication_sql("customer_cdc", {"public.customer", "\"S\".\"T\""}),
            "CREATE PUBLICATION customer_cdc FOR TABLE public.customer, \"S\".\"T\" WITH (publish = 'insert, "
            "update, delete, truncate');");
}
