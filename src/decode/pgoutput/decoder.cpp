// pgoutput protocol version 1 ("Logical Replication Message Formats" in the
// PostgreSQL documentation; src/backend/replication/logical/proto.c). Each
// XLogData payload is one message, its first byte the message type. Row
// messages (row_messages.cpp) refer to a relation by OID, described earlier in
// the session by a Relation message.
//
// Protocol version 2 (streaming 'on') adds Stream Start/Stop/Commit/Abort:
// the server sends a large transaction in chunks while it runs, each between
// Stream Start and Stream Stop, and tells its fate later (Stream Commit, or
// Stream Abort of it or of one of its subtransactions). Inside a chunk, R, Y,
// I, U, D, T and M carry an Int32 xid (the subtransaction's) right after the
// type byte. Those messages go to ChangeOutput::streamed_message as they came;
// decode_streamed reads them again at the commit, with the readers below
// (which take a WireReader positioned after the type byte and xid).
#include <limits>
#include <memory>

#include "cdc/decode/pgoutput/pgoutput.hpp"
#include "binary_values.hpp"
#include "relation_cache.hpp"
#include "row_messages.hpp"
#include "wire_reader.hpp"

namespace cdc::decode {
namespace {

/// PostgreSQL timestamps count microseconds from 2000-01-01 00:00 UTC.
constexpr std::int64_t kUnixUsAt2000 = 946'684'800'000'000;

/// A commit timestamp as microseconds since the Unix epoch; one outside
/// PostgreSQL's timestamp range (4714 BC to 294276 AD), or too late for
/// Change::timestamp_us (the last ~30 years of that range), is malformed.
std::int64_t read_commit_time(pgoutput::WireReader& reader) {
  const std::int64_t pg_time = reader.i64("the commit timestamp");
  constexpr std::int64_t kLatest = std::numeric_limits<std::int64_t>::max() - kUnixUsAt2000;
  if (pg_time < pgoutput::kMinTimestamp || pg_time >= pgoutput::kEndTimestamp || pg_time > kLatest) {
    reader.fail("commit timestamp " + std::to_string(pg_time) + " out of range");
  }
  return pg_time + kUnixUsAt2000;
}

/// Truncate option bits (TRUNCATE_CASCADE, TRUNCATE_RESTART_SEQS).
constexpr std::uint8_t kKnownTruncateOptions = 1 | 2;

/// Logical message flag: transactional.
constexpr std::uint8_t kTransactionalFlag = 1;

void reset_transaction_fields(Change& change) {
  change.clear_relation_and_message();
  change.columns.clear();
  change.identity.clear();
}

}  // namespace

std::string quote_publication(std::string_view publication) {
  std::string out = "\"";
  for (char c : publication) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

PgoutputDecoder::PgoutputDecoder(const DecoderSettings& settings)
    : publication_(settings.publication),
      binary_(settings.binary),
      streaming_(settings.streaming),
      relations_(std::make_unique<pgoutput::RelationCache>()) {}

PgoutputDecoder::~PgoutputDecoder() = default;

PluginOptions PgoutputDecoder::start_options(const std::vector<std::string>&) const {
  PluginOptions options{{"proto_version", streaming_ ? "2" : "1"},
                        {"publication_names", quote_publication(publication_)}};
  if (binary_) options.emplace_back("binary", "true");
  options.emplace_back("messages", "true");
  if (streaming_) options.emplace_back("streaming", "on");
  return options;
}

bool PgoutputDecoder::bounds_transaction(std::string_view payload) const {
  return !payload.empty() && (payload[0] == 'B' || payload[0] == 'C');
}

std::string PgoutputDecoder::describe(const Change& change) const { return describe_change(change); }

void PgoutputDecoder::reset() {
  relations_->clear();
  transaction_ = {};
  stream_xid_.reset();
}

void PgoutputDecoder::decode(std::string_view payload, Lsn wal_position, ChangeOutput& out) {
  pgoutput::WireReader reader(payload, wal_position);
  const char type = static_cast<char>(reader.u8("the message type"));
  if (stream_xid_) return decode_in_stream(type, reader, payload, wal_position, out);
  switch (type) {
    case 'B': return decode_begin(reader, out);
    case 'C': return decode_commit(reader, out);
    case 'O': return skip_origin(reader);
    case 'S': return decode_stream_start(reader);
    case 'c': return decode_stream_commit(reader, out);
    case 'A': return decode_stream_abort(reader, out);
    case 'E': reader.fail("Stream Stop outside a stream");
    default:
      if (!decode_transaction_message(type, reader, wal_position, out)) fail_unknown(type, reader);
  }
}

void PgoutputDecoder::decode_streamed(std::string_view payload, Lsn wal_position, const StreamedCommit& commit,
                                      ChangeOutput& out) {
  pgoutput::WireReader reader(payload, wal_position);
  const char type = static_cast<char>(reader.u8("the message type"));
  reader.u32("the xid");  // the subtransaction's: Changes carry the top-level xid, as between B and C
  struct RestoreTransaction {
    Transaction& transaction;
    const Transaction previous;
    ~RestoreTransaction() { transaction = previous; }
  } restore{transaction_, transaction_};
  transaction_ = {commit.xid, commit.commit_time_us};
  if (!decode_transaction_message(type, reader, wal_position, out)) fail_unknown(type, reader);
}

bool PgoutputDecoder::decode_transaction_message(char type, pgoutput::WireReader& reader, Lsn wal_position,
                                                 ChangeOutput& out) {
  switch (type) {
    case 'I':
    case 'U':
    case 'D':
      pgoutput::read_row_change(type, reader, *relations_, {transaction_.xid, transaction_.commit_time_us},
                                wal_position, out.next_change(true));
      return true;
    case 'T': decode_truncate(reader, wal_position, out); return true;
    case 'M': decode_message(reader, out); return true;
    case 'R': pgoutput::read_relation(reader, *relations_); return true;
    case 'Y': pgoutput::read_type(reader, *relations_); return true;
    default: return false;
  }
}

void PgoutputDecoder::fail_unknown(char type, const pgoutput::WireReader& reader) const {
  reader.fail("unknown message type " + std::to_string(static_cast<unsigned char>(type)) +
              (type >= 0x20 && type < 0x7F ? std::string(" '") + type + "'" : std::string()) +
              (stream_xid_ ? " inside the stream of transaction " + std::to_string(*stream_xid_) : std::string()));
}

// Origin: Int64 the origin's commit LSN, String the origin's name. The Change
// model has no origin (wal2json is not asked for one).
void PgoutputDecoder::skip_origin(pgoutput::WireReader& reader) {
  reader.u64("the origin LSN");
  reader.cstring("the origin name");
  reader.expect_end("Origin");
}

// Begin:
//   Byte1('B')
//   Int64  final LSN of the transaction (the commit record's LSN)
//   Int64  commit timestamp (microseconds since 2000-01-01)
//   Int32  xid
// The Change: lsn = commit LSN; next_lsn 0 (told at Commit).
void PgoutputDecoder::decode_begin(pgoutput::WireReader& reader, ChangeOutput& out) {
  const Lsn commit_lsn = reader.u64("the final LSN");
  const std::int64_t commit_time = read_commit_time(reader);
  const std::uint32_t xid = reader.u32("the xid");
  reader.expect_end("Begin");
  transaction_ = {xid, commit_time};
  set_begin(out.next_change(false), xid, commit_lsn, commit_time);
}

// Commit:
//   Byte1('C')
//   Int8   flags (unused, 0)
//   Int64  LSN of the commit record
//   Int64  end LSN of the transaction (the position to acknowledge)
//   Int64  commit timestamp
// The xid is the Begin's.
void PgoutputDecoder::decode_commit(pgoutput::WireReader& reader, ChangeOutput& out) {
  reader.u8("the flags");
  const Lsn commit_lsn = reader.u64("the commit LSN");
  const Lsn end_lsn = reader.u64("the end LSN");
  const std::int64_t commit_time = read_commit_time(reader);
  reader.expect_end("Commit");
  set_commit(out.next_change(false), transaction_.xid, commit_lsn, end_lsn, commit_time);
  transaction_ = {};
}

// Inside a stream chunk (between Stream Start and Stream Stop):
//   R, Y, I, U, D, T, M: Byte1(type), Int32 xid of the (sub)transaction, then
//                        the message as outside a stream
//   O: Origin, as outside (after the Stream Start of the first chunk)
//   E: Stream Stop, Byte1('E') alone
// Relation and Type messages are kept under the top-level xid, so the abort
// of the subtransaction that sent them does not drop them: pgoutput describes
// a relation once per streamed transaction, and rows of later
// subtransactions rely on that description.
void PgoutputDecoder::decode_in_stream(char type, pgoutput::WireReader& reader, std::string_view payload,
                                       Lsn wal_position, ChangeOutput& out) {
  const std::uint32_t xid = *stream_xid_;
  switch (type) {
    case 'E':
      reader.expect_end("Stream Stop");
      stream_xid_.reset();
      return;
    case 'O': return skip_origin(reader);
    case 'R':
    case 'Y':
    case 'I':
    case 'U':
    case 'D':
    case 'T':
    case 'M': {
      const std::uint32_t subxid = reader.u32("the xid");
      if (subxid == 0) reader.fail("streamed message with the invalid xid 0");
      out.streamed_message(xid, type == 'R' || type == 'Y' ? xid : subxid, payload, wal_position);
      return;
    }
    case 'B':
    case 'C':
    case 'S':
    case 'c':
    case 'A':
      reader.fail(std::string("message '") + type + "' inside the stream of transaction " + std::to_string(xid) +
                  " (before its Stream Stop)");
    default: fail_unknown(type, reader);
  }
}

std::uint32_t PgoutputDecoder::read_stream_xid(pgoutput::WireReader& reader, const char* message_name) const {
  if (!streaming_) {
    reader.fail(std::string(message_name) + " but streaming was not asked for (proto_version 1)");
  }
  const std::uint32_t xid = reader.u32("the xid");
  if (xid == 0) reader.fail(std::string(message_name) + " of the invalid xid 0");
  return xid;
}

// Stream Start:
//   Byte1('S')
//   Int32  xid of the transaction
//   Int8   1 for the transaction's first chunk, else 0
void PgoutputDecoder::decode_stream_start(pgoutput::WireReader& reader) {
  const std::uint32_t xid = read_stream_xid(reader, "Stream Start");
  const std::uint8_t first = reader.u8("the first-segment flag");
  reader.expect_end("Stream Start");
  if (first > 1) reader.fail("Stream Start has the first-segment flag " + std::to_string(first));
  stream_xid_ = xid;
}

// Stream Commit:
//   Byte1('c')
//   Int32  xid of the transaction
//   Int8   flags (unused, 0)
//   Int64  LSN of the commit record
//   Int64  end LSN of the transaction (the position to acknowledge)
//   Int64  commit timestamp
void PgoutputDecoder::decode_stream_commit(pgoutput::WireReader& reader, ChangeOutput& out) {
  StreamedCommit commit;
  commit.xid = read_stream_xid(reader, "Stream Commit");
  reader.u8("the flags");
  commit.commit_lsn = reader.u64("the commit LSN");
  commit.end_lsn = reader.u64("the end LSN");
  commit.commit_time_us = read_commit_time(reader);
  reader.expect_end("Stream Commit");
  out.streamed_commit(commit);
}

// Stream Abort (protocol versions 2 and 3):
//   Byte1('A')
//   Int32  xid of the transaction
//   Int32  xid of the subtransaction (the transaction's own for a top-level abort)
void PgoutputDecoder::decode_stream_abort(pgoutput::WireReader& reader, ChangeOutput& out) {
  const std::uint32_t xid = read_stream_xid(reader, "Stream Abort");
  const std::uint32_t subxid = reader.u32("the subtransaction xid");
  reader.expect_end("Stream Abort");
  if (subxid == 0) reader.fail("Stream Abort of the invalid subtransaction xid 0");
  out.streamed_abort(xid, subxid);
}

// Truncate:
//   Byte1('T')
//   Int32  number of relations
//   Int8   options (1: CASCADE, 2: RESTART IDENTITY)
//   Int32  relation OID, once per relation
// One Change per relation, as wal2json v2 writes one "T" per table; the
// options have no place in the Change (wal2json does not send them either).
void PgoutputDecoder::decode_truncate(pgoutput::WireReader& reader, Lsn wal_position, ChangeOutput& out) const {
  const std::int32_t count = reader.i32("the relation count");
  const std::uint8_t options = reader.u8("the options");
  if (count < 0 || static_cast<std::size_t>(count) * 4 != reader.left()) {
    reader.fail("Truncate of " + std::to_string(count) + " relations has " + std::to_string(reader.left()) +
                " bytes of relation OIDs");
  }
  if ((options & ~kKnownTruncateOptions) != 0) reader.fail("unknown truncate options " + std::to_string(options));
  for (std::int32_t i = 0; i < count; ++i) {
    const std::uint32_t oid = reader.u32("a relation OID");
    const pgoutput::Relation* relation = relations_->find(oid);
    if (relation == nullptr) {
      reader.fail("truncate of relation OID " + std::to_string(oid) + ", which no Relation message described");
    }
    Change& change = out.next_change(false);
    change.action = Action::Truncate;
    change.xid = transaction_.xid;
    change.lsn = wal_position;
    change.next_lsn = 0;
    change.timestamp_us = transaction_.commit_time_us;
    reset_transaction_fields(change);
    change.schema = relation->schema;
    change.table = relation->table;
  }
}

// Message (pg_logical_emit_message):
//   Byte1('M')
//   Int8   flags (1: transactional)
//   Int64  LSN of the message
//   String prefix
//   Int32  content length, then the content bytes
// As wal2json v2: a transactional message carries its transaction's xid and
// commit time, a non-transactional one neither; the content ends at a NUL.
void PgoutputDecoder::decode_message(pgoutput::WireReader& reader, ChangeOutput& out) const {
  const std::uint8_t flags = reader.u8("the flags");
  const Lsn lsn = reader.u64("the message LSN");
  const std::string_view prefix = reader.cstring("the prefix");
  const std::int32_t length = reader.i32("the content length");
  if (length < 0) reader.fail("message content has the negative length " + std::to_string(length));
  std::string_view content = reader.bytes(static_cast<std::size_t>(length), "the content");
  reader.expect_end("Message");
  if ((flags & ~kTransactionalFlag) != 0) reader.fail("unknown message flags " + std::to_string(flags));
  content = content.substr(0, content.find('\0'));
  const bool transactional = (flags & kTransactionalFlag) != 0;
  Change& change = out.next_change(false);
  change.action = Action::Message;
  change.xid = transactional ? transaction_.xid : 0;
  change.lsn = lsn;
  change.next_lsn = 0;
  change.timestamp_us = transactional ? transaction_.commit_time_us : 0;
  reset_transaction_fields(change);
  change.transactional = transactional;
  change.prefix = prefix;
  change.content = content;
}

bool pgoutput_binary_converts(std::uint32_t type_oid) { return pgoutput::has_binary_conversion(type_oid); }

}  // namespace cdc::decode
