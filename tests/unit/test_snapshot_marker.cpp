// source.snapshot of a read comes from its marker (Debezium's SnapshotRecord);
// changes of the stream stay "false".
#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include <string>
#include <utility>
#include <vector>

#include "cdc/decode/change.hpp"
#include "cdc/sinks/kafka/envelope.hpp"
#include "support/columns.hpp"

namespace cdc::sinks {
namespace {

using decode::Action;
using decode::SnapshotMarker;

std::string source_snapshot(const decode::Change& change) {
  JsonBuffer buffer;
  debezium_value(buffer, change, TxnInfo{7, 100, 110, 0}, EnvelopeContext{}, 0);
  rapidjson::Document doc;
  doc.Parse(buffer.GetString(), buffer.GetSize());
  EXPECT_FALSE(doc.HasParseError());
  return doc["source"]["snapshot"].GetString();
}

TEST(SnapshotMarker, ReadsCarryTheirMarkerAndChangesFalse) {
  decode::Change read = testing::row_change(Action::Read, "plans", {testing::number_column("id", "1")});
  const std::vector<std::pair<SnapshotMarker, std::string>> markers = {
      {SnapshotMarker::True, "true"},
      {SnapshotMarker::First, "first"},
      {SnapshotMarker::FirstInTable, "first_in_data_collection"},
      {SnapshotMarker::LastInTable, "last_in_data_collection"},
      {SnapshotMarker::Last, "last"},
      {SnapshotMarker::Incremental, "incremental"}};
  for (const auto& [marker, text] : markers) {
    read.snapshot = marker;
    EXPECT_EQ(source_snapshot(read), text);
  }
  decode::Change insert = read;
  insert.action = Action::Insert;
  EXPECT_EQ(source_snapshot(insert), "false") << "the marker of a change that is not a read is never rendered";
}

}  // namespace
}  // namespace cdc::sinks
