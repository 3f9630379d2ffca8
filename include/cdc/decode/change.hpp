#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cdc/core/lsn.hpp"

namespace cdc::decode {

/// What a decoded message is. The letters are those of wal2json v2 and of
/// pgoutput's message types where they agree.
enum class Action : char {
  Begin = 'B',
  Commit = 'C',
  Insert = 'I',
  Update = 'U',
  Delete = 'D',
  Truncate = 'T',
  Message = 'M',  ///< a logical decoding message (pg_logical_emit_message)
  Read = 'R',     ///< a snapshot read of an existing row (columns only)
};

/// How a column value reads as text, whatever the plugin sent. Numbers keep
/// their exact source text (numeric, bigint, float), strings are unescaped,
/// booleans are "true"/"false".
enum class ValueKind : std::uint8_t { Null, Bool, Number, String };

struct Column {
  std::string name;
  std::string type;  ///< PostgreSQL type name as format_type() prints it, e.g. "jsonb", "bigint", "numeric(14,2)"
  ValueKind kind = ValueKind::Null;
  std::string text;  ///< empty for Null

  bool is_null() const { return kind == ValueKind::Null; }
  bool operator==(const Column&) const = default;
};

/// Where a snapshot read stands in its snapshot (Debezium's source.snapshot):
/// an initial or offline snapshot marks the first and last rows of the
/// snapshot and of each table; every read of an online (incremental)
/// snapshot is Incremental.
enum class SnapshotMarker : std::uint8_t { True, First, FirstInTable, LastInTable, Last, Incremental };

/// One decoded message, whichever output plugin sent it.
struct Change {
  Action action = Action::Begin;
  std::uint32_t xid = 0;             ///< 0 when the plugin gave none (non-transactional message)
  /// Begin and Commit: the commit LSN (start of the commit record); row
  /// changes: the LSN of the change's WAL record.
  Lsn lsn = 0;
  /// Begin and Commit: end of the commit record, the position to acknowledge;
  /// 0 at Begin when the plugin tells it only at Commit.
  Lsn next_lsn = 0;
  std::int64_t timestamp_us = 0;     ///< commit time, microseconds since the Unix epoch (UTC)
  std::string schema;                ///< I/U/D/T
  std::string table;                 ///< I/U/D/T
  std::vector<Column> columns;       ///< new tuple (I/U); unchanged TOAST columns filled from identity
  std::vector<Column> identity;      ///< old tuple (U/D); all columns under REPLICA IDENTITY FULL
  bool transactional = false;        ///< M
  std::string prefix;                ///< M
  std::string content;               ///< M
  SnapshotMarker snapshot = SnapshotMarker::True;  ///< R

  /// Column of the new tuple by name, or nullptr.
  const Column* column(std::string_view name) const;
  /// Column of the old tuple by name, or nullptr.
  const Column* old_column(std::string_view name) const;

  bool is_row_change() const {
    return action == Action::Insert || action == Action::Update || action == Action::Delete;
  }

  /// Empties what a recycled Change carries besides its action, positions
  /// and column vectors (which decoders reuse for their strings' capacity):
  /// the relation names and the logical message fields.
  void clear_relation_and_message() {
    schema.clear();
    table.clear();
    transactional = false;
    prefix.clear();
    content.clear();
  }
};

/// Output plugins leave unchanged TOASTed columns out of an UPDATE's new
/// tuple: takes them from the old tuple (`identity`), appended after the
/// new tuple's columns, so that `columns` is the full row. Every decoder
/// does it the same way, so sinks see the same column order.
void fill_unchanged_toast(Change& change);

/// A change as one JSON line in wal2json v2's layout (action, xid, timestamp,
/// lsn, schema, table, columns, identity): how errors and dead letters show a
/// change that decoded but could not be taken, whichever plugin sent it.
std::string describe_change(const Change& change);

}  // namespace cdc::decode
