// Tests for the text helpers of include/cdc/core/pg.hpp.
#include <gtest/gtest.h>

#include "cdc/core/pg.hpp"

namespace cdc::pg {
namespace {

TEST(SplitTableName, SchemaAndTable) {
  EXPECT_EQ(split_table_name("public.customer"), (std::pair<std::string, std::string>{"public", "customer"}));
  EXPECT_EQ(split_table_name("analytics.plan_rollup"),
            (std::pair<std::string, std::string>{"analytics", "plan_rollup"}));
}

TEST(SplitTableName, WithoutSchemaIsPublic) {
  EXPECT_EQ(split_table_name("plans"), (std::pair<std::string, std::string>{"public", "plans"}));
}

}  // namespace
}  // namespace cdc::pg
