#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cdc::decode::pgoutput {

/// PostgreSQL's timestamp range (timestamp_recv) in microseconds since
/// 2000-01-01 00:00: from 4714-11-24 00:00 BC up to (not including) 294277-01-01.
constexpr std::int64_t kMinTimestamp = -211'813'488'000'000'000;
constexpr std::int64_t kEndTimestamp = 9'223'371'331'200'000'000;

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
