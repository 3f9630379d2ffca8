#pragma once
#include <string_view>

#include "cdc/sinks/change_columns.hpp"

namespace cdc::sinks {

/// require_column with the rollups' message for a missing column.
inline const decode::Column& require_rollup_column(const decode::Change& change, Tuple tuple, std::string_view name) {
  return require_column(change, tuple, name,
                        "{table} change at LSN {lsn} has no column '{column}' (is REPLICA IDENTITY FULL set?)");
}

}  // namespace cdc::sinks
