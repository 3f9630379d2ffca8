#pragma once
#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace cdc::sinks {

/// Appends `text` as a JSON string (quotes included) with exactly the escapes
/// rapidjson::Writer writes (\" \\ \b \f \n \r \t, other control characters
/// as \u00XX, everything else, UTF-8 included, as it is), scanning 16 bytes
/// at a time for the characters that need one.
void append_json_string(rapidjson::StringBuffer& out, std::string_view text);

/// rapidjson's Writer with a faster String(): the envelope's values are
/// mostly long unescaped runs (jsonb, text), which rapidjson copies byte by byte.
class JsonWriter : public rapidjson::Writer<rapidjson::StringBuffer> {
 public:
  using Writer::Writer;

  /// A string value or object key, as Writer::String would write it.
  void string(std::string_view text) {
    Prefix(rapidjson::kStringType);
    append_json_string(*os_, text);
    EndValue(true);
  }
};

}  // namespace cdc::sinks
