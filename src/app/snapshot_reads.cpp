#include "snapshot_reads.hpp"

#include <utility>

namespace cdc::app {
namespace {

void init_read(decode::Change& change, const sinks::TxnInfo& txn) {
  change.action = decode::Action::Read;
  change.xid = txn.xid;
  change.lsn = txn.end_lsn;
  change.timestamp_us = txn.commit_time_us;
}

}  // namespace

SnapshotReads::SnapshotReads(sinks::Sink& sink, const sinks::TxnInfo& txn) : sink_(sink), txn_(txn) {
  init_read(next_, txn_);
  init_read(held_, txn_);
}

void SnapshotReads::begin_table(const std::string& schema, const std::string& table) {
  schema_ = schema;
  table_ = table;
  table_started_ = true;
}

decode::Change& SnapshotReads::next() {
  // After a swap next_ may name the previous table.
  if (next_.table != table_ || next_.schema != schema_) {
    next_.schema = schema_;
    next_.table = table_;
  }
  return next_;
}

void SnapshotReads::add() {
  if (holding_) hand_over(/*last_in_table=*/table_started_, /*last=*/false);
  std::swap(held_, next_);
  holding_ = true;
  held_first_ = !any_added_;
  held_first_in_table_ = table_started_;
  table_started_ = false;
  any_added_ = true;
}

void SnapshotReads::finish() {
  if (holding_) hand_over(true, true);
  holding_ = false;
}

void SnapshotReads::hand_over(bool last_in_table, bool last) {
  // Debezium's precedence when one row is several of these.
  using decode::SnapshotMarker;
  held_.snapshot = last                   ? SnapshotMarker::Last
                   : held_first_          ? SnapshotMarker::First
                   : last_in_table        ? SnapshotMarker::LastInTable
                   : held_first_in_table_ ? SnapshotMarker::FirstInTable
                                          : SnapshotMarker::True;
  sink_.change(txn_, held_);
}

}  // namespace cdc::app
