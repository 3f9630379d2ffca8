#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/stringbuffer.h>

#include "cdc/decode/change.hpp"
#include "cdc/sinks/audit/audit_mapping.hpp"
#include "cdc/sinks/sink.hpp"

namespace cdc::sinks {

/// What every event of one connector shares.
struct EnvelopeContext {
  std::string connector = "customer-cdc";
  std::string version = "0.1.0";
  std::string name = "saas";  ///< the topic prefix (Debezium's logical server name)
  std::string db;             ///< database name
};

/// A change event's place in its source transaction: Debezium's
/// "transaction" block (provide.transaction.metadata).
struct EventTransaction {
  std::string_view id;                     ///< "<txid>:<commit LSN>"
  std::uint64_t total_order = 0;           ///< 1-based, among the transaction's events
  std::uint64_t data_collection_order = 0;  ///< 1-based, among its events of the same table
};

/// What surrounds a message's JSON: the schema form's
/// `{"schema":{..},"payload":` and `}` (see connect_schema.hpp), spliced
/// around the payload in one pass; both empty for the payload alone.
struct JsonFrame {
  std::string_view prefix;
  std::string_view suffix;
};

/// How an envelope is written beyond the default (schemaless) form.
struct EnvelopeOptions {
  JsonFrame frame;
  /// Write the top-level "transaction" member (null without `transaction`),
  /// as the schema form always does and transaction metadata needs.
  bool transaction_member = false;
  const EventTransaction* transaction = nullptr;
};

/// Debezium's "op" for an action: c, u, d, r (snapshot read) or t (truncate).
char debezium_op(decode::Action action);

/// The Debezium envelope (JSON converter without schemas,
/// decimal.handling.mode=string):
/// {"before":..,"after":..,"source":{..},"op":..,"ts_ms":..,"ts_us":..,"ts_ns":..}.
/// source carries ts_ms, ts_us and ts_ns of the commit time; the top-level
/// ts_us and ts_ns are now_ms in those units.
/// Values: integers and floats as numbers, booleans as booleans, numeric,
/// uuid, text and jsonb as strings, timestamptz as ISO-8601 UTC strings.
std::string debezium_value(const decode::Change& change, const TxnInfo& txn, const EnvelopeContext& context,
                           std::int64_t now_ms);

/// Output of the builders below: cleared and refilled on each call, it keeps
/// its capacity, so a sink that owns one builds messages without allocating.
using JsonBuffer = rapidjson::StringBuffer;

/// Appends `text` as it is (a JsonFrame's prefix or suffix) to `buffer`.
void append_raw(JsonBuffer& buffer, std::string_view text);

/// debezium_value into `buffer`.
void debezium_value(JsonBuffer& buffer, const decode::Change& change, const TxnInfo& txn,
                    const EnvelopeContext& context, std::int64_t now_ms);
/// The envelope of `change` as if its action were `as` (Insert: only "after"
/// from columns, Delete: only "before" from identity), without copying the
/// change: a primary key update goes out as a delete and a create. Read: a
/// snapshot read, op "r" and source.snapshot from change.snapshot ("true",
/// "first", "last", "incremental", ...).
void debezium_value(JsonBuffer& buffer, const decode::Change& change, decode::Action as, const TxnInfo& txn,
                    const EnvelopeContext& context, std::int64_t now_ms);

/// debezium_value with `options` (schema frame, transaction block).
void debezium_value(JsonBuffer& buffer, const decode::Change& change, decode::Action as, const TxnInfo& txn,
                    const EnvelopeContext& context, std::int64_t now_ms, const EnvelopeOptions& options);

/// The message key: the primary key columns as a JSON object ({"uuid":".."},
/// {"id":1}); empty when the change carries none of them.
std::string debezium_key(const decode::Change& change, const std::vector<std::string>& key_columns);
/// debezium_key into `buffer`; false (and an empty buffer) when a key column is missing.
bool debezium_key(JsonBuffer& buffer, const decode::Change& change, const std::vector<std::string>& key_columns);
/// The same from the old tuple (from_old) or the new one, whatever the action.
bool debezium_key(JsonBuffer& buffer, const decode::Change& change, bool from_old,
                  const std::vector<std::string>& key_columns);
/// The same inside `frame`.
bool debezium_key(JsonBuffer& buffer, const decode::Change& change, bool from_old,
                  const std::vector<std::string>& key_columns, const JsonFrame& frame);

/// An audit entry as JSON: created_at, customer_uuid, action, old_value,
/// new_value (JSON objects or null), source_lsn, source_xid.
std::string audit_message(const AuditEntry& entry, const TxnInfo& txn, Lsn source_lsn);
void audit_message(JsonBuffer& buffer, const AuditEntry& entry, const TxnInfo& txn, Lsn source_lsn);
/// The same inside `frame`; `json_as_text`: old_value and new_value as JSON
/// strings (the schema form: a Connect schema has no type for free-form JSON).
void audit_message(JsonBuffer& buffer, const AuditEntry& entry, const TxnInfo& txn, Lsn source_lsn,
                   const JsonFrame& frame, bool json_as_text);

/// Converts PostgreSQL timestamptz text to ISO-8601 UTC ("2026-11-25T07:13:13.879926Z");
/// returns the text unchanged when it does not parse (infinity, BC dates).
std::string iso_timestamp(const std::string& pg_text);
/// The same into `out` (kIsoTimestampMax bytes); 0 when the text does not parse.
constexpr std::size_t kIsoTimestampMax = 64;
std::size_t iso_timestamp(std::string_view pg_text, char* out);

}  // namespace cdc::sinks
