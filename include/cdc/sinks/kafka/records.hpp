#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cdc/decode/change.hpp"
#include "cdc/sinks/audit/audit_mapping.hpp"
#include "cdc/sinks/kafka/connect_schema.hpp"
#include "cdc/sinks/kafka/envelope.hpp"
#include "cdc/sinks/kafka/record_output.hpp"
#include "cdc/sinks/kafka/transaction_metadata.hpp"
#include "cdc/sinks/sink.hpp"

namespace cdc::sinks {

/// What decides the topics, keys and values of the records.
struct KafkaRecordOptions {
  std::string topic_prefix = "saas";
  bool tombstones_on_delete = true;
  bool audit_topic = true;  ///< publish audit entries on <prefix>.audit
  EnvelopeContext context;
  /// "schema.table" -> primary key columns, for message keys.
  std::map<std::string, std::vector<std::string>> primary_keys;
  /// The captured tables ("schema.table"), for topics(); records follow the changes, not this list.
  std::vector<std::string> tables;
  /// Messages as {"schema":..,"payload":..} (connect_schema.hpp).
  bool schemas = false;
  /// Transaction blocks on the envelopes and BEGIN/END on <prefix>.transaction.
  bool transaction_metadata = false;
  /// The NOT NULL columns of "schema.table" as of now (the schema form's
  /// optionality), asked whenever a table's columns change; unset: every
  /// column but the primary key is optional.
  std::function<std::vector<std::string>(const std::string& table)> not_null_columns;
};

/// Turns changes into Kafka records, whatever delivers them: every row change
/// as a Debezium envelope on <prefix>.<schema>.<table> (keyed by primary key,
/// a tombstone after a delete, a primary key update as delete + create),
/// snapshot reads as op "r", every audit entry on <prefix>.audit (keyed by
/// customer uuid) and dead letters on <prefix>.dead_letter; with
/// `transaction_metadata`, BEGIN/END records on <prefix>.transaction. With
/// `schemas`, keys and values in the Kafka Connect schema form.
class KafkaRecords {
 public:
  KafkaRecords(KafkaRecordOptions options, RecordOutput& output);

  /// Starts a transaction (audit source LSNs count from here).
  void begin();
  void begin(const TxnInfo& txn);
  void change(const TxnInfo& txn, const decode::Change& change);
  /// Ends the transaction begun last (its END record with transaction metadata).
  void commit(const TxnInfo& txn);
  /// Keyed by {"lsn": WAL position}.
  void dead_letter(const TxnInfo& txn, const DeadLetter& letter);

  /// The topics the captured tables' records go to (dead letters aside).
  std::vector<std::string> topics() const;

 private:
  /// What the records need of a captured table, looked up once.
  struct TableInfo {
    std::string schema;
    std::string table;
    std::string topic;                                     ///< <prefix>.<schema>.<table>
    const std::vector<std::string>* key_columns = nullptr;  ///< into options_.primary_keys
    bool is_customer = false;                              ///< public.customer: audit entries
    std::string qualified;                                 ///< "schema.table"
    RelationFrames frames;                                 ///< schema form: of the last columns seen
  };

  /// One envelope of `change` as action `as` (and the tombstone after a delete).
  void publish_row(const TxnInfo& txn, const decode::Change& change, decode::Action as, TableInfo& table);
  void publish_audit(const TxnInfo& txn, const decode::Change& change);
  void produce(const std::string& topic, std::string_view key, const JsonBuffer& value);
  std::string table_topic(const std::string& qualified) const { return options_.topic_prefix + "." + qualified; }
  TableInfo& table_info(const decode::Change& change);
  /// The schema frames of `table` for the columns `change` carries, rebuilt when they changed.
  const RelationFrames& frames_for(TableInfo& table, const decode::Change& change);

  KafkaRecordOptions options_;
  RecordOutput& output_;
  std::string audit_topic_;
  std::string dead_letter_topic_;
  std::map<std::string, TableInfo> tables_;  ///< by "schema.table"
  TableInfo* last_table_ = nullptr;
  TransactionMetadata transactions_;
  std::string audit_value_prefix_;  ///< schema form, else empty
  std::string audit_key_prefix_;    ///< schema form, else empty
  SourceLsnSequence source_lsns_;
  JsonBuffer key_buffer_;
  JsonBuffer value_buffer_;
};

}  // namespace cdc::sinks
