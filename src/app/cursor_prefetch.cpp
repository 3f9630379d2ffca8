#include "cursor_prefetch.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace cdc::app {

CursorPrefetch::CursorPrefetch(pg::Connection& conn, const std::string& cursor, int batch_rows)
    : conn_(conn),
      fetch_sql_(fmt::format("FETCH FORWARD {} FROM {}", batch_rows, conn.quote_identifier(cursor))),
      thread_([this] { run(); }) {}

CursorPrefetch::~CursorPrefetch() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();  // after at most the FETCH in flight
}

pg::Result CursorPrefetch::next() {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [this] { return !ready_.empty() || ended_; });
  if (ready_.empty()) {
    // ended_ without a batch: the thread failed, or the caller asks again after the empty batch.
    if (error_) std::rethrow_exception(error_);
    throw std::logic_error("CursorPrefetch::next() after the cursor's end");
  }
  pg::Result batch = std::move(ready_.front());
  ready_.pop_front();
  changed_.notify_all();
  return batch;
}

void CursorPrefetch::run() {
  try {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        changed_.wait(lock, [this] { return ready_.size() < kAhead || stop_; });
        if (stop_) return;
      }
      pg::Result batch = conn_.exec(fetch_sql_);
      const bool last = batch.rows() == 0;
      {
        std::lock_guard lock(mu_);
        ready_.push_back(std::move(batch));
        ended_ = last;
      }
      changed_.notify_all();
      if (last) return;
    }
  } catch (...) {
    {
      std::lock_guard lock(mu_);
      error_ = std::current_exception();
      ended_ = true;
    }
    changed_.notify_all();
  }
}

}  // namespace cdc::app
