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

void fill_unchanged_toast(Change& change) {
  auto& columns = change.columns;
  const std::size_t original = columns.size();
  if (change.identity.size() > original) columns.reserve(change.identity.size());
  for (std::size_t i = 0; i < change.identity.size(); ++i) {
    const Column& old = change.identity[i];
    // Under REPLICA IDENTITY FULL both tuples list columns in table order, so
    // the positional guess almost always hits.
    if (i < original && columns[i].name == old.name) continue;
    bool present = false;
    for (std::size_t k = 0; k < original; ++k) {
      if (columns[k].name == old.name) {
        present = true;
        break;
      }
    }
    if (!present) columns.push_back(old);
  }
}

}  // namespace cdc::decode
