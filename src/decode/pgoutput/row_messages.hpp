#pragma once
#include <cstdint>

#include "cdc/decode/change.hpp"
#include "relation_cache.hpp"
#include "wire_reader.hpp"

namespace cdc::decode::pgoutput {

/// What a row change takes from its transaction's Begin.
struct TransactionInfo {
  std::uint32_t xid = 0;
  std::int64_t commit_time_us = 0;
};

/// Reads a Relation message (after its type byte) into the cache.
void read_relation(WireReader& reader, RelationCache& cache);

/// Reads a Type message (after its type byte) into the cache.
void read_type(WireReader& reader, RelationCache& cache);

/// Reads an Insert, Update or Delete (`kind` 'I', 'U', 'D'; after the type
/// byte) into `change`, overwriting every field.
void read_row_change(char kind, WireReader& reader, const RelationCache& cache, const TransactionInfo& txn,
                     Lsn wal_position, Change& change);

}  // namespace cdc::decode::pgoutput
