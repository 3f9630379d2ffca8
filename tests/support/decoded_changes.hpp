#pragma once
// Decoding captured or fetched plugin messages into Changes, and comparing the
// Change sequences of different plugins (tests of the pgoutput decoder against
// the wal2json decoder):
//
//   auto changes = decode_all(decoder, messages);       // messages: {lsn, payload}
//   EXPECT_EQ(comparable(changes), comparable(other));   // one line per Change

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "cdc/core/lsn.hpp"
#include "cdc/decode/change.hpp"
#include "cdc/decode/decoder.hpp"

namespace cdc::testing {

/// One message as the stream hands it to a decoder: its XLogData position and payload.
struct PluginMessage {
  Lsn lsn = 0;
  std::string payload;
};

/// A ChangeOutput that keeps every Change (stable references: a deque).
class CollectedChanges : public decode::ChangeOutput {
 public:
  decode::Change& next_change(bool) override { return changes.emplace_back(); }
  std::deque<decode::Change> changes;
};

/// Every Change the decoder makes of `messages`, in order (throws DecodeError).
std::vector<decode::Change> decode_all(decode::Decoder& decoder, const std::vector<PluginMessage>& messages);

/// Lines "<lsn> <payload>" of a fixture file; with `hex`, the payload is hex-decoded.
std::vector<PluginMessage> load_plugin_messages(const std::string& path, bool hex);

/// One line per Change with every field sinks read (describe_change, plus
/// next_lsn and a message's prefix, content and flag), after the differences
/// the plugins are allowed: transactions without a change (wal2json sends
/// their BEGIN and COMMIT, pgoutput nothing) are dropped, and a BEGIN's
/// next_lsn (wal2json tells it there, pgoutput only at COMMIT) is left out.
std::vector<std::string> comparable(const std::vector<decode::Change>& changes);

}  // namespace cdc::testing
