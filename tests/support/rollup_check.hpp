#pragma once
// The rollup reference shared by the rollup tests: the test's own
// recomputation of analytics.* (README "Rollups") in SQL, independent of
// the daemon's rebuild:
//   * plan_rollup        from public.customer and public.plans;
//   * plan_changes_daily from the audit history and from a test-only trigger;
//   * usage_daily        from a test-only trigger (schema rollup_test).
// Queries return comparable relations; same_rows() diffs two of them as
// multisets.

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "support/pg_cluster.hpp"

namespace cdc::testing::rollup_check {

/// Rows as text lines (at most `max`), for failure messages.
std::string format_rows(const Rows& rows, std::size_t max = 40);
/// Rows in one relation but not the other (multiset EXCEPT, both ways); the
/// first column says which side has the row.
std::string diff_sql(const std::string& expected_sql, const std::string& actual_sql);
/// Success if the two relations are equal as multisets; `differing` (if
/// given) receives the number of differing rows.
::testing::AssertionResult same_rows(PgCluster& pg, const std::string& what, const std::string& expected_sql,
                                     const std::string& actual_sql, std::int64_t* differing = nullptr);
/// First column of `sql` as an integer (0 if NULL).
std::int64_t count_of(PgCluster& pg, const std::string& sql);
/// The same sums without the day (used only if the workload crossed a UTC
/// midnight: the trigger's day is the transaction start's, the daemon's the
/// commit's).
std::string without_day(const std::string& sql, const std::string& keys, const std::string& value);

extern const char* const kExpectedPlanRollup;     ///< plan_rollup from customers * price
extern const char* const kActualPlanRollup;
extern const char* const kPlanChangesFromAudit;   ///< plan_changes_daily from public.audit_logs
extern const char* const kPlanChangesFromShadow;  ///< plan_changes_daily from the test trigger
extern const char* const kActualPlanChanges;
extern const char* const kUsageFromShadow;        ///< usage_daily from the test trigger
extern const char* const kActualUsage;
/// Creates schema rollup_test and its triggers on public.customer.
extern const char* const kRollupShadowSql;

inline void install_rollup_shadow(PgCluster& pg) { pg.exec(kRollupShadowSql); }

}  // namespace cdc::testing::rollup_check
