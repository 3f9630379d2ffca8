#pragma once
// Rows of a captured table read with SELECT, as the stream would decode them:
// shared by the offline snapshot and the online snapshot's chunks.
#include <string>
#include <vector>

#include "cdc/core/pg.hpp"
#include "cdc/decode/change.hpp"

namespace cdc::app {

struct TableColumn {
  std::string name;
  std::string type;  ///< format_type(), as the decoders name column types
};

/// The table's columns in attribute order.
std::vector<TableColumn> table_columns(pg::Connection& conn, const std::string& table);

/// The quoted column names, comma-separated, for a SELECT list.
std::string select_list(const pg::Connection& conn, const std::vector<TableColumn>& columns);

/// One value of a SELECT as the stream would decode it.
decode::Column column_value(const TableColumn& column, const pg::Result& result, int row, int col);

/// Fills change.columns from one row of a SELECT of `columns`.
void read_row(decode::Change& change, const std::vector<TableColumn>& columns, const pg::Result& result, int row);

}  // namespace cdc::app
