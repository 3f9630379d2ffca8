#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cdc::decode::pgoutput {

/// A binary value that is malformed or of a type without a conversion.
class BinaryValueError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Appends to `out` the text PostgreSQL's output function of `type_oid` prints
/// for the value its send function wrote as `bytes` (pgoutput binary mode),
/// in the session settings the stream pins (DateStyle ISO, TimeZone UTC,
/// extra_float_digits 1, bytea_output hex): numeric, integers, floats,
/// boolean, text types, json, jsonb, uuid, bytea, date, time(tz),
/// timestamp(tz) and arrays of them. Throws BinaryValueError.
void append_binary_as_text(std::uint32_t type_oid, std::string_view bytes, std::string& out);

/// Whether append_binary_as_text converts values of `type_oid`.
bool has_binary_conversion(std::uint32_t type_oid);

}  // namespace cdc::decode::pgoutput
