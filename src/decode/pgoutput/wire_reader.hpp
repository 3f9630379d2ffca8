#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cdc/core/lsn.hpp"

namespace cdc::decode::pgoutput {

/// Reads one pgoutput message: big-endian integers, NUL-terminated strings
/// and length-prefixed bytes, each checked against what is left. Every
/// failure is a DecodeError naming the WAL position and the byte offset.
class WireReader {
 public:
  WireReader(std::string_view payload, Lsn wal_position) : payload_(payload), wal_position_(wal_position) {}

  std::uint8_t u8(const char* what);
  std::int16_t i16(const char* what);
  std::int32_t i32(const char* what);
  std::uint32_t u32(const char* what) { return static_cast<std::uint32_t>(i32(what)); }
  std::int64_t i64(const char* what);
  std::uint64_t u64(const char* what) { return static_cast<std::uint64_t>(i64(what)); }
  /// A NUL-terminated string (without its NUL).
  std::string_view cstring(const char* what);
  /// `n` raw bytes.
  std::string_view bytes(std::size_t n, const char* what);

  std::size_t offset() const { return offset_; }
  std::size_t left() const { return payload_.size() - offset_; }
  /// Throws unless every byte was read: a longer message is not the one we parsed.
  void expect_end(const char* message_name);

  [[noreturn]] void fail(const std::string& reason) const;

 private:
  std::string_view take(std::size_t n, const char* what);

  std::string_view payload_;
  Lsn wal_position_;
  std::size_t offset_ = 0;
};

}  // namespace cdc::decode::pgoutput
