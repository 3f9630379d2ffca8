#include "cdc/pipeline/snapshot_chunks.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace cdc::pipeline {
namespace {

constexpr std::string_view kChunkField = "{\"chunk\":\"";
constexpr std::string_view kMarkField = "\",\"mark\":\"";

void append_key_part(std::string& key, const decode::Column& column) {
  // Text only: the stream and a SELECT agree on the text of a key value, and
  // a separator that cannot occur in it keeps the parts apart.
  key += column.is_null() ? std::string_view("\x01") : std::string_view(column.text);
  key += '\x1f';
}

}  // namespace

std::string watermark_content(const Watermark& mark) {
  return fmt::format("{}{}{}{}\"}}", kChunkField, mark.chunk, kMarkField,
                     mark.kind == Watermark::Kind::Low ? "low" : "high");
}

std::optional<Watermark> parse_watermark(const decode::Change& message) {
  if (message.action != decode::Action::Message || message.prefix != kWatermarkPrefix) return std::nullopt;
  std::string_view content = message.content;
  if (!content.starts_with(kChunkField)) return std::nullopt;
  content.remove_prefix(kChunkField.size());
  Watermark mark;
  const auto [end, error] = std::from_chars(content.data(), content.data() + content.size(), mark.chunk);
  if (error != std::errc()) return std::nullopt;
  content.remove_prefix(static_cast<std::size_t>(end - content.data()));
  if (!content.starts_with(kMarkField)) return std::nullopt;
  content.remove_prefix(kMarkField.size());
  if (content == "low\"}") {
    mark.kind = Watermark::Kind::Low;
  } else if (content == "high\"}") {
    mark.kind = Watermark::Kind::High;
  } else {
    return std::nullopt;
  }
  return mark;
}

std::optional<std::string> SnapshotChunks::row_key(const decode::Change& change,
                                                   const std::vector<std::string>& key_columns, bool old) {
  std::string key;
  for (const auto& name : key_columns) {
    const decode::Column* column = old ? change.old_column(name) : change.column(name);
    if (column == nullptr) return std::nullopt;
    append_key_part(key, *column);
  }
  return key;
}

void SnapshotChunks::offer(SnapshotChunk chunk) {
  const std::lock_guard lock(mutex_);
  const std::uint64_t id = chunk.id;
  Window& window = windows_[id];
  if (window.open) --open_windows_;
  window = Window{};
  window.chunk = std::move(chunk);
  noting_commits_.store(true);
}

void SnapshotChunks::fill(std::uint64_t id, std::vector<decode::Change> rows, std::vector<std::uint32_t> invisible_xids) {
  const std::lock_guard lock(mutex_);
  const auto it = windows_.find(id);
  if (it == windows_.end()) return;
  it->second.chunk.rows = std::move(rows);
  it->second.chunk.invisible_xids = std::move(invisible_xids);
}

void SnapshotChunks::retire(std::uint64_t id) {
  const std::lock_guard lock(mutex_);
  const auto it = windows_.find(id);
  if (it == windows_.end()) return;
  if (it->second.open) --open_windows_;
  windows_.erase(it);
}

void SnapshotChunks::clear() {
  const std::lock_guard lock(mutex_);
  windows_.clear();
  open_windows_.store(0);
  noting_commits_.store(false);
}

void SnapshotChunks::low(std::uint64_t id) {
  const std::lock_guard lock(mutex_);
  const auto it = windows_.find(id);
  if (it == windows_.end()) return;
  Window& window = it->second;
  if (!window.open) ++open_windows_;
  window.open = true;
  window.truncated = false;
  window.changed_keys.clear();
  window.commits_before_low = commits_noted_;
}

void SnapshotChunks::transaction_committed(std::uint32_t xid) {
  if (!noting_commits_.load()) return;
  const std::lock_guard lock(mutex_);
  recent_commits_[commits_noted_ % recent_commits_.size()] = xid;
  ++commits_noted_;
}

bool SnapshotChunks::invisible_committed_before_low(const Window& window) const {
  const std::vector<std::uint32_t>& invisible = window.chunk.invisible_xids;
  if (invisible.empty()) return false;
  const std::uint64_t size = recent_commits_.size();
  const std::uint64_t oldest_kept = commits_noted_ > size ? commits_noted_ - size : 0;
  for (std::uint64_t i = oldest_kept; i < window.commits_before_low; ++i) {
    const std::uint32_t xid = recent_commits_[i % recent_commits_.size()];
    if (std::find(invisible.begin(), invisible.end(), xid) != invisible.end()) return true;
  }
  return false;
}

void SnapshotChunks::observe(const decode::Change& change) {
  if (open_windows_.load() == 0) return;
  if (!change.is_row_change() && change.action != decode::Action::Truncate) return;
  const std::lock_guard lock(mutex_);
  for (auto& [id, window] : windows_) {
    if (!window.open || window.chunk.table != change.table || window.chunk.schema != change.schema) continue;
    if (change.action == decode::Action::Truncate) {
      window.truncated = true;
      continue;
    }
    const auto& keys = window.chunk.key_columns;
    if (change.action != decode::Action::Delete) {
      if (auto key = row_key(change, keys, false)) window.changed_keys.insert(std::move(*key));
    }
    if (change.action != decode::Action::Insert) {
      if (auto key = row_key(change, keys, true)) window.changed_keys.insert(std::move(*key));
    }
  }
}

std::size_t SnapshotChunks::high(std::uint64_t id, const std::function<void(const decode::Change&)>& emit) {
  const std::lock_guard lock(mutex_);
  const auto it = windows_.find(id);
  if (it == windows_.end()) return 0;
  Window& window = it->second;
  if (window.open) --open_windows_;
  window.open = false;
  if (window.truncated) return 0;
  if (invisible_committed_before_low(window)) {
    window.reread = true;
    return 0;
  }
  std::size_t emitted = 0;
  for (const decode::Change& row : window.chunk.rows) {
    const std::optional<std::string> key = row_key(row, window.chunk.key_columns, false);
    if (key && window.changed_keys.contains(*key)) continue;
    emit(row);
    ++emitted;
  }
  rows_emitted_ += emitted;
  return emitted;
}

void SnapshotChunks::committed(std::uint64_t id, Lsn end) {
  const std::lock_guard lock(mutex_);
  const auto it = windows_.find(id);
  if (it != windows_.end()) it->second.emitted_end = end;
}

bool SnapshotChunks::needs_reread(std::uint64_t id) const {
  const std::lock_guard lock(mutex_);
  const auto it = windows_.find(id);
  return it != windows_.end() && it->second.reread;
}

std::optional<Lsn> SnapshotChunks::emitted_end(std::uint64_t id) const {
  const std::lock_guard lock(mutex_);
  const auto it = windows_.find(id);
  if (it == windows_.end()) return std::nullopt;
  return it->second.emitted_end;
}

}  // namespace cdc::pipeline
