#pragma once
// The reads of an initial or offline snapshot, handed to a sink one row late
// so that each carries Debezium's source.snapshot marker: "first" for the
// first row of the snapshot, "last" for its last, "first_in_data_collection"
// and "last_in_data_collection" for the first and last rows of the other
// tables, "true" in between.
#include <string>

#include "cdc/decode/change.hpp"
#include "cdc/sinks/sink.hpp"

namespace cdc::app {

class SnapshotReads {
 public:
  /// Every read carries `txn`'s xid, end position and time.
  SnapshotReads(sinks::Sink& sink, const sinks::TxnInfo& txn);

  /// The reads that follow are of `schema`.`table`.
  void begin_table(const std::string& schema, const std::string& table);
  /// The change to fill with the next read's columns (action, table and positions set).
  decode::Change& next();
  /// next() holds a read: hands over the one before it.
  void add();
  /// No more reads: hands over the held one as the last.
  void finish();

 private:
  void hand_over(bool last_in_table, bool last);

  sinks::Sink& sink_;
  const sinks::TxnInfo txn_;
  std::string schema_;
  std::string table_;
  decode::Change next_;
  decode::Change held_;  ///< the read before next_, not handed over yet
  bool holding_ = false;
  bool held_first_ = false;           ///< held_ is the snapshot's first read
  bool held_first_in_table_ = false;  ///< held_ is its table's first read
  bool table_started_ = false;        ///< no read of the current table added yet
  bool any_added_ = false;
};

}  // namespace cdc::app
