#pragma once
#include <string>
#include <vector>

#include "cdc/app/config.hpp"

namespace cdc::app {

/// One preflight item of `customer-cdc check`.
struct CheckItem {
  std::string item;    ///< short name, e.g. "wal_level"
  bool ok = false;
  std::string detail;  ///< OK: what was found; FAIL: what is wrong
  std::string fix;     ///< FAIL only: the exact fix
};

/// "OK   <item>: <detail>" or "FAIL <item>: <what is wrong> -> fix: <fix>".
std::string format_check_item(const CheckItem& item);

/// Runs every preflight item against the configured PostgreSQL server (and
/// Kafka when enabled). Never throws: a failure of the check itself is a FAIL
/// item. The DSN password and secret Kafka property values never appear in
/// the result.
std::vector<CheckItem> run_checks(const Config& config);

/// `customer-cdc check`: prints one line per item on stdout; returns 0 only
/// if every item passed, else 1.
int cmd_check(const Config& config);

}  // namespace cdc::app
