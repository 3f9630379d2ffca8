// pgoutput protocol version 1 ("Logical Replication Message Formats" in the
// PostgreSQL documentation; src/backend/replication/logical/proto.c). Each
// XLogData payload is one message, its first byte the message type. Row
// messages (row_messages.cpp) refer to a relation by OID, described earlier in
// the session by a Relation message.
//
// Protocol version 2 (streaming) would add Stream Start/Stop/Commit/Abort and
// put an Int32 xid right after the type byte of R, Y, I, U, D, T and M when
// they arrive between Stream Start and Stream Stop; the readers below take a
// WireReader positioned after that prefix, so the dispatcher would read it
// there and pass the xid on.
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
      relations_(std::make_unique<pgoutput::RelationCache>()) {}

PgoutputDecoder::~PgoutputDecoder() = default;

PluginOptions PgoutputDecoder::start_options(const std::vector<std::string>&) const {
  PluginOptions options{{"proto_version", "1"}, {"publication_names", quote_publication(publication_)}};
  if (binary_) options.emplace_back("binary", "true");
  options.emplace_back("messages", "true");
  return options;
}

bool PgoutputDecoder::bounds_transaction(std::string_view payload) const {
  return !payload.empty() && (payload[0] == 'B' || payload[0] == 'C');
}

std::string PgoutputDecoder::describe(const Change& change) const { return describe_change(change); }

void PgoutputDecoder::reset() {
  relations_->clear();
  transaction_ = {};
}

void PgoutputDecoder::decode(std::string_view payload, Lsn wal_position, ChangeOutput& out) {
  pgoutput::WireReader reader(payload, wal_position);
  const char type = static_cast<char>(reader.u8("the message type"));
  switch (type) {
    case 'B': return decode_begin(reader, out);
    case 'C': return decode_commit(reader, out);
    case 'I':
    case 'U':
    case 'D':
      return pgoutput::read_row_change(type, reader, *relations_, {transaction_.xid, transaction_.commit_time_us},
                                       wal_position, out.next_change(true));
    case 'T': return decode_truncate(reader, wal_position, out);
    case 'M': return decode_message(reader, out);
    case 'R': return pgoutput::read_relation(reader, *relations_);
    case 'Y': return pgoutput::read_type(reader, *relations_);
    case 'O':
      // Origin: Int64 the origin's commit LSN, String the origin's name. The
      // Change model has no origin (wal2json is not asked for one).
      reader.u64("the origin LSN");
      reader.cstring("the origin name");
      return reader.expect_end("Origin");
    default:
      reader.fail("unknown message type " + std::to_string(static_cast<unsigned char>(type)) +
                  (type >= 0x20 && type < 0x7F ? std::string(" '") + type + "'" : std::string()));
  }
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
  Change& change = out.next_change(false);
  change.action = Action::Begin;
  change.xid = xid;
  change.lsn = commit_lsn;
  change.next_lsn = 0;
  change.timestamp_us = transaction_.commit_time_us;
  reset_transaction_fields(change);
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
  Change& change = out.next_change(false);
  change.action = Action::Commit;
  change.xid = transaction_.xid;
  change.lsn = commit_lsn;
  change.next_lsn = end_lsn;
  change.timestamp_us = commit_time;
  reset_transaction_fields(change);
  transaction_ = {};
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
