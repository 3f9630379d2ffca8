#pragma once
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "cdc/core/errors.hpp"
#include "cdc/core/lsn.hpp"

namespace cdc::pipeline {

/// The spool directory or one of its files cannot be created, written or
/// read. Fatal: nothing of the transaction was acknowledged, and the message
/// names the path and the fix.
class SpoolError : public FatalError {
 public:
  SpoolError(const std::string& problem, const std::string& fix) : FatalError(problem + "; " + fix), problem_(problem) {}
  /// what() without the fix.
  const std::string& problem() const { return problem_; }

 private:
  std::string problem_;
};

/// One message of a streamed transaction, as it was kept.
struct SpooledMessage {
  std::uint32_t subxid = 0;  ///< the (sub)transaction that made it
  Lsn wal_position = 0;
  std::string payload;
};

/// Creates `directory` (mode 0700) where missing and checks that the daemon
/// can create files in it; throws SpoolError naming the fix.
void prepare_spool_directory(const std::filesystem::path& directory);

/// Keeps the messages of transactions the server streams before their commit
/// in files, one per top-level transaction ("<xid>.spool"), so that memory
/// stays bounded whatever a transaction's size and however many are
/// interleaved. Messages of aborted subtransactions are skipped when the
/// transaction is read back; the abort of the transaction deletes its file.
/// The files are scratch: a new session receives every unacknowledged
/// transaction again, so the constructor deletes what an earlier one left.
/// Reader thread only.
class StreamSpool {
 public:
  /// prepare_spool_directory, then deletes the directory's *.spool files.
  explicit StreamSpool(std::filesystem::path directory);
  /// Closes and deletes the files of transactions still open.
  ~StreamSpool();
  StreamSpool(const StreamSpool&) = delete;
  StreamSpool& operator=(const StreamSpool&) = delete;

  /// Appends a message of transaction `xid` made in `subxid`.
  void append(std::uint32_t xid, std::uint32_t subxid, Lsn wal_position, std::string_view payload);
  /// Subtransaction `subxid` of `xid` aborted; `subxid == xid`: the whole
  /// transaction, whose file is deleted. An xid never seen is ignored.
  void abort(std::uint32_t xid, std::uint32_t subxid);
  /// Hands `xid`'s messages, less those of aborted subtransactions, to
  /// `each` in the order they came, then deletes the file. `each` returns
  /// false to stop early (the file is deleted all the same). A transaction
  /// without kept messages gives none.
  void replay(std::uint32_t xid, const std::function<bool(const SpooledMessage&)>& each);

  /// Transactions with a file (streamed, neither committed nor aborted).
  std::size_t open_transactions() const { return open_.size(); }
  const std::filesystem::path& directory() const { return directory_; }

 private:
  struct OpenTransaction {
    std::filesystem::path path;
    std::FILE* file = nullptr;
    std::unordered_set<std::uint32_t> aborted_subxids;
  };

  OpenTransaction& open(std::uint32_t xid);
  void close_and_delete(OpenTransaction& txn);
  [[noreturn]] void fail(const std::string& doing, const std::filesystem::path& path, int error) const;

  std::filesystem::path directory_;
  std::unordered_map<std::uint32_t, OpenTransaction> open_;
};

}  // namespace cdc::pipeline
