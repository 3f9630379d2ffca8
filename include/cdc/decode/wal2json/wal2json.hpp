#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "cdc/decode/change.hpp"
#include "cdc/decode/decoder.hpp"

namespace cdc::decode {

/// wal2json format-version 2 (one JSON object per action, with include-xids,
/// include-timestamp, include-lsn and include-transaction).
class Wal2jsonDecoder : public Decoder {
 public:
  std::string_view plugin() const override { return "wal2json"; }
  PluginOptions start_options(const std::vector<std::string>& tables) const override;
  /// One message is one Change (B, C, I, U, D, T or M).
  void decode(std::string_view payload, Lsn wal_position, ChangeOutput& out) override;
  bool bounds_transaction(std::string_view payload) const override;
  /// The change as a wal2json v2 message (describe_change).
  std::string describe(const Change& change) const override;
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

/// wal2json options for START_REPLICATION of the given tables.
PluginOptions wal2json_options(const std::vector<std::string>& tables);

/// Whether a wal2json message (decodable or not) is a transaction's begin or
/// commit, from the "action" wal2json writes first.
bool is_transaction_frame(std::string_view payload);

}  // namespace cdc::decode
