#include "wire_reader.hpp"

#include "cdc/decode/decode_error.hpp"

namespace cdc::decode::pgoutput {

std::string_view WireReader::take(std::size_t n, const char* what) {
  if (n > left()) {
    fail(std::string("message ends inside ") + what + " (" + std::to_string(n) + " bytes needed, " +
         std::to_string(left()) + " left)");
  }
  const std::string_view out = payload_.substr(offset_, n);
  offset_ += n;
  return out;
}

std::uint8_t WireReader::u8(const char* what) { return static_cast<std::uint8_t>(take(1, what)[0]); }

std::int16_t WireReader::i16(const char* what) {
  const std::string_view b = take(2, what);
  return static_cast<std::int16_t>((static_cast<std::uint8_t>(b[0]) << 8) | static_cast<std::uint8_t>(b[1]));
}

std::int32_t WireReader::i32(const char* what) {
  const std::string_view b = take(4, what);
  std::uint32_t v = 0;
  for (char c : b) v = (v << 8) | static_cast<std::uint8_t>(c);
  return static_cast<std::int32_t>(v);
}

std::int64_t WireReader::i64(const char* what) {
  const std::string_view b = take(8, what);
  std::uint64_t v = 0;
  for (char c : b) v = (v << 8) | static_cast<std::uint8_t>(c);
  return static_cast<std::int64_t>(v);
}

std::string_view WireReader::cstring(const char* what) {
  const std::size_t nul = payload_.find('\0', offset_);
  if (nul == std::string_view::npos) fail(std::string("message ends inside ") + what + " (no terminating NUL)");
  const std::string_view out = payload_.substr(offset_, nul - offset_);
  offset_ = nul + 1;
  return out;
}

std::string_view WireReader::bytes(std::size_t n, const char* what) { return take(n, what); }

void WireReader::expect_end(const char* message_name) {
  if (left() != 0) {
    fail(std::to_string(left()) + " unexpected bytes after the end of the " + message_name + " message");
  }
}

void WireReader::fail(const std::string& reason) const {
  throw DecodeError("pgoutput", reason + " (at byte " + std::to_string(offset_) + ")", wal_position_, payload_);
}

}  // namespace cdc::decode::pgoutput
