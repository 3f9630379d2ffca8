// Binary values of pgoutput's binary mode ('b' tuple columns) as the text the
// type's output function prints, so that binary and text mode yield the same
// Change. Each conversion follows the PostgreSQL 15 send/out pair named above it.
#include "binary_values.hpp"

#include "binary_parts.hpp"
#include "type_names.hpp"

namespace cdc::decode::pgoutput {
namespace {

using namespace binary;

constexpr char kHex[] = "0123456789abcdef";

// uuid_send: 16 bytes; uuid_out: lower-case hex in 8-4-4-4-12 groups.
void append_uuid(std::string_view bytes, std::string& out) {
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
    case oid::kFloat4: return append_float4(bytes, out);
    case oid::kFloat8: return append_float8(bytes, out);
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
