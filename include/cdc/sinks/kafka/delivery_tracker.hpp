#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>

#include "cdc/core/lsn.hpp"

namespace cdc::sinks {

/// Which transactions handed to a producer are durable: a transaction is once
/// every one of its messages has a successful delivery report and every
/// earlier transaction is durable too. Keeps a ring of in-flight
/// transactions, oldest first, each under a sequence number that is never
/// reused, so a late report of an aborted transaction's message is ignored.
class DeliveryTracker {
 public:
  using Seq = std::uint64_t;

  /// `durable`: where the sink resumes (transactions ending at or below it
  /// are held from an earlier run and not handed over again).
  explicit DeliveryTracker(Lsn durable = 0) : durable_(durable) {}

  /// Opens a transaction ending at `end_lsn` (0 when the plugin tells the
  /// end only at commit); its messages carry the result.
  Seq begin(Lsn end_lsn);
  /// One more message of transaction `seq` awaits its delivery report.
  void message_produced(Seq seq);
  /// The delivery report of a message of transaction `seq`. A failed one
  /// leaves the transaction (and every later one) never durable; reports of
  /// transactions no longer in the ring (aborted) are ignored.
  void report(Seq seq, bool ok);
  /// The open transaction has all its messages: durable once they are
  /// delivered. `end_lsn`, when not 0, is its end (known at commit).
  void commit(Lsn end_lsn = 0);
  /// Drops the open transaction (committed ones stay in flight).
  void abort();

  /// The open transaction (after begin, before commit or abort); outside one,
  /// a sequence no report counts for.
  Seq open() const { return ring_.empty() ? next_seq_ : ring_.back().seq; }
  /// End LSN up to which every transaction is durable.
  Lsn durable_lsn() const { return durable_; }
  /// Transactions not durable yet (the open one included).
  std::size_t in_flight() const { return ring_.size(); }

 private:
  struct InFlightTxn {
    Seq seq = 0;
    Lsn end_lsn = 0;
    std::size_t pending = 0;  ///< messages without a delivery report
    bool committed = false;
  };

  void advance();

  std::deque<InFlightTxn> ring_;  ///< ascending seq, not necessarily consecutive (aborts)
  Seq next_seq_ = 0;
  Lsn durable_ = 0;
};

}  // namespace cdc::sinks
