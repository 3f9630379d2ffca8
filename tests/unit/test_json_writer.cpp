// append_json_string must write the very bytes rapidjson::Writer::String
// writes: the Kafka envelopes and their goldens depend on it.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "../../src/sinks/kafka/json_writer.hpp"

namespace cdc::sinks {
namespace {

std::string by_rapidjson(std::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return {buffer.GetString(), buffer.GetSize()};
}

std::string by_json_writer(std::string_view text) {
  rapidjson::StringBuffer buffer;
  append_json_string(buffer, text);
  return {buffer.GetString(), buffer.GetSize()};
}

TEST(JsonWriter, EveryByteAtEveryOffsetOfALongRun) {
  // Each byte value at positions before, inside and after the 16-byte blocks.
  for (int byte = 0; byte < 256; ++byte) {
    for (std::size_t at : {0u, 5u, 15u, 16u, 17u, 31u, 40u}) {
      std::string text(41, 'a');
      text[at] = static_cast<char>(byte);
      ASSERT_EQ(by_json_writer(text), by_rapidjson(text)) << "byte " << byte << " at " << at;
    }
  }
}

TEST(JsonWriter, TypicalValues) {
  for (std::string_view text :
       {std::string_view(), std::string_view("x"), std::string_view("{\"api_calls\": 1000, \"storage_gb\": 10}"),
        std::string_view("tab\there \\ \"quoted\" line\nbreak \x01\x1f end"),
        std::string_view("Zoë 日本語 \xff\xfe invalid UTF-8 passes through"),
        std::string_view("\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\""),
        std::string_view("nul\0inside", 10)}) {
    EXPECT_EQ(by_json_writer(text), by_rapidjson(text)) << text;
  }
}

TEST(JsonWriter, StringIsAValueOrAKeyAsWriterStringIs) {
  rapidjson::StringBuffer ours;
  JsonWriter writer(ours);
  writer.StartObject();
  writer.string("a\"key");
  writer.string("a value");
  writer.string("n");
  writer.Null();
  writer.EndObject();

  rapidjson::StringBuffer theirs;
  rapidjson::Writer<rapidjson::StringBuffer> reference(theirs);
  reference.StartObject();
  reference.Key("a\"key");
  reference.String("a value");
  reference.Key("n");
  reference.Null();
  reference.EndObject();
  EXPECT_EQ(std::string(ours.GetString()), std::string(theirs.GetString()));
}

}  // namespace
}  // namespace cdc::sinks
