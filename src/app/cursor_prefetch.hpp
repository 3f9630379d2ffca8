#pragma once
// FETCH from a cursor one batch ahead of the consumer, on a thread of its own:
// the server produces (and libpq parses) the next batch while the caller
// publishes this one, instead of each side waiting for the other.
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#include "cdc/core/pg.hpp"

namespace cdc::app {

class CursorPrefetch {
 public:
  /// The connection belongs to the fetch thread from here until the destructor
  /// has joined it: the caller must not use it meanwhile.
  CursorPrefetch(pg::Connection& conn, const std::string& cursor, int batch_rows);
  ~CursorPrefetch();
  CursorPrefetch(const CursorPrefetch&) = delete;
  CursorPrefetch& operator=(const CursorPrefetch&) = delete;

  /// The next batch in cursor order; a result with no rows once the cursor is
  /// exhausted. Rethrows the error that ended the fetch thread.
  pg::Result next();

 private:
  static constexpr std::size_t kAhead = 2;  ///< batches fetched but not yet taken

  void run();

  pg::Connection& conn_;
  const std::string fetch_sql_;

  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<pg::Result> ready_;  ///< guarded by mu_; the last one is empty when the cursor ended
  bool ended_ = false;            ///< guarded by mu_: the thread fetched the empty batch or failed
  bool stop_ = false;             ///< guarded by mu_: set by the destructor
  std::exception_ptr error_;      ///< guarded by mu_

  std::thread thread_;  ///< last: starts once the members above exist
};

}  // namespace cdc::app
