// libFuzzer target: one wal2json format-version 2 message, as the replication
// stream hands it to the decoder (any bytes: the server, or anything between
// it and the daemon, chooses them).
//
// A malformed message must end in cdc::decode::DecodeError; anything else (a
// crash, a sanitizer report, another exception, a hang) is a bug. On success
// the result must not depend on the decoder's per-thread scratch state, so
// every accepted message is decoded twice and the results compared. The
// daemon decodes into recycled Changes (decode_wal2json(json, pos, change)):
// decoding into one that holds whatever the previous inputs left in it, even
// a failed decode, must give exactly what a fresh decode gives.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cdc/core/pg_time.hpp"
#include "cdc/decode/wal2json/wal2json.hpp"

namespace {

using cdc::decode::Change;
using cdc::decode::DecodeError;

constexpr cdc::Lsn kPosition = 0x16B374D848;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_decode: invariant violated: %s\n", what);
  std::abort();
}

bool same(const Change& a, const Change& b) {
  return a.action == b.action && a.xid == b.xid && a.lsn == b.lsn && a.next_lsn == b.next_lsn &&
         a.timestamp_us == b.timestamp_us && a.schema == b.schema && a.table == b.table &&
         a.columns == b.columns && a.identity == b.identity && a.transactional == b.transactional &&
         a.prefix == b.prefix && a.content == b.content;
}

bool valid_action(cdc::decode::Action action) {
  switch (action) {
    case cdc::decode::Action::Begin:
    case cdc::decode::Action::Commit:
    case cdc::decode::Action::Insert:
    case cdc::decode::Action::Update:
    case cdc::decode::Action::Delete:
    case cdc::decode::Action::Truncate:
    case cdc::decode::Action::Message: return true;
    case cdc::decode::Action::Read: return false;  // snapshot reads are never decoded
  }
  return false;
}

/// What earlier inputs left behind, as in the daemon's pools.
Change& recycled() {
  static Change change;
  return change;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);

  // The timestamp parser is public and sees text from the same messages.
  (void)cdc::parse_pg_timestamp(json);

  Change first;
  try {
    first = cdc::decode::decode_wal2json(json, kPosition);
  } catch (const DecodeError& e) {
    if (e.wal_position() != kPosition) fail("DecodeError names another WAL position");
    if (std::string_view(e.what()).rfind("cannot decode wal2json message at WAL 16/B374D848: ", 0) != 0) {
      fail("DecodeError::what() does not start with the WAL position");
    }
    bool rejected = false;
    try {
      cdc::decode::decode_wal2json(json, kPosition, recycled());
    } catch (const DecodeError&) {
      rejected = true;  // recycled() keeps a mix of old and new values: the next input decodes into it
    }
    if (!rejected) fail("a message rejected fresh is accepted into a recycled Change");
    return 0;
  }
  try {
    cdc::decode::decode_wal2json(json, kPosition, recycled());
  } catch (const DecodeError&) {
    fail("a message accepted fresh is rejected into a recycled Change");
  }
  if (!same(first, recycled())) fail("decoding into a recycled Change differs from a fresh decode");
  if (!valid_action(first.action)) fail("decoded an unknown action");
  for (const auto& column : first.columns) {
    if (column.is_null() && !column.text.empty()) fail("a NULL column carries text");
  }

  // Same input, second call: the thread_local reader and buffer are reused now.
  Change second;
  try {
    second = cdc::decode::decode_wal2json(json, kPosition);
  } catch (const DecodeError&) {
    fail("a message accepted once is rejected the second time");
  }
  if (!same(first, second)) fail("decoding the same message twice gave different results");
  return 0;
}
