#include "type_names.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace cdc::decode::pgoutput {
namespace {

/// How format_type() prints a type's modifier.
enum class Typmod : std::uint8_t {
  None,       ///< no modifier is printed
  Length,     ///< "(n)" from typmod - 4 (character, character varying)
  Bits,       ///< "(n)" from typmod (bit, bit varying)
  Numeric,    ///< "(p,s)"
  Precision,  ///< "(p)" from typmod, inserted before " with(out) time zone"
  Interval,   ///< "(p)" from the low 16 bits (0xFFFF: none); field restrictions are not printed
};

struct BuiltinType {
  std::uint32_t oid;
  std::string_view name;
  Typmod typmod = Typmod::None;
  std::uint32_t element = 0;  ///< for array types: the element type
};

// Names as format_type_with_typemod() prints them; where it quotes a name
// ("char") wal2json writes the quoted identifier as its JSON string, i.e. bare.
constexpr BuiltinType kTypes[] = {
    {16, "boolean"}, {17, "bytea"}, {18, "char"}, {19, "name"}, {20, "bigint"}, {21, "smallint"},
    {22, "int2vector"}, {23, "integer"}, {24, "regproc"}, {25, "text"}, {26, "oid"}, {27, "tid"}, {28, "xid"},
    {29, "cid"}, {30, "oidvector"}, {114, "json"}, {142, "xml"}, {194, "pg_node_tree"}, {600, "point"},
    {601, "lseg"}, {602, "path"}, {603, "box"}, {604, "polygon"}, {628, "line"}, {650, "cidr"}, {700, "real"},
    {701, "double precision"}, {718, "circle"}, {774, "macaddr8"}, {790, "money"}, {829, "macaddr"},
    {869, "inet"}, {1042, "character", Typmod::Length}, {1043, "character varying", Typmod::Length},
    {1082, "date"}, {1083, "time without time zone", Typmod::Precision},
    {1114, "timestamp without time zone", Typmod::Precision},
    {1184, "timestamp with time zone", Typmod::Precision}, {1186, "interval", Typmod::Interval},
    {1266, "time with time zone", Typmod::Precision}, {1560, "bit", Typmod::Bits},
    {1562, "bit varying", Typmod::Bits}, {1700, "numeric", Typmod::Numeric}, {1790, "refcursor"},
    {2202, "regprocedure"}, {2203, "regoper"}, {2204, "regoperator"}, {2205, "regclass"}, {2206, "regtype"},
    {2950, "uuid"}, {2970, "txid_snapshot"}, {3220, "pg_lsn"}, {3614, "tsvector"}, {3615, "tsquery"},
    {3734, "regconfig"}, {3769, "regdictionary"}, {3802, "jsonb"}, {3904, "int4range"}, {3906, "numrange"},
    {3908, "tsrange"}, {3910, "tstzrange"}, {3912, "daterange"}, {3926, "int8range"}, {4072, "jsonpath"},
    {4089, "regnamespace"}, {4096, "regrole"}, {4191, "regcollation"}, {5038, "pg_snapshot"}, {5069, "xid8"},
    // arrays
    {1000, "", Typmod::None, 16}, {1001, "", Typmod::None, 17}, {1002, "", Typmod::None, 18},
    {1003, "", Typmod::None, 19}, {1005, "", Typmod::None, 21}, {1007, "", Typmod::None, 23},
    {1009, "", Typmod::None, 25}, {1028, "", Typmod::None, 26}, {1016, "", Typmod::None, 20},
    {199, "", Typmod::None, 114}, {143, "", Typmod::None, 142}, {1021, "", Typmod::None, 700},
    {1022, "", Typmod::None, 701}, {1014, "", Typmod::None, 1042}, {1015, "", Typmod::None, 1043},
    {1182, "", Typmod::None, 1082}, {1183, "", Typmod::None, 1083}, {1115, "", Typmod::None, 1114},
    {1185, "", Typmod::None, 1184}, {1187, "", Typmod::None, 1186}, {1270, "", Typmod::None, 1266},
    {1561, "", Typmod::None, 1560}, {1563, "", Typmod::None, 1562}, {1231, "", Typmod::None, 1700},
    {2951, "", Typmod::None, 2950}, {3807, "", Typmod::None, 3802}, {791, "", Typmod::None, 790},
    {1040, "", Typmod::None, 829}, {775, "", Typmod::None, 774}, {1041, "", Typmod::None, 869},
    {651, "", Typmod::None, 650}, {1017, "", Typmod::None, 600}, {1018, "", Typmod::None, 601},
    {1019, "", Typmod::None, 602}, {1020, "", Typmod::None, 603}, {1027, "", Typmod::None, 604},
    {629, "", Typmod::None, 628}, {719, "", Typmod::None, 718}, {3221, "", Typmod::None, 3220},
    {3643, "", Typmod::None, 3614}, {3645, "", Typmod::None, 3615}, {4073, "", Typmod::None, 4072},
    {1010, "", Typmod::None, 27}, {1011, "", Typmod::None, 28}, {1012, "", Typmod::None, 29},
    {1006, "", Typmod::None, 22}, {1013, "", Typmod::None, 30}, {2210, "", Typmod::None, 2205},
    {2211, "", Typmod::None, 2206}, {3905, "", Typmod::None, 3904}, {3907, "", Typmod::None, 3906},
    {3909, "", Typmod::None, 3908}, {3911, "", Typmod::None, 3910}, {3913, "", Typmod::None, 3912},
    {3927, "", Typmod::None, 3926}, {271, "", Typmod::None, 5069}
};

const BuiltinType* find(std::uint32_t type_oid) {
  const auto it = std::find_if(std::begin(kTypes), std::end(kTypes),
                               [&](const BuiltinType& t) { return t.oid == type_oid; });
  return it == std::end(kTypes) ? nullptr : &*it;
}

std::string with_typmod(const BuiltinType& type, std::int32_t typmod) {
  std::string name(type.name);
  if (typmod < 0) {
    // format_type: bpchar without a length is not "character" (that means character(1)).
    if (type.oid == oid::kBpchar) return "bpchar";
    return name;
  }
  switch (type.typmod) {
    case Typmod::None: return name;
    case Typmod::Length: return name + "(" + std::to_string(typmod - 4) + ")";
    case Typmod::Bits: return name + "(" + std::to_string(typmod) + ")";
    case Typmod::Interval: {
      // intervaltypmodout; INTERVAL YEAR TO MONTH and the like are not told apart.
      const int precision = typmod & 0xFFFF;
      return precision == 0xFFFF ? name : name + "(" + std::to_string(precision) + ")";
    }
    case Typmod::Numeric: {
      const std::int32_t packed = typmod - 4;
      const int precision = (packed >> 16) & 0xFFFF;
      const int scale = ((packed & 0x7FF) ^ 1024) - 1024;  // 11-bit signed (PostgreSQL 15)
      return name + "(" + std::to_string(precision) + "," + std::to_string(scale) + ")";
    }
    case Typmod::Precision: {
      const std::string precision = "(" + std::to_string(typmod) + ")";
      const auto space = name.find(' ');
      return name.substr(0, space) + precision + name.substr(space);
    }
  }
  return name;
}

}  // namespace

