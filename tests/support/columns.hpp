#pragma once
// Builders for hand-made decode::Column / decode::Change values in unit tests.
//
//   row_change(Action::Update, "customer", {uuid_column(kUuid), number_column("plan_id", "2")},
//              {uuid_column(kUuid), null_column("plan_id", "bigint")});

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cdc/core/lsn.hpp"
#include "cdc/decode/change.hpp"

namespace cdc::testing {

using decode::Action;
using decode::Change;
using decode::Column;

inline decode::Column number_column(std::string name, std::string text, std::string type = "bigint") {
  return {std::move(name), std::move(type), decode::ValueKind::Number, std::move(text)};
}

inline decode::Column text_column(std::string name, std::string text, std::string type = "text") {
  return {std::move(name), std::move(type), decode::ValueKind::String, std::move(text)};
}

inline decode::Column bool_column(std::string name, bool value, std::string type = "boolean") {
  return {std::move(name), std::move(type), decode::ValueKind::Bool, value ? "true" : "false"};
}

inline decode::Column null_column(std::string name, std::string type) {
  return {std::move(name), std::move(type), decode::ValueKind::Null, ""};
}

inline decode::Column uuid_column(std::string value, std::string name = "uuid") {
  return text_column(std::move(name), std::move(value), "uuid");
}

/// A jsonb column; SQL NULL for nullopt.
inline decode::Column jsonb_column(std::string name, const std::optional<std::string>& json) {
  return json ? text_column(std::move(name), *json, "jsonb") : null_column(std::move(name), "jsonb");
}

/// A bigint column; SQL NULL for nullopt.
inline decode::Column bigint_column(std::string name, const std::optional<std::string>& text) {
  return text ? number_column(std::move(name), *text) : null_column(std::move(name), "bigint");
}

/// A row change (I/U/D/T) of public.<table>.
inline decode::Change row_change(decode::Action action, std::string table, std::vector<decode::Column> columns,
                                 std::vector<decode::Column> identity = {}, Lsn lsn = 0, std::uint32_t xid = 0) {
  decode::Change change;
  change.action = action;
  change.xid = xid;
  change.lsn = lsn;
  change.schema = "public";
  change.table = std::move(table);
  change.columns = std::move(columns);
  change.identity = std::move(identity);
  return change;
}

}  // namespace cdc::testing
