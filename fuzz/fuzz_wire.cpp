// libFuzzer target: one CopyData message body of the streaming replication
// protocol as the server sends it during START_REPLICATION, plus a round trip
// of the standby status update the daemon sends back.
//
// A message that does not follow the protocol must end in
// cdc::stream::WireError; anything else is a bug. Accepted messages must
// decode exactly the bytes they came from, and the status update must encode
// exactly the values it was given.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>

#include "cdc/stream/wire.hpp"

namespace {

using namespace cdc::stream;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_wire: invariant violated: %s\n", what);
  std::abort();
}

std::uint64_t be64(const char* p) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(p[i]);
  return value;
}

/// 8 bytes of the input from `offset` (zero-padded past its end).
std::uint64_t take64(std::string_view bytes, std::size_t offset) {
  char buffer[8] = {};
  if (offset < bytes.size()) std::memcpy(buffer, bytes.data() + offset, std::min<std::size_t>(8, bytes.size() - offset));
  return be64(buffer);
}

void check_parse(std::string_view bytes) {
  CopyMessage message;
  try {
    message = parse_copy_message(bytes);
  } catch (const WireError&) {
    return;
  }
  if (const auto* x = std::get_if<XLogData>(&message)) {
    if (bytes.size() < 25 || bytes[0] != 'w') fail("accepted an XLogData message that is too short");
    if (x->wal_start != be64(bytes.data() + 1) || x->wal_end != be64(bytes.data() + 9) ||
        static_cast<std::uint64_t>(x->send_time) != be64(bytes.data() + 17)) {
      fail("XLogData header fields differ from the bytes");
    }
    if (x->payload.data() != bytes.data() + 25 || x->payload.size() != bytes.size() - 25) {
      fail("XLogData payload is not the rest of the message");
    }
    if (x->payload.size() > kMaxPayloadBytes) fail("XLogData payload over the limit accepted");
  } else {
    const auto& k = std::get<Keepalive>(message);
    if (bytes.size() != 18 || bytes[0] != 'k') fail("accepted a keepalive of the wrong size");
    if (k.wal_end != be64(bytes.data() + 1) || static_cast<std::uint64_t>(k.send_time) != be64(bytes.data() + 9) ||
        k.reply_requested != (bytes[17] != 0)) {
      fail("keepalive fields differ from the bytes");
    }
  }
}

void check_status_update(std::string_view bytes) {
  const cdc::Lsn written = take64(bytes, 1);
  const cdc::Lsn flushed = take64(bytes, 9);
  const cdc::Lsn applied = take64(bytes, 17);
  const auto now = static_cast<std::int64_t>(take64(bytes, 25));
  const bool reply = bytes.size() > 33 && (bytes[33] & 1);
  const std::string out = build_status_update(written, flushed, applied, now, reply);
  if (out.size() != 34 || out[0] != 'r') fail("status update is not 34 bytes starting with 'r'");
  if (be64(out.data() + 1) != written || be64(out.data() + 9) != flushed || be64(out.data() + 17) != applied ||
      static_cast<std::int64_t>(be64(out.data() + 25)) != now || out[33] != (reply ? 1 : 0)) {
    fail("status update does not round-trip");
  }
  // The client's own message type is not something the server sends.
  try {
    (void)parse_copy_message(out);
    fail("parse_copy_message accepted an 'r' message");
  } catch (const WireError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_parse(bytes);
  check_status_update(bytes);
  return 0;
}
