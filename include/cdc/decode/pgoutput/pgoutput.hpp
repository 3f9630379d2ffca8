#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cdc/decode/decoder.hpp"

namespace cdc::decode {

namespace pgoutput {
class RelationCache;
class WireReader;
}  // namespace pgoutput

/// Whether binary mode converts values of type `type_oid` to text (a column
/// of another type is a DecodeError with binary = true; `check` lists them).
bool pgoutput_binary_converts(std::uint32_t type_oid);

/// PostgreSQL's built-in pgoutput plugin, protocol version 1, in text or
/// binary mode, with logical messages; with `streaming`, protocol version 2
/// and its streamed in-progress transactions (ChangeOutput::streamed_*). Changes equal what Wal2jsonDecoder
/// makes of the same WAL (type names, value kinds and text, unchanged TOAST
/// columns, one Change per truncated table), except that pgoutput sends
/// nothing for a transaction without published changes and tells the end LSN
/// only at COMMIT (Begin's next_lsn is 0).
class PgoutputDecoder : public Decoder {
 public:
  explicit PgoutputDecoder(const DecoderSettings& settings);
  ~PgoutputDecoder() override;
  PgoutputDecoder(const PgoutputDecoder&) = delete;
  PgoutputDecoder& operator=(const PgoutputDecoder&) = delete;

  std::string_view plugin() const override { return "pgoutput"; }
  /// proto_version 1 (2 with streaming), publication_names (the publication
  /// decides the tables, not `tables`), binary when configured, messages,
  /// streaming 'on' when configured.
  PluginOptions start_options(const std::vector<std::string>& tables) const override;
  /// B and C give one Change each, I/U/D/M one, T one per table; R, Y and O
  /// none. Stream messages: see ChangeOutput::streamed_*.
  void decode(std::string_view payload, Lsn wal_position, ChangeOutput& out) override;
  /// A kept R, Y, I, U, D, T or M of a stream chunk, as between B and C of
  /// `commit`'s transaction.
  void decode_streamed(std::string_view payload, Lsn wal_position, const StreamedCommit& commit,
                       ChangeOutput& out) override;
  /// 'B' or 'C' as the first byte.
  bool bounds_transaction(std::string_view payload) const override;
  /// describe_change (wal2json v2's layout).
  std::string describe(const Change& change) const override;
  /// Forgets relations, types, the open transaction and stream chunk.
  void reset() override;

 private:
  /// The transaction between B and C: rows, truncates and transactional
  /// messages carry its xid and commit time, which pgoutput v1 sends only at B.
  struct Transaction {
    std::uint32_t xid = 0;
    std::int64_t commit_time_us = 0;
  };

  /// I, U, D, T, M, R, Y (false for another type).
  bool decode_transaction_message(char type, pgoutput::WireReader& reader, Lsn wal_position, ChangeOutput& out);
  void decode_in_stream(char type, pgoutput::WireReader& reader, std::string_view payload, Lsn wal_position,
                        ChangeOutput& out);
  [[noreturn]] void fail_unknown(char type, const pgoutput::WireReader& reader) const;
  static void skip_origin(pgoutput::WireReader& reader);
  /// The xid of S, c or A; a DecodeError unless streaming was asked for.
  std::uint32_t read_stream_xid(pgoutput::WireReader& reader, const char* message_name) const;
  void decode_stream_start(pgoutput::WireReader& reader);
  void decode_stream_commit(pgoutput::WireReader& reader, ChangeOutput& out);
  void decode_stream_abort(pgoutput::WireReader& reader, ChangeOutput& out);
  void decode_begin(pgoutput::WireReader& reader, ChangeOutput& out);
  void decode_commit(pgoutput::WireReader& reader, ChangeOutput& out);
  void decode_message(pgoutput::WireReader& reader, ChangeOutput& out) const;
  void decode_truncate(pgoutput::WireReader& reader, Lsn wal_position, ChangeOutput& out) const;

  std::string publication_;
  bool binary_;
  bool streaming_;
  std::unique_ptr<pgoutput::RelationCache> relations_;
  Transaction transaction_;
  /// The transaction whose stream chunk is open (after Stream Start, before
  /// Stream Stop).
  std::optional<std::uint32_t> stream_xid_;
};

/// The publication name as publication_names expects it: an identifier list
/// item, double-quoted so that case and punctuation survive.
std::string quote_publication(std::string_view publication);

}  // namespace cdc::decode
