#pragma once
#include <string>
#include <vector>

namespace cdc::app {

struct SchemaFile {
  std::string name;
  std::string sql;
};

/// schema/*.sql as compiled into the binary, in name order.
const std::vector<SchemaFile>& embedded_schema();

}  // namespace cdc::app
