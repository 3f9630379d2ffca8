// Numbers of pgoutput's binary mode as float4out, float8out and numeric_out print them.
#include <cmath>
#include <cstring>

#include "binary_parts.hpp"

namespace cdc::decode::pgoutput::binary {
namespace {

// float4out / float8out with extra_float_digits > 0: the shortest text that
// reads back exactly, fixed-point for decimal exponents in [-4, 6) (float4)
// or [-4, 15) (float8), otherwise d.ddde+XX with at least two exponent digits.
template <typename Float>
void append_float(Float value, int fixed_below, std::string& out) {
  if (std::isnan(value)) return void(out += "NaN");
  if (std::isinf(value)) return void(out += value < 0 ? "-Infinity" : "Infinity");
  if (value == 0) return void(out += std::signbit(value) ? "-0" : "0");
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  const std::string_view text(buffer, static_cast<std::size_t>(result.ptr - buffer));
  const auto e = text.find('e');
  std::string digits;
  for (char c : text.substr(0, e)) {
    if (c >= '0' && c <= '9') digits += c;
  }
  int exponent = 0;
  std::from_chars(text.data() + e + (text[e + 1] == '+' ? 2 : 1), text.data() + text.size(), exponent);
  if (value < 0) out += '-';
  if (exponent >= -4 && exponent < fixed_below) {
    if (exponent < 0) {
      out += "0.";
      out.append(static_cast<std::size_t>(-exponent - 1), '0');
      out += digits;
    } else if (digits.size() <= static_cast<std::size_t>(exponent) + 1) {
      out += digits;
      out.append(static_cast<std::size_t>(exponent) + 1 - digits.size(), '0');
    } else {
      out.append(digits, 0, static_cast<std::size_t>(exponent) + 1);
      out += '.';
      out.append(digits, static_cast<std::size_t>(exponent) + 1);
    }
    return;
  }
  out += digits[0];
  if (digits.size() > 1) {
    out += '.';
    out.append(digits, 1);
  }
  out += exponent < 0 ? "e-" : "e+";
  append_padded(std::abs(exponent), 2, out);
}

}  // namespace

void append_float4(std::string_view bytes, std::string& out) {
  const auto bits = static_cast<std::uint32_t>(big_endian(exact(bytes, 4, "real")));
  float value;
  std::memcpy(&value, &bits, sizeof value);
  append_float(value, 6, out);
}

void append_float8(std::string_view bytes, std::string& out) {
  const std::uint64_t bits = big_endian(exact(bytes, 8, "double precision"));
  double value;
  std::memcpy(&value, &bits, sizeof value);
  append_float(value, 15, out);
}

// numeric_send: int16 ndigits, int16 weight, uint16 sign, int16 dscale, then
// ndigits int16 base-10000 digits (the first one weighs 10000^weight).
// numeric_out (get_str_from_var): the integer part without leading zeros,
// then exactly dscale fraction digits.
void append_numeric(std::string_view bytes, std::string& out) {
  if (bytes.size() < 8) bad("binary numeric value shorter than its 8-byte header");
  const auto ndigits = static_cast<std::int16_t>(big_endian(bytes.substr(0, 2)));
  const auto weight = static_cast<std::int16_t>(big_endian(bytes.substr(2, 2)));
  const auto sign = static_cast<std::uint16_t>(big_endian(bytes.substr(4, 2)));
  const auto dscale = static_cast<std::int16_t>(big_endian(bytes.substr(6, 2)));
  switch (sign) {
    case 0xC000: return void(out += "NaN");
    case 0xD000: return void(out += "Infinity");
    case 0xF000: return void(out += "-Infinity");
    case 0x0000:
    case 0x4000: break;
    default: bad("binary numeric value has an invalid sign");
  }
  if (ndigits < 0 || dscale < 0 || dscale > 0x3FFF) bad("binary numeric value has an invalid digit count or scale");
  if (bytes.size() != 8 + 2 * static_cast<std::size_t>(ndigits)) {
    bad("binary numeric value has " + std::to_string(bytes.size()) + " bytes for " + std::to_string(ndigits) +
        " digits");
  }
  auto digit = [&](int i) -> int {
    if (i < 0 || i >= ndigits) return 0;
    const auto d = static_cast<int>(big_endian(bytes.substr(8 + 2 * static_cast<std::size_t>(i), 2)));
    if (d > 9999) bad("binary numeric value has a digit above 9999");
    return d;
  };
  if (sign == 0x4000) out += '-';
  if (weight < 0) {
    out += '0';
  } else {
    append_integer(digit(0), out);
    for (int i = 1; i <= weight; ++i) append_padded(digit(i), 4, out);
  }
  if (dscale > 0) {
    out += '.';
    const std::size_t end = out.size() + static_cast<std::size_t>(dscale);
    for (int i = weight + 1; out.size() < end; ++i) append_padded(digit(i), 4, out);
    out.resize(end);
  }
}

}  // namespace cdc::decode::pgoutput::binary
