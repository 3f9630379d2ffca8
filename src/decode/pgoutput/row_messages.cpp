#include "row_messages.hpp"

#include <cstring>

#include "binary_values.hpp"
#include "type_names.hpp"

namespace cdc::decode::pgoutput {
namespace {

/// Relation column flag: part of the replica identity (LOGICALREP_IS_REPLICA_IDENTITY).
constexpr std::uint8_t kKeyFlag = 1;

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if ((text[i] | 0x20) != (prefix[i] | 0x20)) return false;
  }
  return true;
}

/// Turns the output-function text in column.text into the value wal2json v2
/// writes for the type (pg_decode_write_value): numbers as numbers (NaN and
/// Infinity as null), booleans from "t", bytea without its "\x".
void apply_value_rule(std::uint32_t type_oid, Column& column, WireReader& reader) {
  std::string& text = column.text;
  switch (value_rule(type_oid)) {
    case ValueRule::Number:
      if (starts_with_nocase(text, "NaN") || starts_with_nocase(text, "Infinity") ||
          starts_with_nocase(text, "-Infinity")) {
        column.kind = ValueKind::Null;
        text.clear();
        return;
      }
      if (text.empty() || text.find_first_not_of("0123456789+-eE.") != std::string::npos) {
        reader.fail("value '" + text.substr(0, 40) + "' of column '" + column.name + "' (" + column.type +
                    ") is not a number");
      }
      column.kind = ValueKind::Number;
      return;
    case ValueRule::Bool:
      column.kind = ValueKind::Bool;
      text = text == "t" ? "true" : "false";
      return;
    case ValueRule::Bytea:
      text.erase(0, std::min<std::size_t>(2, text.size()));
      column.kind = ValueKind::String;
      return;
    case ValueRule::String: column.kind = ValueKind::String; return;
  }
}

/// Which columns of a tuple become Change columns.
enum class Take : std::uint8_t { All, KeyOnly };

// TupleData:
//   Int16  number of columns (equal to the Relation message's)
//   per column, Byte1 kind:
//     'n'  NULL
//     'u'  unchanged TOASTed value (its value is not sent)
//     't'  Int32 length, then the value in text format
//     'b'  Int32 length, then the value in binary format (binary = true)
// Unchanged TOASTed columns are left out, as wal2json leaves them out; the
// caller fills them from the old tuple (fill_unchanged_toast).
void read_tuple(WireReader& reader, const Relation& relation, Take take, std::vector<Column>& out) {
  const std::int16_t count = reader.i16("the tuple's column count");
  if (count != static_cast<std::int16_t>(relation.columns.size())) {
    reader.fail("tuple has " + std::to_string(count) + " columns, relation " + relation.schema + "." +
                relation.table + " has " + std::to_string(relation.columns.size()));
  }
  std::size_t used = 0;
  for (const RelationColumn& rc : relation.columns) {
    const char kind = static_cast<char>(reader.u8("a column's kind"));
    std::string_view data;
    if (kind == 't' || kind == 'b') {
      const std::int32_t length = reader.i32("a column's length");
      if (length < 0) reader.fail("column '" + rc.name + "' has the negative length " + std::to_string(length));
      data = reader.bytes(static_cast<std::size_t>(length), "a column's value");
    } else if (kind != 'n' && kind != 'u') {
      reader.fail("column '" + rc.name + "' has the unknown kind " + std::to_string(static_cast<unsigned char>(kind)));
    }
    if (kind == 'u' || (take == Take::KeyOnly && !rc.key)) continue;
    // Reuse the columns (and their strings' capacity) of a recycled Change.
    if (used == out.size()) out.emplace_back();
    Column& column = out[used++];
    column.name = rc.name;
    column.type = rc.type_name;
    column.text.clear();
    column.kind = ValueKind::Null;
    if (kind == 'n') continue;
    if (kind == 't') {
      column.text.assign(data);
    } else {
      try {
        append_binary_as_text(rc.type_oid, data, column.text);
      } catch (const BinaryValueError& e) {
        reader.fail("column '" + rc.name + "' (" + rc.type_name + "): " + e.what());
      }
    }
    apply_value_rule(rc.type_oid, column, reader);
  }
  out.resize(used);
}

/// A namespace as pgoutput sends it: "" stands for pg_catalog.
std::string read_namespace(WireReader& reader) {
  std::string name(reader.cstring("the namespace"));
  if (name.empty()) name = "pg_catalog";
  return name;
}

const Relation& relation_of(WireReader& reader, const RelationCache& cache) {
  const std::uint32_t oid = reader.u32("the relation OID");
  const Relation* relation = cache.find(oid);
  if (relation == nullptr) {
    reader.fail("change of relation OID " + std::to_string(oid) + ", which no Relation message described");
  }
  return *relation;
}

}  // namespace

