// Tests for the shared type table (cdc/decode/pg_types.hpp).
#include <gtest/gtest.h>

#include "cdc/decode/pg_types.hpp"

namespace cdc::decode {
namespace {

TEST(TypeClass, NamesAsFormatTypePrintsThem) {
  EXPECT_EQ(type_class("bigint"), TypeClass::Integer);
  EXPECT_EQ(type_class("integer"), TypeClass::Integer);
  EXPECT_EQ(type_class("smallint"), TypeClass::Integer);
  EXPECT_EQ(type_class("oid"), TypeClass::Integer);
  EXPECT_EQ(type_class("real"), TypeClass::Float);
  EXPECT_EQ(type_class("double precision"), TypeClass::Float);
  EXPECT_EQ(type_class("numeric"), TypeClass::Numeric);
  EXPECT_EQ(type_class("numeric(14,2)"), TypeClass::Numeric);
  EXPECT_EQ(type_class("boolean"), TypeClass::Bool);
  EXPECT_EQ(type_class("timestamp with time zone"), TypeClass::TimestampTz);
  EXPECT_EQ(type_class("timestamp(3) with time zone"), TypeClass::TimestampTz);
}

TEST(TypeClass, EverythingElseIsOther) {
  for (const char* type : {"text", "character varying(255)", "uuid", "jsonb", "bytea", "bigint[]", "numeric[]",
                           "timestamp without time zone", "timestamp with time zone[]", "date", "bit(3)", ""}) {
    EXPECT_EQ(type_class(type), TypeClass::Other) << type;
  }
}

TEST(TypeClass, NumberClasses) {
  EXPECT_TRUE(is_number_class(TypeClass::Integer));
  EXPECT_TRUE(is_number_class(TypeClass::Float));
  EXPECT_TRUE(is_number_class(TypeClass::Numeric));
  EXPECT_FALSE(is_number_class(TypeClass::Bool));
  EXPECT_FALSE(is_number_class(TypeClass::Other));
}

}  // namespace
}  // namespace cdc::decode
