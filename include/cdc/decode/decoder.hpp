#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cdc/core/lsn.hpp"
#include "cdc/decode/change.hpp"
#include "cdc/decode/decode_error.hpp"

namespace cdc::decode {

/// Output plugin options for START_REPLICATION, in order.
using PluginOptions = std::vector<std::pair<std::string, std::string>>;

/// A transaction the server streamed before it committed (pgoutput protocol
/// 2), as its Stream Commit tells it.
struct StreamedCommit {
  std::uint32_t xid = 0;  ///< the top-level transaction
  Lsn commit_lsn = 0;     ///< start of the commit record
  Lsn end_lsn = 0;        ///< end of the commit record, the position to acknowledge
  std::int64_t commit_time_us = 0;
};

/// Where a decoder puts the Changes of one message. The pipeline hands out
/// recycled Changes so that decoding allocates (almost) nothing.
class ChangeOutput {
 public:
  virtual ~ChangeOutput() = default;
  /// A Change to overwrite completely (every field). `row_change`: the
  /// decoder expects an insert, update or delete, so a recycled row change
  /// (whose column strings have capacity) fits best.
  virtual Change& next_change(bool row_change) = 0;

  // Streamed transactions (only decoders whose start options ask for them
  // call these; the default implementations throw std::logic_error).

  /// A message of the in-progress transaction `xid`, made in its
  /// subtransaction `subxid` (`xid` itself for the top level): to keep, in
  /// order, until the transaction's fate is known, then to hand back to
  /// Decoder::decode_streamed.
  virtual void streamed_message(std::uint32_t xid, std::uint32_t subxid, std::string_view payload,
                                Lsn wal_position);
  /// Subtransaction `subxid` of `xid` rolled back (`subxid == xid`: the
  /// whole transaction): its kept messages are void.
  virtual void streamed_abort(std::uint32_t xid, std::uint32_t subxid);
  /// The transaction committed: its kept messages, less those of aborted
  /// subtransactions, are now its changes, between the Begin and Commit that
  /// set_begin/set_commit make of `commit`.
  virtual void streamed_commit(const StreamedCommit& commit);
};

/// A transaction's Begin Change, as every decoder makes it when the plugin
/// tells the commit LSN at BEGIN: lsn = commit LSN, next_lsn 0.
void set_begin(Change& change, std::uint32_t xid, Lsn commit_lsn, std::int64_t commit_time_us);
/// A transaction's Commit Change: lsn = commit LSN, next_lsn = end LSN.
void set_commit(Change& change, std::uint32_t xid, Lsn commit_lsn, Lsn end_lsn, std::int64_t commit_time_us);

/// One output plugin's side of the stream: its name and options, and the
/// decoding of its messages into plugin-neutral Changes. One instance per
/// session: decode(), reset() and start_options() run on the reader thread;
/// describe() is const and keeps no state, for the writer thread's errors.
class Decoder {
 public:
  virtual ~Decoder() = default;

  /// The plugin's name as the server knows it (slot creation, slot checks).
  virtual std::string_view plugin() const = 0;

  /// START_REPLICATION options that stream the given tables ("schema.table").
  virtual PluginOptions start_options(const std::vector<std::string>& tables) const = 0;

  /// Decodes one XLogData payload sent at `wal_position` into zero or more
  /// Changes taken from `out` (a relation description yields none, a
  /// multi-table truncate several). Throws DecodeError naming the position;
  /// Changes taken before the error hold unspecified values.
  virtual void decode(std::string_view payload, Lsn wal_position, ChangeOutput& out) = 0;

  /// Decodes one message that ChangeOutput::streamed_message kept, now that
  /// its transaction committed: the Changes decode() would have made of it
  /// between that transaction's Begin and Commit. Throws DecodeError naming
  /// `wal_position`. The default throws std::logic_error (no streaming).
  virtual void decode_streamed(std::string_view payload, Lsn wal_position, const StreamedCommit& commit,
                               ChangeOutput& out);

  /// Whether a payload that did not decode is a transaction's begin or
  /// commit: those bound the transaction and are never dead-lettered.
  virtual bool bounds_transaction(std::string_view payload) const = 0;

  /// A Change as text for errors and dead letters (one line, this plugin's
  /// notation where it has a textual one).
  virtual std::string describe(const Change& change) const = 0;

  /// Forgets per-session state (e.g. a relation cache) before a new session.
  virtual void reset() {}
};

/// The output plugins customer-cdc decodes, by name ("wal2json").
std::vector<std::string_view> supported_plugins();

/// What a decoder is made from: the plugin and its settings ([postgres] keys).
struct DecoderSettings {
  std::string plugin = "wal2json";
  std::string publication = "customer_cdc";  ///< pgoutput: publication_names
  bool binary = false;                       ///< pgoutput: binary values
  bool streaming = false;                    ///< pgoutput: protocol 2 in-progress streaming
};

/// A decoder for `settings.plugin`; throws std::invalid_argument for an
/// unsupported one.
std::unique_ptr<Decoder> make_decoder(const DecoderSettings& settings);
inline std::unique_ptr<Decoder> make_decoder(std::string_view plugin) {
  return make_decoder(DecoderSettings{.plugin = std::string(plugin)});
}

}  // namespace cdc::decode
