#include "table_rows.hpp"

#include "cdc/core/json_number.hpp"
#include "cdc/decode/pg_types.hpp"

namespace cdc::app {

std::vector<TableColumn> table_columns(pg::Connection& conn, const std::string& table) {
  const pg::Result result = conn.exec_params(
      "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
      "WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
      {table});
  std::vector<TableColumn> columns;
  for (int row = 0; row < result.rows(); ++row) {
    columns.push_back({std::string(result.value(row, 0)), std::string(result.value(row, 1))});
  }
  return columns;
}

std::string select_list(const pg::Connection& conn, const std::vector<TableColumn>& columns) {
  std::string select;
  for (const auto& column : columns) {
    if (!select.empty()) select += ", ";
    select += conn.quote_identifier(column.name);
  }
  return select;
}

decode::Column column_value(const TableColumn& column, const pg::Result& result, int row, int col) {
  decode::Column value{column.name, column.type, decode::ValueKind::Null, {}};
  if (result.is_null(row, col)) return value;
  value.text = result.value(row, col);
  if (column.type == "boolean") {
    value.kind = decode::ValueKind::Bool;
    value.text = value.text == "t" ? "true" : "false";
  } else if (decode::is_number_class(decode::type_class(column.type)) && canonical_number(value.text)) {
    value.kind = decode::ValueKind::Number;  // NaN / Infinity stay strings
  } else {
    value.kind = decode::ValueKind::String;
  }
  return value;
}

void read_row(decode::Change& change, const std::vector<TableColumn>& columns, const pg::Result& result, int row) {
  change.columns.clear();
  for (std::size_t col = 0; col < columns.size(); ++col) {
    change.columns.push_back(column_value(columns[col], result, row, static_cast<int>(col)));
  }
}

}  // namespace cdc::app
