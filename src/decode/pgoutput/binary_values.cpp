// Binary values of pgoutput's binary mode ('b' tuple columns) as the text the
// type's output function prints, so that binary and text mode yield the same
// Change. Each conversion follows the PostgreSQL 15 send/out pair named above it.
#include "binary_values.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "type_names.hpp"

namespace cdc::decode::pgoutput {
namespace {

constexpr std::int64_t kUsPerDay = 86'400'000'000;
constexpr std::int64_t kUnixDaysAt2000 = 10'957;  ///< 2000-01-01, PostgreSQL's epoch, in days since 1970-01-01

[[noreturn]] void bad(const std::string& what) { throw BinaryValueError(what); }

std::uint64_t big_endian(std::string_view bytes) {
  std::uint64_t v = 0;
  for (char c : bytes) v = (v << 8) | static_cast<std::uint8_t>(c);
  return v;
}

std::string_view exact(std::string_view bytes, std::size_t size, const char* type) {
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

void append_padded(std::int64_t value, int width, std::string& out) {
  const std::string digits = std::to_string(value);
  if (static_cast<int>(digits.size()) < width) out.append(static_cast<std::size_t>(width) - digits.size(), '0');
  out += digits;
}

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

struct Civil {
  std::int64_t year;
  int month;
  int day;
};

/// Proleptic Gregorian date of a day number (days since 1970-01-01), as
/// PostgreSQL's j2date (H. Hinnant's civil_from_days).
Civil civil_from_days(std::int64_t days) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2), static_cast<int>(month), static_cast<int>(day)};
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/// "YYYY-MM-DD" (ISO DateStyle); returns whether the date is BC (year printed as 1 - year).
bool append_date_part(std::int64_t unix_days, std::string& out) {
  const Civil c = civil_from_days(unix_days);
  const bool bc = c.year <= 0;
  append_padded(bc ? 1 - c.year : c.year, 4, out);
  out += '-';
  append_padded(c.month, 2, out);
  out += '-';
  append_padded(c.day, 2, out);
  return bc;
}

/// "HH:MM:SS" and, unless zero, "." and the microseconds without trailing zeros.
void append_time_of_day(std::int64_t us, std::string& out) {
  append_padded(us / 3'600'000'000, 2, out);
  out += ':';
  append_padded(us / 60'000'000 % 60, 2, out);
  out += ':';
  append_padded(us / 1'000'000 % 60, 2, out);
  std::int64_t fraction = us % 1'000'000;
  if (fraction == 0) return;
  int width = 6;
  while (fraction % 10 == 0) {
    fraction /= 10;
    --width;
  }
  out += '.';
  append_padded(fraction, width, out);
}

// date_send: int32 days since 2000-01-01; INT32_MIN/MAX are -infinity/infinity.
void append_date(std::string_view bytes, std::string& out) {
  const auto days = static_cast<std::int32_t>(big_endian(exact(bytes, 4, "date")));
  if (days == std::numeric_limits<std::int32_t>::min()) return void(out += "-infinity");
  if (days == std::numeric_limits<std::int32_t>::max()) return void(out += "infinity");
  if (append_date_part(days + kUnixDaysAt2000, out)) out += " BC";
}

// timestamp(tz)_send: int64 microseconds since 2000-01-01 00:00 (UTC for
// timestamptz); INT64_MIN/MAX are -infinity/infinity. timestamptz_out in
// TimeZone UTC: "YYYY-MM-DD HH:MM:SS[.ffffff]+00[ BC]".
void append_timestamp(std::string_view bytes, bool with_zone, std::string& out) {
  const auto us = static_cast<std::int64_t>(big_endian(exact(bytes, 8, "timestamp")));
  if (us == std::numeric_limits<std::int64_t>::min()) return void(out += "-infinity");
  if (us == std::numeric_limits<std::int64_t>::max()) return void(out += "infinity");
  if (us < kMinTimestamp || us >= kEndTimestamp) bad("binary timestamp out of range");
  const std::int64_t days = floor_div(us, kUsPerDay);
  const bool bc = append_date_part(days + kUnixDaysAt2000, out);
  out += ' ';
  append_time_of_day(us - days * kUsPerDay, out);
  if (with_zone) out += "+00";
  if (bc) out += " BC";
}

// time_send: int64 microseconds since midnight (0 to 24:00:00 inclusive).
void append_time(std::string_view bytes, std::string& out) {
  const auto us = static_cast<std::int64_t>(big_endian(bytes));
  if (us < 0 || us > kUsPerDay) bad("binary time value out of range");
  append_time_of_day(us, out);
}

// timetz_send: time as above, then int32 zone in seconds west of UTC;
// EncodeTimezone prints "+HH", "+HH:MM" or "+HH:MM:SS" (east positive).
void append_timetz(std::string_view bytes, std::string& out) {
  exact(bytes, 12, "time with time zone");
  append_time(bytes.substr(0, 8), out);
  const auto zone = static_cast<std::int32_t>(big_endian(bytes.substr(8, 4)));
  if (zone < -15 * 3600 - 59 * 60 || zone > 15 * 3600 + 59 * 60) bad("binary time zone offset out of range");
  const int seconds = zone < 0 ? -zone : zone;
  out += zone <= 0 ? '+' : '-';
  append_padded(seconds / 3600, 2, out);
  if (seconds % 3600 != 0) {
    out += ':';
    append_padded(seconds / 60 % 60, 2, out);
    if (seconds % 60 != 0) {
      out += ':';
      append_padded(seconds % 60, 2, out);
    }
  }
}

// uuid_send: 16 bytes; uuid_out: lower-case hex in 8-4-4-4-12 groups.
void append_uuid(std::string_view bytes, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  exact(bytes, 16, "uuid");
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    const auto b = static_cast<std::uint8_t>(bytes[i]);
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
}

// bytea_send: the raw bytes; byteaout with bytea_output = hex: "\x" and lower-case hex.
void append_bytea(std::string_view bytes, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  for (char c : bytes) {
    const auto b = static_cast<std::uint8_t>(c);
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
}

// charsend: one byte; charout: empty for NUL, \ooo for a byte above 127.
void append_char(std::string_view bytes, std::string& out) {
  const auto c = static_cast<std::uint8_t>(exact(bytes, 1, "\"char\"")[0]);
  if (c == 0) return;
  if (c & 0x80) {
    out += '\\';
    out += static_cast<char>('0' + (c >> 6));
    out += static_cast<char>('0' + ((c >> 3) & 7));
    out += static_cast<char>('0' + (c & 7));
    return;
  }
  out += static_cast<char>(c);
}

void append_array(std::uint32_t type_oid, std::string_view bytes, std::string& out);

void append_value(std::uint32_t type_oid, std::string_view bytes, std::string& out) {
  switch (type_oid) {
    case oid::kBool:
      out += exact(bytes, 1, "boolean")[0] != 0 ? 't' : 'f';
      return;
    case oid::kInt2: return append_integer(static_cast<std::int16_t>(big_endian(exact(bytes, 2, "smallint"))), out);
    case oid::kInt4: return append_integer(static_cast<std::int32_t>(big_endian(exact(bytes, 4, "integer"))), out);
    case oid::kInt8: return append_integer(static_cast<std::int64_t>(big_endian(exact(bytes, 8, "bigint"))), out);
    case oid::kOid: return append_integer(static_cast<std::uint32_t>(big_endian(exact(bytes, 4, "oid"))), out);
    case oid::kFloat4: {
      const auto bits = static_cast<std::uint32_t>(big_endian(exact(bytes, 4, "real")));
      float value;
      std::memcpy(&value, &bits, sizeof value);
      return append_float(value, 6, out);
    }
    case oid::kFloat8: {
      const std::uint64_t bits = big_endian(exact(bytes, 8, "double precision"));
      double value;
      std::memcpy(&value, &bits, sizeof value);
      return append_float(value, 15, out);
    }
    case oid::kNumeric: return append_numeric(bytes, out);
    case oid::kText:
    case oid::kVarchar:
    case oid::kBpchar:
    case oid::kName:
    case oid::kJson:
    case oid::kXml: out.append(bytes); return;
    case oid::kJsonb:
      // jsonb_send: a version byte (1), then the jsonb_out text.
      if (bytes.empty() || bytes[0] != 1) bad("binary jsonb value does not start with version 1");
      out.append(bytes.substr(1));
      return;
    case oid::kChar: return append_char(bytes, out);
    case oid::kUuid: return append_uuid(bytes, out);
    case oid::kBytea: return append_bytea(bytes, out);
    case oid::kDate: return append_date(bytes, out);
    case oid::kTime: return append_time(exact(bytes, 8, "time"), out);
    case oid::kTimeTz: return append_timetz(bytes, out);
    case oid::kTimestamp: return append_timestamp(bytes, false, out);
    case oid::kTimestampTz: return append_timestamp(bytes, true, out);
    default: break;
  }
  if (array_element_type(type_oid) != 0) return append_array(type_oid, bytes, out);
  bad("no binary conversion for type OID " + std::to_string(type_oid) + " (set binary = false)");
}

/// array_out: whether an element's text must be quoted: empty, "NULL" in any
/// case, or holding a quote, backslash, brace, the delimiter or white space.
bool needs_quotes(std::string_view text) {
  if (text.empty()) return true;
  if (text.size() == 4 && (text[0] | 0x20) == 'n' && (text[1] | 0x20) == 'u' && (text[2] | 0x20) == 'l' &&
      (text[3] | 0x20) == 'l') {
    return true;
  }
  return text.find_first_of("\"\\{}, \t\n\r\v\f") != std::string_view::npos;
}

// array_send: int32 ndim, int32 has-nulls flag, element type OID, ndim x
// (int32 length, int32 lower bound), then each element as int32 length (-1:
// NULL) and its send bytes. array_out: nested {..} per dimension, elements
// separated by ',', quoted (with \" and \\) where needed, NULL bare; a lower
// bound other than 1 adds a "[lb:ub]...=" prefix.
void append_array(std::uint32_t type_oid, std::string_view bytes, std::string& out) {
  constexpr int kMaxDims = 6;
  std::size_t at = 0;
  auto int32 = [&](const char* what) {
    if (bytes.size() - at < 4) bad(std::string("binary array ends inside ") + what);
    const auto v = static_cast<std::int32_t>(big_endian(bytes.substr(at, 4)));
    at += 4;
    return v;
  };
  const std::int32_t ndim = int32("the dimension count");
  int32("the null flag");
  const auto element = static_cast<std::uint32_t>(int32("the element type"));
  if (ndim < 0 || ndim > kMaxDims) bad("binary array has " + std::to_string(ndim) + " dimensions");
  if (element != array_element_type(type_oid)) {
    bad("binary array of type OID " + std::to_string(type_oid) + " has elements of type OID " +
        std::to_string(element));
  }
  std::int64_t dims[kMaxDims];
  std::int64_t lower[kMaxDims];
  std::int64_t count = ndim == 0 ? 0 : 1;
  bool plain_bounds = true;
  for (int d = 0; d < ndim; ++d) {
    dims[d] = int32("a dimension");
    lower[d] = int32("a lower bound");
    if (dims[d] < 0) bad("binary array has a negative dimension");
    count *= dims[d];
    // Every element takes at least its 4-byte length.
    if (count > static_cast<std::int64_t>(bytes.size() / 4)) bad("binary array has more elements than bytes");
    plain_bounds = plain_bounds && lower[d] == 1;
  }
  if (count == 0) {
    out += "{}";
    if (at != bytes.size()) bad("binary array has bytes after its last element");
    return;
  }
  if (!plain_bounds) {
    for (int d = 0; d < ndim; ++d) {
      out += '[';
      append_integer(lower[d], out);
      out += ':';
      append_integer(lower[d] + dims[d] - 1, out);
      out += ']';
    }
    out += '=';
  }
  std::int64_t index[kMaxDims] = {};
  std::string text;
  for (int d = 0; d < ndim; ++d) out += '{';
  for (std::int64_t n = 0; n < count; ++n) {
    const std::int32_t length = int32("an element length");
    if (length < -1 || static_cast<std::size_t>(length < 0 ? 0 : length) > bytes.size() - at) {
      bad("binary array element length " + std::to_string(length) + " exceeds the value");
    }
    if (length == -1) {
      out += "NULL";
    } else {
      text.clear();
      append_value(element, bytes.substr(at, static_cast<std::size_t>(length)), text);
      at += static_cast<std::size_t>(length);
      if (needs_quotes(text)) {
        out += '"';
        for (char c : text) {
          if (c == '"' || c == '\\') out += '\\';
          out += c;
        }
        out += '"';
      } else {
        out += text;
      }
    }
    // Close the dimensions this element completes, open the next ones.
    int d = ndim - 1;
    while (d >= 0 && ++index[d] == dims[d]) {
      index[d] = 0;
      out += '}';
      --d;
    }
    if (d >= 0) {
      out += ',';
      for (int k = d + 1; k < ndim; ++k) out += '{';
    }
  }
  if (at != bytes.size()) bad("binary array has bytes after its last element");
}

}  // namespace

void append_binary_as_text(std::uint32_t type_oid, std::string_view bytes, std::string& out) {
  append_value(type_oid, bytes, out);
}

bool has_binary_conversion(std::uint32_t type_oid) {
  switch (type_oid) {
    case oid::kBool: case oid::kInt2: case oid::kInt4: case oid::kInt8: case oid::kOid: case oid::kFloat4:
    case oid::kFloat8: case oid::kNumeric: case oid::kText: case oid::kVarchar: case oid::kBpchar:
    case oid::kName: case oid::kJson: case oid::kXml: case oid::kJsonb: case oid::kChar: case oid::kUuid:
    case oid::kBytea: case oid::kDate: case oid::kTime: case oid::kTimeTz: case oid::kTimestamp:
    case oid::kTimestampTz: return true;
    default: break;
  }
  const std::uint32_t element = array_element_type(type_oid);
  return element != 0 && has_binary_conversion(element);
}

}  // namespace cdc::decode::pgoutput
