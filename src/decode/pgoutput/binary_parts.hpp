#pragma once
// Helpers shared by the binary value conversions (binary_*.cpp); internal.
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "binary_values.hpp"

namespace cdc::decode::pgoutput::binary {

[[noreturn]] inline void bad(const std::string& what) { throw BinaryValueError(what); }

inline std::uint64_t big_endian(std::string_view bytes) {
  std::uint64_t v = 0;
  for (char c : bytes) v = (v << 8) | static_cast<std::uint8_t>(c);
  return v;
}

inline std::string_view exact(std::string_view bytes, std::size_t size, const char* type) {
  if (bytes.size() != size) {
    bad(std::string("binary ") + type + " value has " + std::to_string(bytes.size()) + " bytes, expected " +
        std::to_string(size));
  }
  return bytes;
}

template <typename T>
void append_integer(T value, std::string& out) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

inline void append_padded(std::int64_t value, int width, std::string& out) {
  const std::string digits = std::to_string(value);
  if (static_cast<int>(digits.size()) < width) out.append(static_cast<std::size_t>(width) - digits.size(), '0');
  out += digits;
}

// The conversions of binary_numbers.cpp and binary_datetime.cpp.
void append_float4(std::string_view bytes, std::string& out);
void append_float8(std::string_view bytes, std::string& out);
void append_numeric(std::string_view bytes, std::string& out);
void append_date(std::string_view bytes, std::string& out);
void append_time(std::string_view bytes, std::string& out);
void append_timetz(std::string_view bytes, std::string& out);
void append_timestamp(std::string_view bytes, bool with_zone, std::string& out);

}  // namespace cdc::decode::pgoutput::binary
