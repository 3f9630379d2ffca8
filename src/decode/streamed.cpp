// The streaming side of the decoder seam: ChangeOutput's and Decoder's
// defaults for outputs and decoders that take no streamed transactions, and
// the Begin/Commit Changes that both the plain and the streamed path make.
#include <stdexcept>

#include "cdc/decode/decoder.hpp"

namespace cdc::decode {
namespace {

[[noreturn]] void no_streaming(const char* what) {
  throw std::logic_error(std::string(what) + ": this output or decoder takes no streamed transactions");
}

void set_bound(Change& change, Action action, std::uint32_t xid, Lsn commit_lsn, Lsn next_lsn,
               std::int64_t commit_time_us) {
  change.action = action;
  change.xid = xid;
  change.lsn = commit_lsn;
  change.next_lsn = next_lsn;
  change.timestamp_us = commit_time_us;
  change.clear_relation_and_message();
  change.columns.clear();
  change.identity.clear();
}

}  // namespace

void ChangeOutput::streamed_message(std::uint32_t, std::uint32_t, std::string_view, Lsn) {
  no_streaming("streamed_message");
}
void ChangeOutput::streamed_abort(std::uint32_t, std::uint32_t) { no_streaming("streamed_abort"); }
void ChangeOutput::streamed_commit(const StreamedCommit&) { no_streaming("streamed_commit"); }

void Decoder::decode_streamed(std::string_view, Lsn, const StreamedCommit&, ChangeOutput&) {
  no_streaming("decode_streamed");
}

void set_begin(Change& change, std::uint32_t xid, Lsn commit_lsn, std::int64_t commit_time_us) {
  set_bound(change, Action::Begin, xid, commit_lsn, 0, commit_time_us);
}

void set_commit(Change& change, std::uint32_t xid, Lsn commit_lsn, Lsn end_lsn, std::int64_t commit_time_us) {
  set_bound(change, Action::Commit, xid, commit_lsn, end_lsn, commit_time_us);
}

}  // namespace cdc::decode
