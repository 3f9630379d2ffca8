// Tests for the recycling of decoded Changes (cdc/pipeline/change_pool.hpp).
#include <gtest/gtest.h>

#include <string>

#include "cdc/pipeline/change_pool.hpp"

namespace cdc::pipeline {
namespace {

using decode::Action;
using decode::Change;

Change row_change(std::size_t text_bytes) {
  Change change;
  change.action = Action::Update;
  change.columns.push_back({"c", "text", decode::ValueKind::String, std::string(text_bytes, 'x')});
  return change;
}

EventBatch batch_of(std::vector<Change> changes) {
  EventBatch batch;
  for (Change& change : changes) batch.push_back(StreamEvent{std::move(change), 0, nullptr});
  return batch;
}

TEST(ChangePool, HandsBackRecycledChangesOfTheKindAskedFor) {
  BatchRecycler recycler;
  Change begin;
  begin.action = Action::Begin;
  recycler.give(batch_of({row_change(100), begin}));
  ChangePool pool(recycler);
  const Change row = pool.take(true);
  EXPECT_EQ(row.action, Action::Update);
  EXPECT_GE(row.columns.at(0).text.capacity(), 100u);  // its strings keep their capacity
  EXPECT_EQ(pool.take(false).action, Action::Begin);
  EXPECT_TRUE(pool.take(true).columns.empty());  // none left: a new one
}

TEST(ChangePool, DropsChangesHoldingTooMuchText) {
  BatchRecycler recycler;
  recycler.give(batch_of({row_change(ChangePool::kMaxChangeBytes + 1)}));
  ChangePool pool(recycler);
  EXPECT_TRUE(pool.take(true).columns.empty());
}

TEST(ChangePool, RetainedTextStaysBounded) {
  BatchRecycler recycler;
  ChangePool pool(recycler);
  for (int i = 0; i < 200; ++i) pool.give(row_change(60 * 1024));
  EXPECT_LE(pool.retained_bytes(), ChangePool::kMaxBytes);
  EXPECT_LT(pool.size(), 200u);
}

TEST(ChangePool, CountIsBounded) {
  BatchRecycler recycler;
  ChangePool pool(recycler);
  for (std::size_t i = 0; i < ChangePool::kMaxRowChanges + 10; ++i) pool.give(row_change(1));
  EXPECT_EQ(pool.size(), ChangePool::kMaxRowChanges);
}

TEST(BatchRecycler, KeepsABoundedNumberOfBatches) {
  BatchRecycler recycler;
  for (std::size_t i = 0; i < BatchRecycler::kMaxFreeBatches + 5; ++i) recycler.give(batch_of({row_change(1)}));
  std::size_t taken = 0;
  EventBatch batch;
  while (recycler.take(batch)) ++taken;
  EXPECT_EQ(taken, BatchRecycler::kMaxFreeBatches);
}

}  // namespace
}  // namespace cdc::pipeline
