#include "cdc/decode/pg_types.hpp"

namespace cdc::decode {

TypeClass type_class(std::string_view type) {
  // Most columns are none of the special types: decide on the first letter
  // (this runs for every value of every envelope).
  switch (type.empty() ? '\0' : type[0]) {
    case 'b':
      if (type == "bigint") return TypeClass::Integer;
      if (type == "boolean") return TypeClass::Bool;
      return TypeClass::Other;
    case 'i':
      return type == "integer" ? TypeClass::Integer : TypeClass::Other;
    case 's':
      return type == "smallint" ? TypeClass::Integer : TypeClass::Other;
    case 'o':
      return type == "oid" ? TypeClass::Integer : TypeClass::Other;
    case 'd':
      return type == "double precision" ? TypeClass::Float : TypeClass::Other;
    case 'r':
      return type == "real" ? TypeClass::Float : TypeClass::Other;
    case 'n':
      return type.starts_with("numeric") && !type.ends_with("[]") ? TypeClass::Numeric : TypeClass::Other;
    case 't':
      return type.starts_with("timestamp") && type.ends_with("with time zone") ? TypeClass::TimestampTz
                                                                                : TypeClass::Other;
    default:
      return TypeClass::Other;
  }
}

}  // namespace cdc::decode
