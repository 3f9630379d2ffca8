#include "cdc/decode/change.hpp"

namespace cdc::decode {

namespace {

const Column* find_column(const std::vector<Column>& columns, std::string_view name) {
  for (const Column& column : columns) {
    if (column.name == name) return &column;
  }
  return nullptr;
}

}  // namespace

const Column* Change::column(std::string_view name) const { return find_column(columns, name); }

const Column* Change::old_column(std::string_view name) const { return find_column(identity, name); }

}  // namespace cdc::decode
