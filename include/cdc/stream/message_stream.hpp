#pragma once
#include <chrono>
#include <memory>
#include <optional>

#include "cdc/core/lsn.hpp"
#include "cdc/stream/wire.hpp"

namespace cdc::stream {

/// The CopyData buffer libpq handed out, freed with PQfreemem.
struct CopyBufferDeleter {
  void operator()(char* p) const;
};
using CopyBuffer = std::unique_ptr<char, CopyBufferDeleter>;

/// One message off the stream; `message` points into `buffer` (or, where a
/// test scripts the stream, into memory the test keeps).
struct Received {
  CopyBuffer buffer;
  CopyMessage message;
};

/// What the pipeline's reader needs of a replication connection in CopyBoth
/// mode: ReplicationStream, or a script in tests.
class MessageStream {
 public:
  virtual ~MessageStream() = default;
  /// The next message, or nullopt when none arrived within timeout.
  virtual std::optional<Received> next(std::chrono::milliseconds timeout) = 0;
  /// Sends a standby status update (write = written, flush = apply = flushed).
  virtual void send_status(Lsn written, Lsn flushed, bool reply_requested = false) = 0;
};

}  // namespace cdc::stream
