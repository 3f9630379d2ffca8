// Tests for include/cdc/sinks/postgres/copy_text.hpp (COPY text fields).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <vector>
#include <optional>
#include <string>
#include <string_view>

#include "cdc/sinks/postgres/copy_text.hpp"

namespace cdc::sinks {
namespace {

std::string field(const std::optional<std::string_view>& value) {
  std::string line;
  append_copy_field(line, value);
  return line;
}


TEST(CopyText, PlainTextIsUnchanged) {
  EXPECT_EQ(field(std::string_view("hello world")), "hello world");
  EXPECT_EQ(field(std::string_view("{\"a\": 1}")), "{\"a\": 1}");
  EXPECT_EQ(field(std::string_view("it's")), "it's");
}

TEST(CopyText, EmptyStringIsNotNull) {
  EXPECT_EQ(field(std::string_view("")), "");
}

TEST(CopyText, NulloptIsBackslashN) {
  EXPECT_EQ(field(std::nullopt), "\\N");
}

TEST(CopyText, LiteralBackslashNTextIsEscapedAndDistinctFromNull) {
  EXPECT_EQ(field(std::string_view("\\N")), "\\\\N");
}

TEST(CopyText, EscapesSpecialCharacters) {
  EXPECT_EQ(field(std::string_view("a\\b")), "a\\\\b");
  EXPECT_EQ(field(std::string_view("a\tb")), "a\\tb");
  EXPECT_EQ(field(std::string_view("a\nb")), "a\\nb");
  EXPECT_EQ(field(std::string_view("a\rb")), "a\\rb");
  EXPECT_EQ(field(std::string_view("\\\t\n\r")), "\\\\\\t\\n\\r");
}

TEST(CopyText, AppendsToExistingLine) {
  std::string line = "x\t";
  append_copy_field(line, std::string_view("y\tz"));
  line += '\t';
  append_copy_field(line, std::nullopt);
  EXPECT_EQ(line, "x\ty\\tz\t\\N");
}

TEST(CopyText, UnicodeBytesPassThrough) {
  EXPECT_EQ(field(std::string_view("caf\xc3\xa9")), "caf\xc3\xa9");
}

}  // namespace
}  // namespace cdc::sinks
