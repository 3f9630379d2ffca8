#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdc::testing {

/// Reads a message as Kafka Connect's JsonConverter does with
/// schemas.enable=true, strictly: the message is {"schema":..,"payload":..}
/// and nothing else; the schema is a valid Connect schema (types, struct
/// fields, array items, map keys/values, optional, name, version,
/// parameters, default); each payload value conforms to its field's schema
/// (a null only where the schema is optional or has a default, integers in
/// their type's range, strings for strings, ...); struct payloads carry
/// exactly the schema's fields; and Debezium's semantic types hold their
/// form (io.debezium.data.Uuid, Json, Enum's allowed values,
/// io.debezium.time.ZonedTimestamp). A null message (tombstone) conforms.
/// Returns one line per problem, each naming its path; empty: conforms.
std::vector<std::string> connect_conformance(std::string_view message);

/// The JSON text of a schema-form message's payload (nullopt when `message`
/// is not {"schema":..,"payload":..}).
std::optional<std::string> connect_payload(std::string_view message);

}  // namespace cdc::testing
