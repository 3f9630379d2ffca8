#include "cdc/stream/wire.hpp"

#include <chrono>
#include <fmt/format.h>

namespace cdc::stream {
namespace {

constexpr std::size_t kXLogDataHeader = 1 + 8 + 8 + 8;
constexpr std::size_t kKeepaliveSize = 1 + 8 + 8 + 1;
constexpr std::size_t kStatusUpdateSize = 1 + 8 + 8 + 8 + 8 + 1;

std::uint64_t read_be64(const char* p) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(p[i]);
  return value;
}

void write_be64(std::string& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

}  // namespace

CopyMessage parse_copy_message(std::string_view bytes) {
  if (bytes.empty()) throw WireError("empty CopyData message from the server");
  switch (bytes[0]) {
    case 'w': {
      if (bytes.size() < kXLogDataHeader) {
        throw WireError(fmt::format("truncated XLogData message: {} bytes, header needs {}",
                                    bytes.size(), kXLogDataHeader));
      }
      if (bytes.size() - kXLogDataHeader > kMaxPayloadBytes) {
        throw WireError(fmt::format("XLogData payload of {} bytes exceeds the {} byte limit",
                                    bytes.size() - kXLogDataHeader, kMaxPayloadBytes));
      }
      XLogData data;
      data.wal_start = read_be64(bytes.data() + 1);
      data.wal_end = read_be64(bytes.data() + 9);
      data.send_time = static_cast<std::int64_t>(read_be64(bytes.data() + 17));
      data.payload = bytes.substr(kXLogDataHeader);
      return data;
    }
    case 'k': {
      if (bytes.size() != kKeepaliveSize) {
        throw WireError(fmt::format("keepalive message has {} bytes, expected {}", bytes.size(),
                                    kKeepaliveSize));
      }
      Keepalive keepalive;
      keepalive.wal_end = read_be64(bytes.data() + 1);
      keepalive.send_time = static_cast<std::int64_t>(read_be64(bytes.data() + 9));
      keepalive.reply_requested = bytes[17] != 0;
      return keepalive;
    }
    default:
      throw WireError(fmt::format("unknown replication message type 0x{:02x} ({} bytes)",
                                  static_cast<unsigned char>(bytes[0]), bytes.size()));
  }
}

std::string build_status_update(Lsn written, Lsn flushed, Lsn applied, std::int64_t now_pg_us,
                                bool reply_requested) {
  std::string out;
  out.reserve(kStatusUpdateSize);
  out.push_back('r');
  write_be64(out, written);
  write_be64(out, flushed);
  write_be64(out, applied);
  write_be64(out, static_cast<std::uint64_t>(now_pg_us));
  out.push_back(reply_requested ? 1 : 0);
  return out;
}

std::int64_t pg_now_us() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::microseconds>(now).count() - kPgEpochOffsetUs;
}

}  // namespace cdc::stream
