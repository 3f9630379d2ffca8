#pragma once
// Waiting for the daemon to catch up, and what to print when it does not.
//
//   ASSERT_TRUE(wait_slot_caught_up(pg, &daemon));   // slot acknowledged up to the current WAL end
//   ... << slot_diagnostics(pg, &daemon);
//
// The daemon acknowledges the slot only up to what every enabled sink holds
// durably (Postgres committed, Kafka delivery reports), so once the slot's
// confirmed_flush_lsn has reached the WAL position taken at the call, every
// change committed before the call is in audit_logs, the rollups and Kafka.

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include "support/pg_cluster.hpp"

namespace cdc::testing {

class DaemonProcess;

inline constexpr const char* kDefaultSlot = "customer_cdc";

/// confirmed_flush_lsn of `slot` as text; nullopt when the slot does not exist.
std::optional<std::string> slot_confirmed_lsn(PgCluster& pg, const std::string& slot = kDefaultSlot);

/// Slot state (active, pid, confirmed_flush_lsn vs pg_current_wal_lsn()), the
/// checkpoint row, the audit row count and, with a daemon, whether it runs and
/// its log tail. Never throws (a failing query is reported in the text).
std::string slot_diagnostics(PgCluster& pg, DaemonProcess* daemon = nullptr,
                             const std::string& slot = kDefaultSlot, std::size_t log_lines = 60);

/// Waits until `slot`'s confirmed_flush_lsn >= pg_current_wal_lsn() as of the
/// call. Fails at once (without waiting out the timeout) when `daemon` is
/// given and has exited; the failure message carries slot_diagnostics().
::testing::AssertionResult wait_slot_caught_up(PgCluster& pg, DaemonProcess* daemon = nullptr,
                                               std::chrono::milliseconds timeout = std::chrono::seconds(180),
                                               const std::string& slot = kDefaultSlot);

}  // namespace cdc::testing
