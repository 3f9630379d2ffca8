#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cdc/decode/change.hpp"
#include "cdc/sinks/audit/audit_mapping.hpp"
#include "cdc/sinks/kafka/envelope.hpp"
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
};

/// Where KafkaRecords hands its records, in order. Key and value are valid
/// only during the call.
class RecordOutput {
 public:
  virtual ~RecordOutput() = default;
  /// `key` empty: no key; `value` nullopt: a tombstone.
  virtual void produce(const std::string& topic, std::string_view key, std::optional<std::string_view> value) = 0;
};

/// Turns changes into Kafka records, whatever delivers them: every row change
/// as a Debezium envelope on <prefix>.<schema>.<table> (keyed by primary key,
/// a tombstone after a delete, a primary key update as delete + create),
/// snapshot reads as op "r", every audit entry on <prefix>.audit (keyed by
/// customer uuid) and dead letters on <prefix>.dead_letter.
class KafkaRecords {
 public:
  KafkaRecords(KafkaRecordOptions options, RecordOutput& output);

  /// Starts a transaction (audit source LSNs count from here).
  void begin();
  void change(const TxnInfo& txn, const decode::Change& change);
  /// Keyed by {"lsn": WAL position}.
  void dead_letter(const TxnInfo& txn, const DeadLetter& letter);

 private:
  /// What the records need of a captured table, looked up once.
  struct TableInfo {
    std::string schema;
    std::string table;
    std::string topic;                                     ///< <prefix>.<schema>.<table>
    const std::vector<std::string>* key_columns = nullptr;  ///< into options_.primary_keys
    bool is_customer = false;                              ///< public.customer: audit entries
  };

  /// One envelope of `change` as action `as` (and the tombstone after a delete).
  void publish_row(const TxnInfo& txn, const decode::Change& change, decode::Action as, const TableInfo& table);
  void publish_audit(const TxnInfo& txn, const decode::Change& change);
  void produce(const std::string& topic, std::string_view key, const JsonBuffer& value);
  const TableInfo& table_info(const decode::Change& change);

  KafkaRecordOptions options_;
  RecordOutput& output_;
  std::string audit_topic_;
  std::string dead_letter_topic_;
  std::map<std::string, TableInfo> tables_;  ///< by "schema.table"
  const TableInfo* last_table_ = nullptr;
  SourceLsnSequence source_lsns_;
  JsonBuffer key_buffer_;
  JsonBuffer value_buffer_;
};

}  // namespace cdc::sinks
