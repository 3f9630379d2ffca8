#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../table_rows.hpp"
#include "cdc/core/pg.hpp"
#include "cdc/pipeline/snapshot_chunks.hpp"

namespace cdc::app {

/// One chunk's SELECT: its rows, and the transactions its snapshot did not see.
struct ChunkRead {
  std::vector<decode::Change> rows;
  std::vector<std::uint32_t> invisible_xids;  ///< low 32 bits
};

/// Reads one table in chunks in primary key order (keyset pagination), with
/// an optional SQL condition, as snapshot reads.
class ChunkReader {
 public:
  /// Throws std::runtime_error when the table has no primary key.
  ChunkReader(pg::Connection& conn, std::string table, std::optional<std::string> where);

  /// Chunk `id` of this table, without its rows.
  pipeline::SnapshotChunk chunk(std::uint64_t id) const;
  /// Up to `limit` rows with keys after `after` (nullopt: from the first), in key order.
  ChunkRead read(const std::optional<std::vector<std::string>>& after, int limit);

  /// The primary key values of a row the reader returned.
  std::vector<std::string> key_of(const decode::Change& row) const;

  const std::string& table() const { return table_; }

 private:
  pg::Connection& conn_;
  std::string table_;
  std::string schema_name_;
  std::string table_name_;
  std::vector<TableColumn> columns_;
  std::vector<std::string> key_columns_;
  std::string first_sql_;  ///< the first chunk
  std::string after_sql_;  ///< later chunks: $1.. are the last key
};

}  // namespace cdc::app
