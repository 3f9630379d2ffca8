#include "cdc/pipeline/stream_spool.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

namespace cdc::pipeline {
namespace {

constexpr std::string_view kExtension = ".spool";

/// What precedes each payload in a spool file (host byte order: the file
/// never leaves the process that wrote it).
struct RecordHeader {
  std::uint32_t payload_size;
  std::uint32_t subxid;
  Lsn wal_position;
};

std::string fix_for(const std::filesystem::path& directory) {
  return fmt::format("streamed transactions wait in postgres.spool_dir ({}) until they commit: give the daemon's "
                     "user write access and free space there, point postgres.spool_dir at a directory that has "
                     "both, or set postgres.streaming = false",
                     directory.string());
}

}  // namespace

void prepare_spool_directory(const std::filesystem::path& directory) {
  std::error_code ec;
  if (!std::filesystem::exists(directory, ec)) {
    std::filesystem::create_directories(directory, ec);
    if (!ec) std::filesystem::permissions(directory, std::filesystem::perms::owner_all, ec);
    if (ec) {
      throw SpoolError(fmt::format("cannot create the spool directory {}: {}", directory.string(), ec.message()),
                       fix_for(directory));
    }
  }
  if (!std::filesystem::is_directory(directory, ec)) {
    throw SpoolError(fmt::format("the spool directory {} is not a directory", directory.string()),
                     fix_for(directory));
  }
  if (::access(directory.c_str(), W_OK | X_OK) != 0) {
    throw SpoolError(fmt::format("cannot write in the spool directory {}: {}", directory.string(),
                                 std::strerror(errno)),
                     fix_for(directory));
  }
}

StreamSpool::StreamSpool(std::filesystem::path directory) : directory_(std::move(directory)) {
  prepare_spool_directory(directory_);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(directory_, ec)) {
    if (entry.path().extension() != kExtension) continue;
    std::filesystem::remove(entry.path(), ec);
    if (ec) fail("delete the old spool file", entry.path(), ec.value());
  }
  if (ec) fail("list", directory_, ec.value());
}

StreamSpool::~StreamSpool() {
  for (auto& [xid, txn] : open_) close_and_delete(txn);
}

StreamSpool::OpenTransaction& StreamSpool::open(std::uint32_t xid) {
  const auto found = open_.find(xid);
  if (found != open_.end()) return found->second;
  OpenTransaction txn;
  txn.path = directory_ / (std::to_string(xid) + std::string(kExtension));
  txn.file = std::fopen(txn.path.c_str(), "w+b");
  if (txn.file == nullptr) fail("create", txn.path, errno);
  return open_.emplace(xid, std::move(txn)).first->second;
}

void StreamSpool::append(std::uint32_t xid, std::uint32_t subxid, Lsn wal_position, std::string_view payload) {
  OpenTransaction& txn = open(xid);
  const RecordHeader header{static_cast<std::uint32_t>(payload.size()), subxid, wal_position};
  if (std::fwrite(&header, sizeof header, 1, txn.file) != 1 ||
      (!payload.empty() && std::fwrite(payload.data(), payload.size(), 1, txn.file) != 1)) {
    fail("write", txn.path, errno);
  }
}

void StreamSpool::abort(std::uint32_t xid, std::uint32_t subxid) {
  const auto found = open_.find(xid);
  if (found == open_.end()) return;
  if (subxid == xid) {
    close_and_delete(found->second);
    open_.erase(found);
  } else {
    found->second.aborted_subxids.insert(subxid);
  }
}

void StreamSpool::replay(std::uint32_t xid, const std::function<bool(const SpooledMessage&)>& each) {
  const auto found = open_.find(xid);
  if (found == open_.end()) return;
  struct Finish {
    StreamSpool& spool;
    std::unordered_map<std::uint32_t, OpenTransaction>::iterator txn;
    ~Finish() {
      spool.close_and_delete(txn->second);
      spool.open_.erase(txn);
    }
  } finish{*this, found};
  OpenTransaction& txn = found->second;
  if (std::fflush(txn.file) != 0) fail("write", txn.path, errno);
  if (std::fseek(txn.file, 0, SEEK_SET) != 0) fail("rewind", txn.path, errno);
  SpooledMessage message;
  RecordHeader header{};
  while (std::fread(&header, sizeof header, 1, txn.file) == 1) {
    message.subxid = header.subxid;
    message.wal_position = header.wal_position;
    message.payload.resize(header.payload_size);
    if (header.payload_size > 0 && std::fread(message.payload.data(), header.payload_size, 1, txn.file) != 1) {
      fail("read", txn.path, std::ferror(txn.file) ? errno : 0);
    }
    if (txn.aborted_subxids.contains(message.subxid)) continue;
    if (!each(message)) return;
  }
  if (std::ferror(txn.file)) fail("read", txn.path, errno);
}

void StreamSpool::close_and_delete(OpenTransaction& txn) {
  if (txn.file != nullptr) std::fclose(txn.file);
  txn.file = nullptr;
  std::error_code ignored;  // a file that stays behind is deleted by the next session
  std::filesystem::remove(txn.path, ignored);
}

void StreamSpool::fail(const std::string& doing, const std::filesystem::path& path, int error) const {
  throw SpoolError(fmt::format("cannot {} the spool file {}: {}", doing, path.string(),
                               error != 0 ? std::strerror(error) : "it ends early"),
                   fix_for(directory_));
}

}  // namespace cdc::pipeline
