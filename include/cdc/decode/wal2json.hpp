#pragma once
#include <stdexcept>
#include <string>
#include <string_view>

#include "cdc/core/errors.hpp"
#include "cdc/decode/change.hpp"

namespace cdc::decode {

/// A wal2json message that cannot be decoded. what() names the WAL position
/// and quotes the start of the raw message.
class DecodeError : public CategorizedError<ErrorCategory::Poison> {
 public:
  DecodeError(const std::string& reason, Lsn wal_position, std::string_view raw);
  const std::string& reason() const { return reason_; }
  Lsn wal_position() const { return wal_position_; }

 private:
  std::string reason_;
  Lsn wal_position_;
};

/// Decodes one wal2json format-version 2 message (options include-xids,
/// include-timestamp, include-lsn). wal_position is the XLogData start of the
/// message, used only in errors. Throws DecodeError.
Change decode_wal2json(std::string_view json, Lsn wal_position);

/// The same into an existing Change, overwriting every field; the strings of
/// its columns keep their capacity, so decoding into recycled Changes of the
/// same table allocates (almost) nothing. On DecodeError `change` holds an
/// unspecified mix of old and new values.
void decode_wal2json(std::string_view json, Lsn wal_position, Change& change);

/// A row change as a wal2json v2 message (action, lsn, schema, table,
/// columns, identity), to show a change that decoded but could not be used.
std::string encode_wal2json(const Change& change);

/// Parses wal2json's timestamptz text ("2026-11-25 07:13:13.879926+00",
/// offsets like "+05:30" or "-08") into microseconds since the Unix epoch.
std::optional<std::int64_t> parse_pg_timestamp(std::string_view text);

}  // namespace cdc::decode
