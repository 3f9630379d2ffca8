// Tests for include/cdc/lsn.hpp: pg_lsn text form.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "cdc/core/lsn.hpp"

namespace cdc {
namespace {

TEST(Lsn, FormatsAsUppercaseHexHalves) {
  EXPECT_EQ(format_lsn(0), "0/0");
  EXPECT_EQ(format_lsn(0x16B374D848ULL), "16/B374D848");
  EXPECT_EQ(format_lsn(0x00000001'00000000ULL), "1/0");
  EXPECT_EQ(format_lsn(0x00000000'0000000AULL), "0/A");
  EXPECT_EQ(format_lsn(UINT64_MAX), "FFFFFFFF/FFFFFFFF");
}

TEST(Lsn, ParsesKnownValues) {
  EXPECT_EQ(parse_lsn("0/0"), Lsn{0});
  EXPECT_EQ(parse_lsn("16/B374D848"), Lsn{0x16B374D848ULL});
  EXPECT_EQ(parse_lsn("16/b374d848"), Lsn{0x16B374D848ULL});  // PostgreSQL accepts lower case
  EXPECT_EQ(parse_lsn("FFFFFFFF/FFFFFFFF"), Lsn{UINT64_MAX});
  EXPECT_EQ(parse_lsn("00000001/00000002"), Lsn{0x1'00000002ULL});  // 8 digits per half is allowed
}

TEST(Lsn, RoundTrips) {
  const Lsn values[] = {0,           1,          0xFFFFFFFFULL,         0x1'00000000ULL,
                        0x16B374D848ULL, 0xDEADBEEF'CAFEBABEULL, UINT64_MAX, 0x80000000'00000001ULL};
  for (const Lsn value : values) {
    const std::string text = format_lsn(value);
    EXPECT_EQ(parse_lsn(text), value) << text;
  }
  for (const char* text : {"0/0", "1/0", "0/1", "16/B374D848", "FFFFFFFF/FFFFFFFF", "ABC/DEF"}) {
    const auto parsed = parse_lsn(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_EQ(format_lsn(*parsed), text);
  }
}

TEST(Lsn, RejectsMalformedInput) {
  for (const char* text : {"", "/", "1/", "/1", "G/0", "0/G", "123456789/0", "0/123456789", "10",
                           "16B374D848", "1/2/3", " 1/2", "1/2 ", "1 /2", "-1/0", "+1/0", "0x1/0",
                           "1/-1", "1//2"}) {
    EXPECT_EQ(parse_lsn(text), std::nullopt) << '"' << text << '"';
  }
}

}  // namespace
}  // namespace cdc
