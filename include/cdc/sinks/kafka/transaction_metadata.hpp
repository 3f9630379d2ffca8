#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cdc/sinks/kafka/envelope.hpp"
#include "cdc/sinks/kafka/record_output.hpp"
#include "cdc/sinks/sink.hpp"

namespace cdc::sinks {

/// Debezium's provide.transaction.metadata: numbers the change events of a
/// source transaction (the envelopes' "transaction" block) and writes its
/// BEGIN (before the first event) and END records on <prefix>.transaction,
/// keyed by {"id": "<txid>:<commit LSN>"}. A transaction without events
/// writes neither.
class TransactionMetadata {
 public:
  /// `schemas`: records in the schema form (connect_schema.hpp).
  TransactionMetadata(std::string topic, bool schemas);

  void begin(const TxnInfo& txn);
  /// The next event, of table `data_collection` ("schema.table"); valid until the next call.
  const EventTransaction& event(std::string_view data_collection, RecordOutput& output);
  void end(RecordOutput& output);
  const std::string& topic() const { return topic_; }

 private:
  void produce(bool end, RecordOutput& output);

  std::string topic_;
  std::string key_prefix_;    ///< schema form, else empty
  std::string value_prefix_;  ///< schema form, else empty
  TxnInfo txn_;
  std::string id_;
  std::uint64_t total_ = 0;
  /// Events per table, in the order the tables first appeared.
  std::vector<std::pair<std::string, std::uint64_t>> counts_;
  EventTransaction event_;
  JsonBuffer key_;
  JsonBuffer value_;
};

}  // namespace cdc::sinks
