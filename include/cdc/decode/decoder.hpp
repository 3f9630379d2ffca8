#pragma once
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

/// Where a decoder puts the Changes of one message. The pipeline hands out
/// recycled Changes so that decoding allocates (almost) nothing.
class ChangeOutput {
 public:
  virtual ~ChangeOutput() = default;
  /// A Change to overwrite completely (every field). `row_change`: the
  /// decoder expects an insert, update or delete, so a recycled row change
  /// (whose column strings have capacity) fits best.
  virtual Change& next_change(bool row_change) = 0;
};

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
