#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>

namespace cdc {

/// Lets another thread see that a connection's owner is stuck in one call to
/// the server, and end that connection: shutdown(2) on the socket wakes the
/// blocked call with an error (a hung server process answers neither a
/// statement timeout nor a cancel). The owner arms it with its socket once
/// connected and disarms it before closing the connection, so a descriptor
/// number reused by someone else is never shut down.
///
/// Threads: arm, disarm and Call on the owner's thread; calls(), in_call()
/// and trip() from any thread.
class ConnectionWatch {
 public:
  /// Marks one call to the server (cheap: two relaxed atomic stores).
  class Call {
   public:
    explicit Call(ConnectionWatch* watch) : watch_(watch) {
      if (watch_ == nullptr) return;
      watch_->calls_.fetch_add(1, std::memory_order_relaxed);
      watch_->in_call_.store(true, std::memory_order_relaxed);
    }
    ~Call() {
      if (watch_ != nullptr) watch_->in_call_.store(false, std::memory_order_relaxed);
    }
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

   private:
    ConnectionWatch* watch_;
  };

  void arm(int socket);
  void disarm();

  /// Calls started so far; with in_call(), tells one long call from many short ones.
  std::uint64_t calls() const { return calls_.load(std::memory_order_relaxed); }
  bool in_call() const { return in_call_.load(std::memory_order_relaxed); }

  /// Shuts the armed socket down; false when none is armed.
  bool trip();

 private:
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<bool> in_call_{false};
  std::mutex mutex_;
  int socket_ = -1;  ///< guarded by mutex_
};

}  // namespace cdc