// Relation message (proto_version 1):
//   Byte1('R')
//   Int32  relation OID
//   String namespace ("" for pg_catalog)
//   String relation name
//   Int8   replica identity setting (relreplident: d, n, f, i)
//   Int16  number of columns
//   per column:
//     Int8   flags (1: part of the replica identity key)
//     String name
//     Int32  type OID
//     Int32  type modifier (atttypmod)
void read_relation(WireReader& reader, RelationCache& cache) {
  const std::uint32_t oid = reader.u32("the relation OID");
  Relation relation;
  relation.schema = read_namespace(reader);
  relation.table = reader.cstring("the relation name");
  relation.replica_identity = static_cast<char>(reader.u8("the replica identity"));
  const std::int16_t count = reader.i16("the column count");
  if (count < 0) reader.fail("relation has the negative column count " + std::to_string(count));
  relation.columns.reserve(static_cast<std::size_t>(count));
  for (std::int16_t i = 0; i < count; ++i) {
    RelationColumn column;
    column.key = (reader.u8("a column's flags") & kKeyFlag) != 0;
    column.name = reader.cstring("a column name");
    column.type_oid = reader.u32("a column's type OID");
    column.typmod = reader.i32("a column's type modifier");
    column.type_name = cache.type_name(column.type_oid, column.typmod);
    if (column.type_name.empty()) {
      reader.fail("column '" + column.name + "' has type OID " + std::to_string(column.type_oid) +
                  ", which is not built in and no Type message described");
    }
    relation.columns.push_back(std::move(column));
  }
  reader.expect_end("Relation");
  cache.put(oid, std::move(relation));
}

// Type message:
//   Byte1('Y')
//   Int32  type OID
//   String namespace ("" for pg_catalog)
//   String type name
void read_type(WireReader& reader, RelationCache& cache) {
  const std::uint32_t oid = reader.u32("the type OID");
  UserType type;
  type.schema = read_namespace(reader);
  type.name = reader.cstring("the type name");
  reader.expect_end("Type");
  cache.put_type(oid, std::move(type));
}

// Insert:  Byte1('I'), Int32 relation OID, Byte1('N'), TupleData (new row)
// Update:  Byte1('U'), Int32 relation OID,
//          optionally Byte1('K') TupleData (old key: the key changed) or
//                     Byte1('O') TupleData (old row: REPLICA IDENTITY FULL),
//          Byte1('N'), TupleData (new row)
// Delete:  Byte1('D'), Int32 relation OID,
//          Byte1('K') TupleData (old key) or Byte1('O') TupleData (old row)
// Identity as wal2json v2: the old row's key columns ('K'), all of it ('O'),
// or for an update without an old tuple the key columns of the new row.
void read_row_change(char kind, WireReader& reader, const RelationCache& cache, const TransactionInfo& txn,
                     Lsn wal_position, Change& change) {
  change.action = static_cast<Action>(kind);
  change.xid = txn.xid;
  change.lsn = wal_position;
  change.next_lsn = 0;
  change.timestamp_us = txn.commit_time_us;
  change.transactional = false;
  change.prefix.clear();
  change.content.clear();
  const Relation& relation = relation_of(reader, cache);
  change.schema = relation.schema;
  change.table = relation.table;

  char marker = static_cast<char>(reader.u8("the tuple marker"));
  bool has_old = false;
  if (kind != 'I' && (marker == 'K' || marker == 'O')) {
    read_tuple(reader, relation, marker == 'K' ? Take::KeyOnly : Take::All, change.identity);
    has_old = true;
    if (kind == 'U') marker = static_cast<char>(reader.u8("the new tuple marker"));
  }
  if (kind == 'D') {
    if (!has_old) reader.fail("Delete without an old key ('K') or old row ('O') tuple");
    change.columns.clear();
  } else {
    if (marker != 'N') {
      reader.fail(std::string("expected the new tuple marker 'N', got byte ") +
                  std::to_string(static_cast<unsigned char>(marker)));
    }
    read_tuple(reader, relation, Take::All, change.columns);
    if (kind == 'I') {
      change.identity.clear();
    } else if (!has_old) {
      change.identity.clear();
      for (std::size_t i = 0, c = 0; i < relation.columns.size() && c < change.columns.size(); ++i) {
        // change.columns lacks only unchanged TOAST columns: match by name.
        if (change.columns[c].name != relation.columns[i].name) continue;
        if (relation.columns[i].key) change.identity.push_back(change.columns[c]);
        ++c;
      }
    }
  }
  reader.expect_end(kind == 'I' ? "Insert" : kind == 'U' ? "Update" : "Delete");
  if (kind == 'U' && !change.identity.empty()) fill_unchanged_toast(change);
}

}  // namespace cdc::decode::pgoutput
