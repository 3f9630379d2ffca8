// Tests for include/cdc/core/conninfo.hpp: libpq connection strings, taken
// apart and described without their secrets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "cdc/core/conninfo.hpp"

namespace cdc::pg {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Conninfo, ParsesKeywordValuePairs) {
  const auto options = parse_conninfo("host=db port=6543 dbname=prod user=cdc password=s3cret");
  ASSERT_TRUE(options);
  EXPECT_EQ(options->find("host"), "db");
  EXPECT_EQ(options->find("port"), "6543");
  EXPECT_EQ(options->find("user"), "cdc");
  EXPECT_EQ(options->find("password"), "s3cret");
  EXPECT_EQ(options->find("sslmode"), std::nullopt);
  EXPECT_EQ(options->keys.size(), options->values.size());
}

TEST(Conninfo, ParsesUris) {
  const auto options = parse_conninfo("postgresql://cdc@db:6543/prod");
  ASSERT_TRUE(options);
  EXPECT_EQ(options->find("host"), "db");
  EXPECT_EQ(options->find("port"), "6543");
  EXPECT_EQ(options->find("dbname"), "prod");
  EXPECT_EQ(options->find("user"), "cdc");
}

TEST(Conninfo, ParseErrorIsLibpqsMessage) {
  std::string error;
  EXPECT_FALSE(parse_conninfo("host=db supersecret", &error));
  EXPECT_THAT(error, HasSubstr("supersecret"));  // libpq quotes the token
  EXPECT_EQ(error.find('\n'), std::string::npos);
}

TEST(Conninfo, ProblemNeverQuotesTheConninfo) {
  EXPECT_EQ(conninfo_problem("host=db dbname=app"), std::nullopt);
  const auto problem = conninfo_problem("host=db supersecret");
  ASSERT_TRUE(problem);
  EXPECT_THAT(*problem, Not(HasSubstr("supersecret")));
  EXPECT_THAT(*problem, HasSubstr("\"...\""));
}

TEST(Conninfo, WithoutQuotedText) {
  EXPECT_EQ(without_quoted_text("missing \"=\" after \"x\" in connection info string"),
            "missing \"...\" after \"...\" in connection info string");
  EXPECT_EQ(without_quoted_text("no quotes"), "no quotes");
}

TEST(Conninfo, DescribesHostPortAndDatabaseOnly) {
  EXPECT_EQ(describe_conninfo("host=db port=6543 dbname=prod user=cdc password=s3cret"), "db:6543/prod");
  EXPECT_EQ(describe_conninfo("dbname=prod"), "(default host)/prod");
  EXPECT_EQ(describe_conninfo("hostaddr=10.0.0.1 port=5"), "10.0.0.1:5");
  EXPECT_EQ(describe_conninfo("hostaddr=10.0.0.1 host=db"), "db");
  EXPECT_EQ(describe_conninfo("password supersecret"), "(unparsable dsn)");
}

}  // namespace
}  // namespace cdc::pg
