// libFuzzer target: pgoutput messages (protocol version 1, and version 2's
// streamed transactions: the decoder runs with streaming on, which decodes
// version 1 messages the same) as the replication stream hands them to
// PgoutputDecoder (any bytes: the server, or anything between it and the
// daemon, chooses them). Streamed messages are kept as the pipeline's spool
// keeps them and decoded again (decode_streamed) at their Stream Commit.
//
// The decoder starts each input as in a session that already saw the
// Relation and Type messages of the golden fixtures
// (tests/fixtures/pgoutput/workload.*.hex) and a Begin, so row, truncate and
// message payloads reach the tuple and value parsers. An input is one
// message, or several separated by kSeparator (e.g. a Relation message that
// replaces a cached one, then a row change of it).
//
// A malformed message must end in cdc::decode::DecodeError naming the
// position; anything else (a crash, a sanitizer report, another exception, a
// hang) is a bug. Decoding is deterministic and overwrites recycled Changes
// completely: the same input through a second decoder, into Changes that hold
// whatever earlier inputs left, must give the same result.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "cdc/decode/pgoutput/pgoutput.hpp"

namespace {

using cdc::decode::Change;
using cdc::decode::DecodeError;

constexpr cdc::Lsn kPosition = 0x16B374D848;
constexpr std::string_view kSeparator = "~pgout~|";

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_pgoutput: invariant violated: %s\n", what);
  std::abort();
}

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

/// The fixtures' Relation and Type messages, then a Begin.
const std::vector<std::string>& session_prefix() {
  static const std::vector<std::string> prefix = [] {
    std::vector<std::string> out;
    for (const char* name : {"workload.text.hex", "workload.binary.hex"}) {
      std::ifstream in(std::string(CDC_FIXTURES_DIR) + "/pgoutput/" + name);
      if (!in) fail("cannot read the pgoutput fixtures");
      for (std::string line; std::getline(in, line);) {
        const std::string payload = from_hex(line.substr(line.find(' ') + 1));
        const bool describes = !payload.empty() && (payload[0] == 'R' || payload[0] == 'Y');
        if (describes && std::find(out.begin(), out.end(), payload) == out.end()) out.push_back(payload);
      }
    }
    out.push_back(from_hex("4200000000022bb0380003049da213d1f900000362"));
    return out;
  }();
  return prefix;
}

/// Hands out the same Changes again and again, as the daemon's pools recycle
/// them; keeps streamed messages in memory, as the spool keeps them on disk.
class Output : public cdc::decode::ChangeOutput {
 public:
  struct Kept {
    std::uint32_t xid;
    std::uint32_t subxid;
    std::string payload;
    cdc::Lsn position;
  };

  explicit Output(std::vector<Change>& pool, bool recycle) : pool_(pool), recycle_(recycle) {}
  Change& next_change(bool) override {
    if (!recycle_ || used_ == pool_.size()) pool_.emplace_back();
    return pool_[used_++];
  }
  void streamed_message(std::uint32_t xid, std::uint32_t subxid, std::string_view payload,
                        cdc::Lsn position) override {
    kept.push_back({xid, subxid, std::string(payload), position});
  }
  void streamed_abort(std::uint32_t xid, std::uint32_t subxid) override {
    std::erase_if(kept, [&](const Kept& k) { return k.xid == xid && (k.subxid == subxid || subxid == xid); });
  }
  void streamed_commit(const cdc::decode::StreamedCommit& commit) override { commits.push_back(commit); }
  std::size_t used() const { return used_; }

  std::vector<Kept> kept;
  std::vector<cdc::decode::StreamedCommit> commits;  ///< to replay after the decode() that told them

 private:
  std::vector<Change>& pool_;
  bool recycle_;
  std::size_t used_ = 0;
};

bool same(const Change& a, const Change& b) {
  return a.action == b.action && a.xid == b.xid && a.lsn == b.lsn && a.next_lsn == b.next_lsn &&
         a.timestamp_us == b.timestamp_us && a.schema == b.schema && a.table == b.table &&
         a.columns == b.columns && a.identity == b.identity && a.transactional == b.transactional &&
         a.prefix == b.prefix && a.content == b.content;
}

/// Decodes every message of `input`; false when one was rejected (then
/// `out` holds the Changes of the messages before it plus unspecified ones).
bool run(std::string_view input, bool binary, Output& out) {
  cdc::decode::PgoutputDecoder decoder(
      cdc::decode::DecoderSettings{.plugin = "pgoutput", .binary = binary, .streaming = true});
  std::vector<Change> prefix_changes;
  Output prefix_out(prefix_changes, false);
  for (const std::string& message : session_prefix()) decoder.decode(message, kPosition, prefix_out);
  while (true) {
    const auto end = input.find(kSeparator);
    const std::string_view message = input.substr(0, end);
    try {
      decoder.decode(message, kPosition, out);
      for (const cdc::decode::StreamedCommit& commit : out.commits) {
        for (const Output::Kept& kept : out.kept) {
          if (kept.xid == commit.xid) decoder.decode_streamed(kept.payload, kept.position, commit, out);
        }
        std::erase_if(out.kept, [&](const Output::Kept& k) { return k.xid == commit.xid; });
      }
      out.commits.clear();
    } catch (const DecodeError& e) {
      if (e.wal_position() != kPosition) fail("DecodeError names another WAL position");
      if (std::string_view(e.what()).rfind("cannot decode pgoutput message at WAL 16/B374D848: ", 0) != 0) {
        fail("DecodeError::what() does not start with the WAL position");
      }
      return false;
    }
    if (end == std::string_view::npos) return true;
    input.remove_prefix(end + kSeparator.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static std::vector<Change> recycled;  // what earlier inputs left behind
  const bool binary = size > 0 && (data[size - 1] & 1);  // the mode only changes start_options
  std::vector<Change> fresh;
  Output fresh_out(fresh, false);
  const bool accepted = run(input, binary, fresh_out);
  Output recycled_out(recycled, true);
  if (run(input, binary, recycled_out) != accepted) fail("an input decodes differently the second time");
  if (!accepted) return 0;
  if (recycled_out.used() != fresh.size()) fail("a second decode gave another number of Changes");
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    if (!same(fresh[i], recycled[i])) fail("decoding into a recycled Change differs from a fresh decode");
    for (const auto* tuple : {&fresh[i].columns, &fresh[i].identity}) {
      for (const auto& column : *tuple) {
        if (column.is_null() && !column.text.empty()) fail("a NULL column carries text");
        if (column.type.empty()) fail("a column without a type name");
      }
    }
  }
  return 0;
}
