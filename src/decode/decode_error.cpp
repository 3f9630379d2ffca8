#include "cdc/decode/decode_error.hpp"

namespace cdc::decode {
namespace {

constexpr std::size_t kRawQuoteBytes = 200;

std::string make_what(std::string_view plugin, const std::string& reason, Lsn wal_position, std::string_view raw) {
  std::string what = "cannot decode ";
  what += plugin;
  what += " message at WAL ";
  what += format_lsn(wal_position);
  what += ": ";
  for (const char c : reason) what += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;  // one log line
  what += "; message starts: ";
  what += quote_raw(raw);
  return what;
}

}  // namespace

std::string quote_raw(std::string_view raw) {
  std::size_t n = raw.size();
  bool truncated = false;
  if (n > kRawQuoteBytes) {
    n = kRawQuoteBytes;
    // Do not split a multi-byte sequence: back up over continuation bytes.
    while (n > 0 && (static_cast<unsigned char>(raw[n]) & 0xC0) == 0x80) --n;
    truncated = true;
  }
  std::string out(raw.substr(0, n));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (truncated) out += "...";
  return out;
}

DecodeError::DecodeError(std::string_view plugin, const std::string& reason, Lsn wal_position, std::string_view raw)
    : CategorizedError(make_what(plugin, reason, wal_position, raw)), reason_(reason), wal_position_(wal_position) {}

}  // namespace cdc::decode
