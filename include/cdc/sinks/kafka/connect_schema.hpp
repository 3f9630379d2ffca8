#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "cdc/decode/change.hpp"

namespace cdc::sinks {

/// Kafka Connect schemas of the messages, as the JSON converter with
/// schemas.enable=true writes them for Debezium's PostgreSQL connector
/// (decimal.handling.mode=string): built once per relation version, then
/// spliced around each payload as `{"schema":<schema>,"payload":` .. `}`.
/// Field types follow what the payload writers (envelope.hpp) put there.

/// The frames of one version of a captured table.
struct RelationFrames {
  bool built = false;
  /// The (name, type) columns the frames describe, in order.
  std::vector<std::pair<std::string, std::string>> columns;
  std::string value_prefix;  ///< {"schema":<..Envelope>,"payload":
  std::string key_prefix;    ///< {"schema":<..Key>,"payload":  (empty without key columns)
};

/// What describes a table's events.
struct RelationSchemaInput {
  std::string_view logical_name;  ///< the topic prefix (Debezium's topic.prefix)
  std::string_view schema;
  std::string_view table;
  const std::vector<decode::Column>* columns = nullptr;     ///< names and types; empty for a truncate
  const std::vector<std::string>* key_columns = nullptr;    ///< primary key, or nullptr
  const std::vector<std::string>* not_null = nullptr;       ///< NOT NULL columns, or nullptr (all nullable but the key)
};

/// True when `frames` were built for exactly these columns (names and types, in order).
bool frames_match(const RelationFrames& frames, const std::vector<decode::Column>& columns);

RelationFrames relation_frames(const RelationSchemaInput& input);

/// `{"schema":<audit value>,"payload":` for <prefix>.audit.
std::string audit_value_prefix(std::string_view logical_name);
/// `{"schema":<uuid string>,"payload":` for the audit topic's key.
std::string audit_key_prefix();
/// Debezium's TransactionMetadataValue / TransactionMetadataKey frames.
std::string transaction_value_prefix();
std::string transaction_key_prefix();

inline constexpr std::string_view kSchemaFrameSuffix = "}";

}  // namespace cdc::sinks
