#include "cdc/pipeline/change_pool.hpp"

#include <algorithm>

namespace cdc::pipeline {

std::size_t retained_bytes(const decode::Change& change) {
  std::size_t bytes = change.content.capacity();
  for (const auto* columns : {&change.columns, &change.identity}) {
    for (const decode::Column& column : *columns) bytes += column.text.capacity();
  }
  return bytes;
}

std::size_t decoded_weight(const decode::Change& change) {
  std::size_t bytes = sizeof(decode::Change) + change.content.size();
  for (const auto* columns : {&change.columns, &change.identity}) {
    bytes += columns->size() * sizeof(decode::Column);
    for (const decode::Column& column : *columns) bytes += column.text.size();
  }
  return bytes;
}

void BatchRecycler::give(EventBatch&& batch) {
  std::lock_guard lock(mutex_);
  if (free_.size() < kMaxFreeBatches) free_.push_back(std::move(batch));
}

bool BatchRecycler::take(EventBatch& out) {
  std::lock_guard lock(mutex_);
  if (free_.empty()) return false;
  out = std::move(free_.back());
  free_.pop_back();
  return true;
}

decode::Change ChangePool::take(bool row_change) {
  std::vector<Pooled>& pool = row_change ? rows_ : others_;
  if (pool.empty()) refill();
  if (pool.empty()) return {};
  Pooled& pooled = pool.back();
  bytes_ -= std::min(bytes_, pooled.bytes);
  decode::Change change = std::move(pooled.change);
  pool.pop_back();
  return change;
}

void ChangePool::give(decode::Change&& change) {
  const bool row = change.is_row_change();
  std::vector<Pooled>& pool = row ? rows_ : others_;
  if (pool.size() >= (row ? kMaxRowChanges : kMaxOtherChanges)) return;
  const std::size_t bytes = pipeline::retained_bytes(change);
  if (bytes > kMaxChangeBytes || bytes_ + bytes > kMaxBytes) return;
  bytes_ += bytes;
  pool.push_back(Pooled{std::move(change), bytes});
}

EventBatch ChangePool::take_batch() {
  if (spare_batches_.empty()) return {};
  EventBatch batch = std::move(spare_batches_.back());
  spare_batches_.pop_back();
  return batch;
}

void ChangePool::refill() {
  EventBatch batch;
  while (recycler_.take(batch)) {
    for (StreamEvent& event : batch) give(std::move(event.change));
    batch.clear();
    if (spare_batches_.size() < 2) spare_batches_.push_back(std::move(batch));
  }
}

}  // namespace cdc::pipeline
