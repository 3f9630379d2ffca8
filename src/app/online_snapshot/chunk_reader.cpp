#include "chunk_reader.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace cdc::app {

ChunkReader::ChunkReader(pg::Connection& conn, std::string table, std::optional<std::string> where)
    : conn_(conn), table_(std::move(table)) {
  std::tie(schema_name_, table_name_) = pg::split_table_name(table_);
  columns_ = table_columns(conn_, table_);
  const pg::Result keys = conn_.exec_params(
      "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
      "WHERE i.indisprimary AND i.indrelid = $1::regclass ORDER BY array_position(i.indkey::int2[], a.attnum)",
      {table_});
  for (int row = 0; row < keys.rows(); ++row) key_columns_.emplace_back(keys.value(row, 0));
  if (key_columns_.empty()) {
    throw std::runtime_error(fmt::format("{} has no primary key: an online snapshot reads in key order", table_));
  }
  std::string keys_list;
  std::string after_params;
  for (std::size_t i = 0; i < key_columns_.size(); ++i) {
    const auto column = std::find_if(columns_.begin(), columns_.end(),
                                     [&](const TableColumn& c) { return c.name == key_columns_[i]; });
    if (i > 0) {
      keys_list += ", ";
      after_params += ", ";
    }
    keys_list += conn_.quote_identifier(key_columns_[i]);
    after_params += fmt::format("${}::{}", i + 1, column->type);
  }
  const std::string from = fmt::format("SELECT {} FROM {}.{}", select_list(conn_, columns_),
                                       conn_.quote_identifier(schema_name_), conn_.quote_identifier(table_name_));
  const std::string condition = where ? fmt::format("({}) AND ", *where) : "";
  first_sql_ = fmt::format("{} WHERE {}true ORDER BY {} LIMIT $LIMIT", from, condition, keys_list);
  after_sql_ = fmt::format("{} WHERE {}({}) > ({}) ORDER BY {} LIMIT $LIMIT", from, condition, keys_list,
                           after_params, keys_list);
}

pipeline::SnapshotChunk ChunkReader::chunk(std::uint64_t id) const {
  return {id, schema_name_, table_name_, key_columns_, {}, {}};
}

ChunkRead ChunkReader::read(const std::optional<std::vector<std::string>>& after, int limit) {
  std::string sql = after ? after_sql_ : first_sql_;
  sql.replace(sql.find("$LIMIT"), 6, std::to_string(limit));
  pg::Params params;
  if (after) {
    for (const auto& value : *after) params.emplace_back(value);
  }
  // Read only: the --where condition is the requester's SQL, run with the
  // daemon's privileges. Repeatable read: the first statement takes the
  // snapshot the SELECT reads with, and tells the transactions it does not see.
  conn_.exec("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
  std::optional<pg::Result> invisible;
  std::optional<pg::Result> selected;
  try {
    invisible.emplace(conn_.exec("SELECT (x::text::bigint % 4294967296)::text FROM pg_snapshot_xip(pg_current_snapshot()) x"));
    selected.emplace(conn_.exec_params(sql, params));
    conn_.exec("COMMIT");
  } catch (const pg::Error&) {
    if (PQtransactionStatus(conn_.get()) == PQTRANS_INERROR) conn_.exec("ROLLBACK");
    throw;
  }
  ChunkRead read;
  for (int row = 0; row < invisible->rows(); ++row) {
    read.invisible_xids.push_back(static_cast<std::uint32_t>(std::stoul(std::string(invisible->value(row, 0)))));
  }
  const pg::Result& result = *selected;
  read.rows.resize(static_cast<std::size_t>(result.rows()));
  for (int row = 0; row < result.rows(); ++row) {
    decode::Change& change = read.rows[static_cast<std::size_t>(row)];
    change.action = decode::Action::Read;
    change.snapshot = decode::SnapshotMarker::Incremental;
    change.schema = schema_name_;
    change.table = table_name_;
    read_row(change, columns_, result, row);
  }
  return read;
}

std::vector<std::string> ChunkReader::key_of(const decode::Change& row) const {
  std::vector<std::string> key;
  for (const auto& name : key_columns_) key.push_back(row.column(name)->text);
  return key;
}

}  // namespace cdc::app
