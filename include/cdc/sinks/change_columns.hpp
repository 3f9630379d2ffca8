#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "cdc/decode/change.hpp"
#include "cdc/domain/captured_schema.hpp"

namespace cdc::sinks {

/// The tuple of a change a column is read from.
enum class Tuple { New, Old };

/// True when `change` is a change of `table`.
inline bool is_table(const decode::Change& change, const domain::TableName& table) {
  return change.table == table.name && change.schema == table.schema;
}

/// Column `name` of the new or old tuple of `change`. When it is absent,
/// throws MappingError with `missing` formatted with the named arguments
/// {table} ("schema.table"), {lsn}, {column} and {tuple} ("new" or "old").
const decode::Column& require_column(const decode::Change& change, Tuple tuple, std::string_view name,
                                     std::string_view missing);

/// A bigint column of `change`; nullopt for NULL. Throws MappingError when
/// its text is not a bigint.
std::optional<std::int64_t> bigint_of(const decode::Column& column, const decode::Change& change);

}  // namespace cdc::sinks
