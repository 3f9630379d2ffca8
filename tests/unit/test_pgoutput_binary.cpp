// Binary values (pgoutput binary mode) as the text of the type's output
// function; expected texts are what PostgreSQL 15 prints in the stream's
// session settings (DateStyle ISO, TimeZone UTC). The golden fixtures compare
// every captured type against the server's own text as well.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "../../src/decode/pgoutput/binary_values.hpp"
#include "../../src/decode/pgoutput/type_names.hpp"

namespace cdc::decode::pgoutput {
namespace {

std::string be(std::uint64_t v, int n) {
  std::string out;
  for (int i = n - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}

std::string text_of(std::uint32_t type, const std::string& bytes) {
  std::string out;
  append_binary_as_text(type, bytes, out);
  return out;
}

/// numeric_send bytes: ndigits, weight, sign, dscale, base-10000 digits.
std::string numeric(std::int16_t weight, std::uint16_t sign, std::int16_t dscale, std::vector<int> digits) {
  std::string out = be(digits.size(), 2) + be(static_cast<std::uint16_t>(weight), 2) + be(sign, 2) +
                    be(static_cast<std::uint16_t>(dscale), 2);
  for (int d : digits) out += be(static_cast<std::uint16_t>(d), 2);
  return out;
}

std::string float8(double v) {
  std::uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return be(bits, 8);
}

std::string float4(float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return be(bits, 4);
}

constexpr std::int64_t kUsPerDay = 86'400'000'000;

TEST(PgoutputBinary, Integers) {
  EXPECT_EQ(text_of(oid::kInt2, be(static_cast<std::uint16_t>(-32768), 2)), "-32768");
  EXPECT_EQ(text_of(oid::kInt4, be(2147483647, 4)), "2147483647");
  EXPECT_EQ(text_of(oid::kInt8, be(0x8000000000000000ull, 8)), "-9223372036854775808");
  EXPECT_EQ(text_of(oid::kOid, be(4294967295u, 4)), "4294967295");
  EXPECT_THROW(text_of(oid::kInt8, be(1, 4)), BinaryValueError);
}

TEST(PgoutputBinary, Numeric) {
  EXPECT_EQ(text_of(oid::kNumeric, numeric(0, 0, 2, {12, 5000})), "12.50");
  EXPECT_EQ(text_of(oid::kNumeric, numeric(0, 0, 0, {})), "0");
  EXPECT_EQ(text_of(oid::kNumeric, numeric(0, 0, 4, {})), "0.0000");
  EXPECT_EQ(text_of(oid::kNumeric, numeric(-1, 0x4000, 4, {1})), "-0.0001");
  EXPECT_EQ(text_of(oid::kNumeric, numeric(-6, 0, 21, {1000})), "0.000000000000000000001");
  EXPECT_EQ(text_of(oid::kNumeric, numeric(2, 0, 0, {1, 0, 1})), "100000001");
  EXPECT_EQ(text_of(oid::kNumeric, numeric(7, 0x4000, 9, {12, 3456, 7890, 1234, 5678, 9012, 3456, 7890, 1234, 5678, 9000})),
            "-123456789012345678901234567890.123456789");
  EXPECT_EQ(text_of(oid::kNumeric, numeric(0, 0xC000, 0, {})), "NaN");
  EXPECT_EQ(text_of(oid::kNumeric, numeric(0, 0xD000, 0, {})), "Infinity");
  EXPECT_EQ(text_of(oid::kNumeric, numeric(0, 0xF000, 0, {})), "-Infinity");
  EXPECT_THROW(text_of(oid::kNumeric, numeric(0, 0x1234, 0, {})), BinaryValueError);
  EXPECT_THROW(text_of(oid::kNumeric, numeric(0, 0, 0, {10000})), BinaryValueError);
  EXPECT_THROW(text_of(oid::kNumeric, numeric(0, 0, 0, {1}).substr(0, 9)), BinaryValueError);
}

TEST(PgoutputBinary, FloatsAsExtraFloatDigitsOnePrintsThem) {
  EXPECT_EQ(text_of(oid::kFloat8, float8(1.5)), "1.5");
  EXPECT_EQ(text_of(oid::kFloat8, float8(1e-5)), "1e-05");
  EXPECT_EQ(text_of(oid::kFloat8, float8(1e-4)), "0.0001");
  EXPECT_EQ(text_of(oid::kFloat8, float8(1e15)), "1e+15");
  EXPECT_EQ(text_of(oid::kFloat8, float8(123456789012345.0)), "123456789012345");
  EXPECT_EQ(text_of(oid::kFloat8, float8(12345678)), "12345678");
  EXPECT_EQ(text_of(oid::kFloat8, float8(5e-324)), "5e-324");
  EXPECT_EQ(text_of(oid::kFloat8, float8(1e100)), "1e+100");
  EXPECT_EQ(text_of(oid::kFloat8, float8(-2.5e-5)), "-2.5e-05");
  EXPECT_EQ(text_of(oid::kFloat8, float8(-0.0)), "-0");
  EXPECT_EQ(text_of(oid::kFloat8, float8(std::numeric_limits<double>::quiet_NaN())), "NaN");
  EXPECT_EQ(text_of(oid::kFloat8, float8(-std::numeric_limits<double>::infinity())), "-Infinity");
  EXPECT_EQ(text_of(oid::kFloat4, float4(123456.0f)), "123456");
  EXPECT_EQ(text_of(oid::kFloat4, float4(1234567.0f)), "1.234567e+06");
  EXPECT_EQ(text_of(oid::kFloat4, float4(3e-7f)), "3e-07");
  EXPECT_EQ(text_of(oid::kFloat4, float4(3.4e38f)), "3.4e+38");
}

TEST(PgoutputBinary, BooleanTextJsonUuidBytea) {
  EXPECT_EQ(text_of(oid::kBool, std::string(1, '\1')), "t");
  EXPECT_EQ(text_of(oid::kBool, std::string(1, '\0')), "f");
  EXPECT_EQ(text_of(oid::kText, "tab\there é"), "tab\there é");
  EXPECT_EQ(text_of(oid::kVarchar, ""), "");
  EXPECT_EQ(text_of(oid::kJsonb, "\x01{\"a\": 1}"), "{\"a\": 1}");
  EXPECT_THROW(text_of(oid::kJsonb, "\x02{}"), BinaryValueError);
  EXPECT_THROW(text_of(oid::kJsonb, ""), BinaryValueError);
  EXPECT_EQ(text_of(oid::kUuid, be(0xa16edb6b96234f78ull, 8) + be(0xabc5d6139c7684c0ull, 8)),
            "a16edb6b-9623-4f78-abc5-d6139c7684c0");
  EXPECT_THROW(text_of(oid::kUuid, be(1, 8)), BinaryValueError);
  EXPECT_EQ(text_of(oid::kBytea, std::string("\x00\xff\x10", 3)), "\\x00ff10");
  EXPECT_EQ(text_of(oid::kBytea, ""), "\\x");
  EXPECT_EQ(text_of(oid::kChar, "a"), "a");
  EXPECT_EQ(text_of(oid::kChar, std::string(1, '\0')), "");
  EXPECT_EQ(text_of(oid::kChar, "\xe9"), "\\351");
}

TEST(PgoutputBinary, DatesAndTimes) {
  EXPECT_EQ(text_of(oid::kDate, be(0, 4)), "2000-01-01");
  EXPECT_EQ(text_of(oid::kDate, be(static_cast<std::uint32_t>(-36465), 4)), "1900-03-01");
  EXPECT_EQ(text_of(oid::kDate, be(static_cast<std::uint32_t>(-2451545), 4)), "4714-11-24 BC");  // Julian day 0
  EXPECT_EQ(text_of(oid::kDate, be(0x7FFFFFFF, 4)), "infinity");
  EXPECT_EQ(text_of(oid::kDate, be(0x80000000, 4)), "-infinity");
  const std::int64_t ts = 9'825 * kUsPerDay + 7 * 3'600'000'000LL + 13 * 60'000'000LL + 13'961'690;  // 2026-11-25
  EXPECT_EQ(text_of(oid::kTimestampTz, be(static_cast<std::uint64_t>(ts), 8)), "2026-11-25 07:13:13.96169+00");
  EXPECT_EQ(text_of(oid::kTimestamp, be(static_cast<std::uint64_t>(ts - 13'961'690 + 13'000'000), 8)),
            "2026-11-25 07:13:13");
  EXPECT_EQ(text_of(oid::kTimestampTz, be(static_cast<std::uint64_t>(-1), 8)), "1999-12-31 23:59:59.999999+00");
  EXPECT_EQ(text_of(oid::kTimestampTz, be(0x7FFFFFFFFFFFFFFFull, 8)), "infinity");
  EXPECT_EQ(text_of(oid::kTimestampTz, be(0x8000000000000000ull, 8)), "-infinity");
  // 0001-01-01 00:00:00 BC (year 0, a leap year): 730119 + 366 days before 2000-01-01.
  const std::int64_t bc = -(730'119 + 366) * kUsPerDay;
  EXPECT_EQ(text_of(oid::kTimestampTz, be(static_cast<std::uint64_t>(bc), 8)), "0001-01-01 00:00:00+00 BC");
  EXPECT_THROW(text_of(oid::kTimestampTz, be(0x8000000000000001ull, 8)), BinaryValueError);  // out of range
  EXPECT_THROW(text_of(oid::kTimestamp, be(0x7FFFFFFFFFFFFFFEull, 8)), BinaryValueError);
  EXPECT_EQ(text_of(oid::kTimestamp, be(static_cast<std::uint64_t>(9'223'371'331'199'999'999LL), 8)),
            "294276-12-31 23:59:59.999999");
  EXPECT_EQ(text_of(oid::kTimestamp, be(static_cast<std::uint64_t>(-211'813'488'000'000'000LL), 8)),
            "4714-11-24 00:00:00 BC");
  EXPECT_EQ(text_of(oid::kTime, be(7 * 3'600'000'000ULL + 500'000, 8)), "07:00:00.5");
  EXPECT_EQ(text_of(oid::kTime, be(static_cast<std::uint64_t>(kUsPerDay), 8)), "24:00:00");
  EXPECT_THROW(text_of(oid::kTime, be(static_cast<std::uint64_t>(kUsPerDay + 1), 8)), BinaryValueError);
  EXPECT_EQ(text_of(oid::kTimeTz, be(1'000'000, 8) + be(static_cast<std::uint32_t>(-19'800), 4)), "00:00:01+05:30");
  EXPECT_EQ(text_of(oid::kTimeTz, be(1'000'000, 8) + be(28'800, 4)), "00:00:01-08");
}

/// array_send bytes of a one-dimensional array.
std::string array(std::uint32_t element, const std::vector<std::optional<std::string>>& items, std::int32_t lower = 1) {
  std::string out = be(1, 4) + be(0, 4) + be(element, 4) + be(items.size(), 4) + be(static_cast<std::uint32_t>(lower), 4);
  for (const auto& item : items) {
    out += item ? be(item->size(), 4) + *item : be(0xFFFFFFFF, 4);
  }
  return out;
}

TEST(PgoutputBinary, Arrays) {
  EXPECT_EQ(text_of(1009, array(oid::kText, {"a", "b c", "", std::nullopt, "NULL", "q\"uote", "back\\slash", "{x}"})),
            R"({a,"b c","",NULL,"NULL","q\"uote","back\\slash","{x}"})");
  EXPECT_EQ(text_of(1007, array(oid::kInt4, {be(1, 4), std::nullopt, be(3, 4)})), "{1,NULL,3}");
  EXPECT_EQ(text_of(1000, array(oid::kBool, {std::string(1, '\1'), std::string(1, '\0')})), "{t,f}");
  EXPECT_EQ(text_of(1009, array(oid::kText, {"a", "b"}, 0)), "[0:1]={a,b}");
  EXPECT_EQ(text_of(1009, be(0, 4) + be(0, 4) + be(oid::kText, 4)), "{}");
  const std::string two_by_two = be(2, 4) + be(0, 4) + be(oid::kInt4, 4) + be(2, 4) + be(1, 4) + be(2, 4) + be(1, 4) +
                                 be(4, 4) + be(1, 4) + be(4, 4) + be(2, 4) + be(4, 4) + be(3, 4) + be(4, 4) + be(4, 4);
  EXPECT_EQ(text_of(1007, two_by_two), "{{1,2},{3,4}}");
  EXPECT_EQ(text_of(1001, array(oid::kBytea, {std::string("\x01", 1)})), R"({"\\x01"})");
  EXPECT_THROW(text_of(1007, array(oid::kText, {"a"})), BinaryValueError);           // wrong element type
  EXPECT_THROW(text_of(1007, array(oid::kInt4, {be(1, 4)}) + "x"), BinaryValueError);  // trailing byte
  EXPECT_THROW(text_of(1007, be(1, 4) + be(0, 4) + be(oid::kInt4, 4) + be(1000000, 4) + be(1, 4)),
               BinaryValueError);  // more elements than bytes
  EXPECT_THROW(text_of(1007, be(7, 4) + be(0, 4) + be(oid::kInt4, 4)), BinaryValueError);
}

TEST(PgoutputBinary, UnsupportedTypesAreErrors) {
  EXPECT_FALSE(has_binary_conversion(oid::kInterval));
  EXPECT_TRUE(has_binary_conversion(3807));  // jsonb[]
  EXPECT_THROW(text_of(oid::kInterval, std::string(16, '\0')), BinaryValueError);
}

TEST(PgoutputTypeNames, AsWal2jsonPrintsThem) {
  EXPECT_EQ(builtin_type_name(oid::kVarchar, 259), "character varying(255)");
  EXPECT_EQ(builtin_type_name(oid::kVarchar, -1), "character varying");
  EXPECT_EQ(builtin_type_name(oid::kNumeric, (10 << 16 | 2) + 4), "numeric(10,2)");
  EXPECT_EQ(builtin_type_name(oid::kNumeric, -1), "numeric");
  EXPECT_EQ(builtin_type_name(oid::kTimestampTz, -1), "timestamp with time zone");
  EXPECT_EQ(builtin_type_name(oid::kTimestampTz, 3), "timestamp(3) with time zone");
  EXPECT_EQ(builtin_type_name(oid::kTime, 0), "time(0) without time zone");
  EXPECT_EQ(builtin_type_name(oid::kBpchar, 7), "character(3)");
  EXPECT_EQ(builtin_type_name(oid::kBpchar, -1), "bpchar");
  EXPECT_EQ(builtin_type_name(1009, -1), "text[]");
  EXPECT_EQ(builtin_type_name(1015, 14), "character varying(10)[]");
  EXPECT_EQ(builtin_type_name(oid::kInt8, -1), "bigint");
  EXPECT_EQ(builtin_type_name(oid::kJsonb, -1), "jsonb");
  EXPECT_EQ(builtin_type_name(oid::kUuid, -1), "uuid");
  EXPECT_EQ(builtin_type_name(oid::kChar, -1), "char");
  EXPECT_EQ(builtin_type_name(1002, -1), "\"char\"[]");
  EXPECT_EQ(builtin_type_name(99999, -1), std::nullopt);
}

}  // namespace
}  // namespace cdc::decode::pgoutput
