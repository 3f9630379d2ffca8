#pragma once
#include <cstdint>
#include <string_view>

namespace cdc::decode {

/// The classes of PostgreSQL types the pipeline treats differently, by the
/// type name format_type() prints (what Column::type holds). One table for
/// the decoders, the snapshot reader and the envelope builder.
enum class TypeClass : std::uint8_t {
  Integer,      ///< smallint, integer, bigint, oid
  Float,        ///< real, double precision
  Numeric,      ///< numeric, numeric(p,s)
  Bool,         ///< boolean
  TimestampTz,  ///< timestamp with time zone, timestamp(n) with time zone
  Other,        ///< text, varchar, uuid, jsonb, bytea, arrays, ...
};

TypeClass type_class(std::string_view type_name);

/// Integer, Float or Numeric: its values read as numbers (Infinity and NaN aside).
inline bool is_number_class(TypeClass type) {
  return type == TypeClass::Integer || type == TypeClass::Float || type == TypeClass::Numeric;
}

}  // namespace cdc::decode
