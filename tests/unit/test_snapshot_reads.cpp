// SnapshotReads: Debezium's source.snapshot markers of an initial snapshot
// (first, first_in_data_collection, true, last_in_data_collection, last).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../../src/app/snapshot_reads.hpp"
#include "support/fake_sink.hpp"

namespace cdc::app {
namespace {

using decode::SnapshotMarker;

/// Records "<table>:<marker>" for each read.
class MarkerSink : public test::FakeSink {
 public:
  MarkerSink() : FakeSink("kafka") { begin({7, 100, 100, 0}); }
  void change(const sinks::TxnInfo& txn, const decode::Change& change) override {
    FakeSink::change(txn, change);
    EXPECT_EQ(change.action, decode::Action::Read);
    EXPECT_EQ(change.lsn, 100u);
    reads.push_back(change.table + ":" + marker(change.snapshot) + ":" + change.columns.at(0).text);
  }
  std::vector<std::string> reads;

 private:
  static std::string marker(SnapshotMarker m) {
    switch (m) {
      case SnapshotMarker::First: return "first";
      case SnapshotMarker::FirstInTable: return "first_in";
      case SnapshotMarker::LastInTable: return "last_in";
      case SnapshotMarker::Last: return "last";
      case SnapshotMarker::True: return "true";
      case SnapshotMarker::Incremental: return "incremental";
    }
    return "?";
  }
};

/// Reads tables named t0, t1, ... with the given numbers of rows (values "0", "1", ...).
std::vector<std::string> marked(const std::vector<int>& rows_per_table) {
  MarkerSink sink;
  SnapshotReads reads(sink, {7, 100, 100, 0});
  for (std::size_t t = 0; t < rows_per_table.size(); ++t) {
    reads.begin_table("public", "t" + std::to_string(t));
    for (int row = 0; row < rows_per_table[t]; ++row) {
      decode::Change& next = reads.next();
      next.columns = {{"id", "int", decode::ValueKind::Number, std::to_string(row)}};
      reads.add();
    }
  }
  reads.finish();
  return sink.reads;
}

TEST(SnapshotReads, MarksFirstAndLastOfTheSnapshotAndOfEachTable) {
  EXPECT_EQ(marked({3, 3}), (std::vector<std::string>{"t0:first:0", "t0:true:1", "t0:last_in:2", "t1:first_in:0",
                                                     "t1:true:1", "t1:last:2"}));
}

TEST(SnapshotReads, EmptyTablesAndSingleRows) {
  // Empty tables are skipped over: the first and last rows are those of the snapshot.
  EXPECT_EQ(marked({0, 1, 0, 2, 0}), (std::vector<std::string>{"t1:first:0", "t3:first_in:0", "t3:last:1"}));
  EXPECT_EQ(marked({1}), (std::vector<std::string>{"t0:last:0"}));
  EXPECT_EQ(marked({2, 1}), (std::vector<std::string>{"t0:first:0", "t0:last_in:1", "t1:last:0"}));
  EXPECT_TRUE(marked({0, 0}).empty());
}

}  // namespace
}  // namespace cdc::app
