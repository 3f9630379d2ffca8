#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

#include "cdc/core/errors.hpp"
#include "cdc/core/lsn.hpp"

namespace cdc::stream {

/// 'w' message of the streaming replication protocol: WAL data (one output plugin message).
struct XLogData {
  Lsn wal_start = 0;          ///< position of this message's data (the commit record's end LSN for a commit)
  Lsn wal_end = 0;            ///< server's current end of WAL
  std::int64_t send_time = 0; ///< server clock, microseconds since 2000-01-01
  std::string_view payload;   ///< points into the buffer that was parsed
};

/// 'k' message: primary keepalive.
struct Keepalive {
  Lsn wal_end = 0;
  std::int64_t send_time = 0;
  bool reply_requested = false;
};

using CopyMessage = std::variant<XLogData, Keepalive>;

/// A CopyData message that does not follow the protocol.
class WireError : public CategorizedError<ErrorCategory::Retryable> {
 public:
  using CategorizedError::CategorizedError;
  std::string log_message() const override { return std::string("protocol error: ") + what(); }
};

/// Largest XLogData payload accepted (PostgreSQL's own limit on a message is 1 GB).
inline constexpr std::size_t kMaxPayloadBytes = std::size_t{1} << 30;

/// Parses one CopyData message body received during START_REPLICATION.
/// Length-checked: truncated, oversize or unknown messages throw WireError.
CopyMessage parse_copy_message(std::string_view bytes);

/// Builds a standby status update ('r'): write/flush/apply positions, the
/// client clock (microseconds since 2000-01-01) and whether a reply is wanted.
std::string build_status_update(Lsn written, Lsn flushed, Lsn applied, std::int64_t now_pg_us,
                                bool reply_requested);

/// Microseconds since 2000-01-01 00:00 UTC (the PostgreSQL epoch) from the system clock.
std::int64_t pg_now_us();

/// Converts between the PostgreSQL epoch and the Unix epoch (microseconds).
inline constexpr std::int64_t kPgEpochOffsetUs = 946684800LL * 1000000LL;
inline std::int64_t pg_us_to_unix_us(std::int64_t pg_us) { return pg_us + kPgEpochOffsetUs; }

}  // namespace cdc::stream