std::optional<std::string> builtin_type_name(std::uint32_t type_oid, std::int32_t typmod) {
  const BuiltinType* type = find(type_oid);
  if (type == nullptr) return std::nullopt;
  if (type->element == 0) return with_typmod(*type, typmod);
  const BuiltinType* element = find(type->element);
  if (element == nullptr || element->element != 0) return std::nullopt;
  // wal2json writes a quoted identifier as is when it is not an array: "char"
  // bare, but "\"char\"[]" with its quotes.
  if (element->oid == oid::kChar) return std::string("\"char\"[]");
  return with_typmod(*element, typmod) + "[]";
}

std::uint32_t array_element_type(std::uint32_t type_oid) {
  const BuiltinType* type = find(type_oid);
  return type == nullptr ? 0 : type->element;
}

ValueRule value_rule(std::uint32_t type_oid) {
  switch (type_oid) {
    case oid::kInt2:
    case oid::kInt4:
    case oid::kInt8:
    case oid::kOid:
    case oid::kFloat4:
    case oid::kFloat8:
    case oid::kNumeric: return ValueRule::Number;
    case oid::kBool: return ValueRule::Bool;
    case oid::kBytea: return ValueRule::Bytea;
    default: return ValueRule::String;
  }
}

}  // namespace cdc::decode::pgoutput
