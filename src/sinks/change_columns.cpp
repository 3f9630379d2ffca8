#include "cdc/sinks/change_columns.hpp"

#include <charconv>

#include <fmt/format.h>

#include "cdc/sinks/mapping_error.hpp"

namespace cdc::sinks {

const decode::Column& require_column(const decode::Change& change, Tuple tuple, std::string_view name,
                                     std::string_view missing) {
  const decode::Column* column = tuple == Tuple::New ? change.column(name) : change.old_column(name);
  if (column == nullptr) {
    throw MappingError(fmt::format(fmt::runtime(missing), fmt::arg("table", change.schema + "." + change.table),
                                   fmt::arg("lsn", format_lsn(change.lsn)), fmt::arg("column", name),
                                   fmt::arg("tuple", tuple == Tuple::New ? "new" : "old")));
  }
  return *column;
}

std::optional<std::int64_t> bigint_of(const decode::Column& column, const decode::Change& change) {
  if (column.is_null()) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(column.text.data(), column.text.data() + column.text.size(), value);
  if (ec != std::errc() || end != column.text.data() + column.text.size()) {
    throw MappingError(fmt::format("column {} at LSN {} is not a bigint: '{}'", column.name,
                                   format_lsn(change.lsn), column.text));
  }
  return value;
}

}  // namespace cdc::sinks
