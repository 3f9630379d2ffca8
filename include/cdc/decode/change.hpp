#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cdc/core/lsn.hpp"

namespace cdc::decode {

/// wal2json v2 "action" field.
enum class Action : char {
  Begin = 'B',
  Commit = 'C',
  Insert = 'I',
  Update = 'U',
  Delete = 'D',
  Truncate = 'T',
  Message = 'M',
  Read = 'R',  ///< a snapshot read of an existing row (columns only)
};

/// How wal2json rendered a column value. Numbers keep their exact source text
/// (numeric, bigint, float), strings are unescaped, booleans are "true"/"false".
enum class ValueKind : std::uint8_t { Null, Bool, Number, String };

struct Column {
  std::string name;
  std::string type;  ///< PostgreSQL type name as wal2json prints it, e.g. "jsonb", "bigint"
  ValueKind kind = ValueKind::Null;
  std::string text;  ///< empty for Null

  bool is_null() const { return kind == ValueKind::Null; }
  bool operator==(const Column&) const = default;
};

/// One decoded wal2json v2 message.
struct Change {
  Action action = Action::Begin;
  std::uint32_t xid = 0;             ///< 0 when wal2json gave none (non-transactional message)
  Lsn lsn = 0;                       ///< "lsn": commit LSN for B/C, record LSN for row changes
  Lsn next_lsn = 0;                  ///< "nextlsn" for B/C: end of the commit record
  std::int64_t timestamp_us = 0;     ///< commit time, microseconds since the Unix epoch (UTC)
  std::string schema;                ///< I/U/D/T
  std::string table;                 ///< I/U/D/T
  std::vector<Column> columns;       ///< new tuple (I/U); unchanged TOAST columns filled from identity
  std::vector<Column> identity;      ///< old tuple (U/D); all columns under REPLICA IDENTITY FULL
  bool transactional = false;        ///< M
  std::string prefix;                ///< M
  std::string content;               ///< M

  /// Column of the new tuple by name, or nullptr.
  const Column* column(std::string_view name) const;
  /// Column of the old tuple by name, or nullptr.
  const Column* old_column(std::string_view name) const;

  bool is_row_change() const {
    return action == Action::Insert || action == Action::Update || action == Action::Delete;
  }
};

}  // namespace cdc::decode
