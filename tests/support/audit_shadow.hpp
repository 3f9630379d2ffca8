#pragma once
// The audit reference shared by the audit tests: a shadow of the seed's
// `log_customer_changes` trigger (its body verbatim, writing into
// test_shadow.audit_logs and also recording txid_current()), plus AFTER
// INSERT / AFTER DELETE row triggers for customer_created / customer_deleted,
// and the comparison of public.audit_logs with it.
//
// The shadow's id order is the commit order only if the workload runs
// sequentially from one connection; the row-by-row comparison relies on that.

#include <cstdint>
#include <string>

#include "support/pg_cluster.hpp"

namespace cdc::testing {

/// Creates schema test_shadow (table, functions, triggers on public.customer)
/// and the uncaptured table public.unrelated_things.
extern const char* const kAuditShadowSql;

inline void install_audit_shadow(PgCluster& pg) { pg.exec(kAuditShadowSql); }

struct AuditShadowComparison {
  std::int64_t ours = 0;
  std::int64_t shadow = 0;
  /// Rows at which the two (each ORDER BY id) differ, counting a row present
  /// on one side only; includes created_at vs the commit timestamp (needs
  /// track_commit_timestamp = on).
  std::int64_t differences = 0;
  std::string first_differences;  ///< the first 10, for messages
  std::int64_t null_lsn = 0;
  std::int64_t distinct_lsn = 0;
  /// Multiset comparison on (customer_uuid, action, old_value, new_value, xid):
  /// shadow rows that ours lacks (lost) / our rows beyond the shadow (duplicated).
  std::int64_t missing = 0;
  std::int64_t extra = 0;
};

/// Row-by-row comparison of public.audit_logs (ORDER BY id) with the shadow
/// (ORDER BY id), in SQL, and the same rows as multisets.
AuditShadowComparison compare_audit_with_shadow(PgCluster& pg);

}  // namespace cdc::testing
