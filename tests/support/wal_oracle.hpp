#pragma once
// The expected per-key change sequence, straight from the WAL: a second
// wal2json slot, created by the test before the workload, read by the test
// itself (the daemon has no part in it).
//
//   create_oracle_slot(pg, "test_oracle");           // before the workload
//   WalOracle oracle("test_oracle");
//   oracle.peek(pg.conn());                           // everything so far, slot kept
//   // or, for long runs: oracle.drain(conn) now and then (peek + advance in chunks)
//   for (const auto& [table_key, expected] : oracle.by_key()) ...
//
// Only transactions with a change of the captured tables are kept; a
// transaction whose end position was already read is skipped (a drain whose
// advance did not happen reads it again).

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cdc/core/lsn.hpp"
#include "support/pg_cluster.hpp"

namespace cdc::testing {

struct WalTxn {
  std::uint32_t xid = 0;
  Lsn commit_lsn = 0;
  Lsn end_lsn = 0;
  std::int64_t commit_ms = 0;
};

struct WalChange {
  std::string table;  ///< customer | plans
  char op = '?';      ///< c | u | d
  Lsn lsn = 0;
  std::uint32_t xid = 0;
  std::string key;       ///< uuid or id, as text
  std::size_t txn = 0;   ///< index into WalOracle::txns()
};

/// One change of a key as the Kafka topic must carry it.
struct ExpectedChange {
  Lsn lsn = 0;
  char op = '?';  ///< c | u | d ('a' for an audit entry)
};

/// Creates the oracle's wal2json slot (in a transaction of its own).
void create_oracle_slot(PgCluster& pg, const std::string& slot);

class WalOracle {
 public:
  explicit WalOracle(std::string slot) : slot_(std::move(slot)) {}

  /// Reads everything the slot holds now; the slot stays where it is. Throws on error.
  void peek(PgConn& conn);
  /// Reads everything the slot holds now in chunks, advancing the slot past
  /// each chunk. Returns false on an error (last_error()); what was read is kept.
  bool drain(PgConn& conn);

  const std::string& last_error() const { return last_error_; }
  const std::vector<WalTxn>& txns() const { return txns_; }
  /// In WAL order (commit order: transactions are decoded at commit).
  const std::vector<WalChange>& changes() const { return changes_; }
  /// Per (table, key), the changes in commit order.
  const std::map<std::pair<std::string, std::string>, std::vector<ExpectedChange>>& by_key() const { return by_key_; }

 private:
  /// Takes wal2json lines; `upto` becomes the highest end position seen.
  void take(const Rows& rows, Lsn& upto);

  std::string slot_;
  Lsn last_end_ = 0;
  std::vector<WalTxn> txns_;
  std::vector<WalChange> changes_;
  std::map<std::pair<std::string, std::string>, std::vector<ExpectedChange>> by_key_;
  std::string last_error_;
};

}  // namespace cdc::testing
