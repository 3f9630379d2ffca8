#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cdc/core/lsn.hpp"
#include "cdc/decode/change.hpp"

namespace cdc::pipeline {

/// Prefix of the logical decoding messages (pg_logical_emit_message) that
/// bound an online snapshot chunk in the WAL.
inline constexpr std::string_view kWatermarkPrefix = "customer-cdc.snapshot";

/// A low or high watermark of chunk `chunk`, as written into the WAL.
struct Watermark {
  enum class Kind { Low, High };
  Kind kind = Kind::Low;
  std::uint64_t chunk = 0;
  bool operator==(const Watermark&) const = default;
};

/// The message content of a watermark: {"chunk":"<id>","mark":"low"|"high"}.
std::string watermark_content(const Watermark& mark);
/// The watermark a logical message carries, or nullopt (another prefix, or content not ours).
std::optional<Watermark> parse_watermark(const decode::Change& message);

/// One chunk of an online snapshot: rows of one table read between its low
/// and high watermark, as snapshot reads (Action::Read, columns only).
struct SnapshotChunk {
  std::uint64_t id = 0;
  std::string schema;
  std::string table;
  std::vector<std::string> key_columns;  ///< the primary key
  std::vector<decode::Change> rows;
  /// Transactions in progress for the SELECT's snapshot (low 32 bits of
  /// their xids): their changes are not in the rows.
  std::vector<std::uint32_t> invisible_xids;
};

/// The DBLog merge of snapshot chunks into the change stream. The snapshot
/// thread offers a chunk (its table and key, no rows yet) before it writes
/// the low watermark (the writer may pass the low watermark before the SELECT
/// returns), fills in its rows after the SELECT and before it writes the high
/// watermark, and retires it once the slot is acknowledged past the end of
/// the high watermark's transaction (emitted_end()); the writer thread, in stream order, opens a chunk's window at
/// its low watermark, notes the keys that change inside it, and at its high
/// watermark emits the chunk's rows whose key did not change in the window
/// (a read never overtakes or undoes a newer change of the same key).
///
/// A chunk stays offered until retired, so a session that replays the window
/// after a reconnect emits its rows again (at-least-once, like the changes).
/// Watermarks of chunks not offered (an earlier process's) are ignored.
///
/// A transaction that committed before the low watermark but was still
/// invisible to the SELECT (its commit not yet visible to new snapshots) has
/// its changes before the window and not in the rows: the rows would undo
/// them. While chunks are offered the writer notes each commit's xid; at the
/// high watermark a chunk whose invisible transactions include one that
/// committed before its low watermark emits nothing and is marked to be read
/// again (needs_reread()).
/// Thread-safe.
class SnapshotChunks {
 public:
  void offer(SnapshotChunk chunk);
  /// The rows of an offered chunk (before its high watermark is written) and
  /// the transactions its SELECT did not see.
  void fill(std::uint64_t id, std::vector<decode::Change> rows, std::vector<std::uint32_t> invisible_xids = {});
  void retire(std::uint64_t id);
  /// Forgets every chunk (the snapshot ended or was cancelled).
  void clear();

  /// Writer: a low watermark; (re)opens the chunk's window with no key changed.
  void low(std::uint64_t id);
  /// Writer: a row change or truncate of the stream; notes its keys in open windows.
  void observe(const decode::Change& change);
  /// Writer: a transaction of the stream committed (noted while chunks are offered).
  void transaction_committed(std::uint32_t xid);
  /// Writer: a high watermark; closes the window and calls `emit` for each
  /// row whose key did not change in it (none after a truncate). Returns the rows emitted.
  std::size_t high(std::uint64_t id, const std::function<void(const decode::Change&)>& emit);

  /// Writer: the transaction of the chunk's high watermark committed, ending at `end`.
  void committed(std::uint64_t id, Lsn end);
  /// Where the transaction that emitted the chunk's rows ends, once the writer handed it over in full.
  std::optional<Lsn> emitted_end(std::uint64_t id) const;
  /// The chunk's high watermark emitted nothing: a transaction committed
  /// before its low watermark was invisible to its SELECT. Read it again.
  bool needs_reread(std::uint64_t id) const;

  /// Rows emitted at high watermarks so far (replays count again).
  std::uint64_t rows_emitted() const { return rows_emitted_.load(); }

  /// The key of a row (the values of `key_columns`, from the new tuple when
  /// `old` is false, else from the old one); nullopt when a key column is missing.
  static std::optional<std::string> row_key(const decode::Change& change,
                                            const std::vector<std::string>& key_columns, bool old);

 private:
  struct Window {
    SnapshotChunk chunk;
    bool open = false;
    bool truncated = false;
    std::set<std::string> changed_keys;
    std::optional<Lsn> emitted_end;
    std::uint64_t commits_before_low = 0;  ///< commits_noted_ at the low watermark
    bool reread = false;
  };

  /// Whether one of the chunk's invisible transactions committed before its low watermark.
  bool invisible_committed_before_low(const Window& window) const;

  mutable std::mutex mutex_;
  std::map<std::uint64_t, Window> windows_;  ///< by chunk id
  /// Fast path for observe(): no window open, no lock.
  std::atomic<int> open_windows_{0};
  /// From the first offer until clear(): the writer notes commits.
  std::atomic<bool> noting_commits_{false};
  /// The xids of the last commits (a ring: commits_noted_ % size), far more
  /// than commit in the moment a transaction takes to become visible.
  std::vector<std::uint32_t> recent_commits_ = std::vector<std::uint32_t>(8192);
  std::uint64_t commits_noted_ = 0;
  std::atomic<std::uint64_t> rows_emitted_{0};
};

}  // namespace cdc::pipeline
