#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace cdc::decode::pgoutput {

/// Type OIDs of the built-in types the decoder converts or names specially.
namespace oid {
constexpr std::uint32_t kBool = 16, kBytea = 17, kChar = 18, kName = 19, kInt8 = 20, kInt2 = 21, kInt4 = 23,
                        kText = 25, kOid = 26, kJson = 114, kXml = 142, kFloat4 = 700, kFloat8 = 701,
                        kBpchar = 1042, kVarchar = 1043, kDate = 1082, kTime = 1083, kTimestamp = 1114,
                        kTimestampTz = 1184, kInterval = 1186, kTimeTz = 1266, kBit = 1560, kVarbit = 1562,
                        kNumeric = 1700, kUuid = 2950, kJsonb = 3802;
/// Below this, an OID is built in (FirstNormalObjectId); pgoutput describes
/// the others with a Type message.
constexpr std::uint32_t kFirstUserOid = 16384;
}  // namespace oid

/// The name of built-in type `type_oid` with modifier `typmod` as wal2json v2
/// prints it (format_type_with_typemod: "character varying(255)",
/// "numeric(10,2)", "timestamp with time zone", "text[]"), or nullopt for an
/// OID this table does not know.
std::optional<std::string> builtin_type_name(std::uint32_t type_oid, std::int32_t typmod);

/// The element type of built-in array type `type_oid`, 0 when it is none.
std::uint32_t array_element_type(std::uint32_t type_oid);

/// How wal2json v2 turns a type's output text into a JSON value, by type OID.
enum class ValueRule : std::uint8_t {
  Number,  ///< int2/4/8, oid, float4/8, numeric: a JSON number; NaN and ±Infinity become null
  Bool,    ///< boolean: "t" is true, anything else false
  Bytea,   ///< bytea: the hex text without its leading "\x"
  String,  ///< everything else: the text as a string
};
ValueRule value_rule(std::uint32_t type_oid);

}  // namespace cdc::decode::pgoutput
