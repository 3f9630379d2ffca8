#include "cdc/sinks/kafka/delivery_tracker.hpp"

#include <algorithm>

namespace cdc::sinks {

DeliveryTracker::Seq DeliveryTracker::begin(Lsn end_lsn) {
  const Seq seq = next_seq_++;
  ring_.push_back(InFlightTxn{seq, end_lsn, 0, false});
  return seq;
}

void DeliveryTracker::message_produced(Seq seq) {
  if (!ring_.empty() && ring_.back().seq == seq) ++ring_.back().pending;
}

void DeliveryTracker::report(Seq seq, bool ok) {
  if (!ok) return;  // the transaction never counts as delivered
  const auto it = std::lower_bound(ring_.begin(), ring_.end(), seq,
                                   [](const InFlightTxn& txn, Seq wanted) { return txn.seq < wanted; });
  if (it == ring_.end() || it->seq != seq) return;
  if (it->pending > 0) --it->pending;
  advance();
}

void DeliveryTracker::commit(Lsn end_lsn) {
  if (!ring_.empty()) {
    ring_.back().committed = true;
    if (end_lsn != 0) ring_.back().end_lsn = end_lsn;
  }
  advance();
}

void DeliveryTracker::abort() {
  // Its messages are already queued; they may reach Kafka but are never
  // acknowledged, so the restart produces them again.
  if (!ring_.empty() && !ring_.back().committed) ring_.pop_back();
}

void DeliveryTracker::advance() {
  while (!ring_.empty() && ring_.front().committed && ring_.front().pending == 0) {
    durable_ = ring_.front().end_lsn;
    ring_.pop_front();
  }
}

}  // namespace cdc::sinks
