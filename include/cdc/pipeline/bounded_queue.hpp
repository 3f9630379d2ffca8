#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace cdc::pipeline {

/// A blocking FIFO of bounded capacity (counted in `weight` units, e.g. events)
/// between the stream reader and the sink writer. Waits are bounded so that
/// neither side stops answering its own peer.
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : capacity_(capacity) {}

  /// False on timeout or when the queue is closed; `item` is then left as it
  /// was. An item heavier than the capacity is accepted into an empty queue.
  bool push(T&& item, std::size_t weight, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!not_full_.wait_for(lock, timeout, [&] {
          return closed_ || weight_ == 0 || weight_ + weight <= capacity_;
        })) {
      return false;
    }
    if (closed_) return false;
    items_.emplace_back(std::move(item), weight);
    weight_ += weight;
    not_empty_.notify_one();
    return true;
  }

  /// nullopt on timeout, or when the queue is closed and empty.
  std::optional<T> pop(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!not_empty_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); })) return std::nullopt;
    if (items_.empty()) return std::nullopt;
    auto [item, weight] = std::move(items_.front());
    items_.pop_front();
    weight_ -= weight;
    not_full_.notify_one();
    return std::move(item);
  }

  /// Wakes every waiter; later pushes fail, pops drain what is left.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  bool empty() const {
    std::lock_guard lock(mutex_);
    return items_.empty();
  }
  std::size_t weight() const {
    std::lock_guard lock(mutex_);
    return weight_;
  }

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<std::pair<T, std::size_t>> items_;
  std::size_t weight_ = 0;
  bool closed_ = false;
};

}  // namespace cdc::pipeline
