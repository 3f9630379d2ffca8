#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "cdc/core/errors.hpp"
#include "cdc/core/lsn.hpp"
#include "cdc/decode/change.hpp"

namespace cdc::sinks {

/// The source transaction a change belongs to.
struct TxnInfo {
  std::uint32_t xid = 0;
  Lsn commit_lsn = 0;             ///< start of the commit record
  /// End of the commit record: the position to acknowledge. Always set at
  /// commit(); at begin() and change() only when the plugin tells it early
  /// (wal2json does, pgoutput does not), else 0.
  Lsn end_lsn = 0;
  std::int64_t commit_time_us = 0;  ///< Unix epoch microseconds
};

/// A message of a transaction that cannot be taken as a change (it does not
/// decode, or a sink cannot map it), recorded instead when dead-lettering is on.
struct DeadLetter {
  Lsn wal_position = 0;  ///< where the server sent the message
  std::string reason;    ///< the decode or mapping error
  std::string raw;       ///< the plugin's message (Decoder::describe of the change when it decoded but could not be mapped)
};

/// A sink statement ran longer than the sink timeout and was cancelled: the
/// batch is abandoned (rolled back) and the session retried from the
/// acknowledged position.
class SinkTimedOut : public CategorizedError<ErrorCategory::Retryable> {
 public:
  using CategorizedError::CategorizedError;
};

/// A destination of the change stream. The pipeline calls it in commit order:
/// begin, change..., commit, and flush between transactions. A sink reports how
/// far everything handed to it is durable; the slot is acknowledged only up to
/// the lowest such position of all sinks.
///
/// Threads: every method is called from one thread, the session's writer
/// thread (pipeline::Writer, through the Dispatcher), or the thread running
/// a snapshot; a sink needs no locks of its own for them. A sink with
/// threads of its own (librdkafka's) hands their results over itself.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual std::string name() const = 0;

  /// Transactions ending at or below this position are already held by the
  /// sink (from an earlier run) and are not handed to it again.
  virtual Lsn resume_position() const = 0;

  virtual void begin(const TxnInfo& txn) = 0;
  virtual void change(const TxnInfo& txn, const decode::Change& change) = 0;
  virtual void commit(const TxnInfo& txn) = 0;

  /// Why this sink cannot take `change` (e.g. a required column is missing),
  /// or nullopt. Asked only when dead-lettering is on, before change().
  virtual std::optional<std::string> rejects(const decode::Change& /*change*/) const { return std::nullopt; }
  /// Records a poison message of the open transaction (dead-lettering on),
  /// durable with the transaction like a change.
  virtual void dead_letter(const TxnInfo& /*txn*/, const DeadLetter& /*letter*/) {}

  /// True when buffered work is large or old enough to be flushed now.
  virtual bool wants_flush() const = 0;
  /// Makes every committed transaction handed over so far durable. Called only
  /// between transactions.
  virtual void flush() = 0;
  /// Drops an open transaction and everything not yet durable (after a stream
  /// failure: the server resends it from the acknowledged position).
  virtual void abort() = 0;

  /// At shutdown: waits up to `timeout` for work already handed over to become
  /// durable (e.g. outstanding Kafka deliveries).
  virtual void drain(std::chrono::milliseconds /*timeout*/) {}

  /// Messages handed over and not durable yet (for metrics).
  virtual std::size_t queue_depth() const { return 0; }

  /// End LSN up to which every transaction handed to this sink is durable.
  virtual Lsn durable_lsn() const = 0;
};

}  // namespace cdc::sinks
