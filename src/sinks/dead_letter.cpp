#include "cdc/sinks/dead_letter.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace cdc::sinks {

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16 | static_cast<unsigned char>(bytes[i + 1]) << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t left = bytes.size() - i;
  if (left > 0) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (left == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += left == 2 ? kAlphabet[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::string printable_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
    bool ok = length > 0 && lead != 0 && i + length <= text.size();
    for (std::size_t k = 1; ok && k < length; ++k) ok = (static_cast<unsigned char>(text[i + k]) >> 6) == 0x2;
    if (ok && length > 1) {
      // Overlong forms and surrogates are invalid too.
      const auto next = static_cast<unsigned char>(text[i + 1]);
      ok = !(lead == 0xC0 || lead == 0xC1 || (lead == 0xE0 && next < 0xA0) || (lead == 0xED && next >= 0xA0) ||
             (lead == 0xF0 && next < 0x90) || lead > 0xF4 || (lead == 0xF4 && next >= 0x90));
    }
    if (ok) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

std::string dead_letter_message(const TxnInfo& txn, const DeadLetter& letter, const std::string& db) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  const auto string = [&](std::string_view text) {
    writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  };
  writer.StartObject();
  writer.Key("lsn");
  string(format_lsn(letter.wal_position));
  writer.Key("commitLsn");
  string(format_lsn(txn.commit_lsn));
  writer.Key("txId");
  writer.Uint(txn.xid);
  writer.Key("ts_ms");
  writer.Int64(txn.commit_time_us / 1000);
  writer.Key("db");
  string(db);
  writer.Key("reason");
  string(printable_utf8(letter.reason));

  rapidjson::StringBuffer probe;
  rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>, rapidjson::CrtAllocator,
                    rapidjson::kWriteValidateEncodingFlag>
      validating(probe);
  const bool text_ok = letter.raw.find('\0') == std::string::npos &&
                       validating.String(letter.raw.data(), static_cast<rapidjson::SizeType>(letter.raw.size()));
  if (text_ok) {
    writer.Key("raw");
    string(letter.raw);
  } else {
    writer.Key("raw_base64");
    string(base64_encode(letter.raw));
  }
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace cdc::sinks
