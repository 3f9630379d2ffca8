#pragma once
// A MessageStream that plays a script of XLogData and keepalives, for tests
// of the pipeline without a server.
#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cdc/stream/message_stream.hpp"

namespace cdc::test {

/// Plays a list of messages, then stays silent. Reader thread only.
class ScriptedStream : public stream::MessageStream {
 public:
  void xlog(Lsn position, std::string payload) {
    script_.push_back({position, std::move(payload), false});
  }
  void keepalive(Lsn wal_end) { script_.push_back({wal_end, {}, true}); }

  std::optional<stream::Received> next(std::chrono::milliseconds timeout) override {
    if (script_.empty()) {
      std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(1)));
      return std::nullopt;
    }
    played_.push_back(std::move(script_.front()));
    script_.pop_front();
    const Entry& entry = played_.back();
    if (entry.keepalive) return stream::Received{nullptr, stream::Keepalive{entry.position, 0, false}};
    return stream::Received{nullptr, stream::XLogData{entry.position, entry.position, 0, entry.payload}};
  }
  void send_status(Lsn written, Lsn flushed, bool reply_requested) override {
    statuses.push_back({written, flushed});
    if (!reply_requested) return;
    ++reply_requests;
    if (answer_reply_requests) keepalive(written);
  }

  std::vector<std::pair<Lsn, Lsn>> statuses;  ///< (written, flushed)
  int reply_requests = 0;                     ///< status updates that asked the server for a reply
  bool answer_reply_requests = false;         ///< a live server: a keepalive answers each such request

 private:
  struct Entry {
    Lsn position;
    std::string payload;
    bool keepalive;
  };
  std::deque<Entry> script_;
  std::deque<Entry> played_;  ///< keeps payloads alive while the reader holds views into them
};

}  // namespace cdc::test
