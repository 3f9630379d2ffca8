#pragma once
// Temporary directories that belong to the running test (a daemon's spool
// directory, ...):
//
//   config.postgres_extra += "spool_dir = \"" + make_test_temp_dir("cdc-test-spool-") + "\"\n";
//
// Removed when the test ends (after its fixture, so after the daemon that used
// them), unless the test failed or CDC_KEEP_TEST_CLUSTER=1: then kept for
// diagnosis and their paths printed, as PgCluster does with its directory.

#include <string>

namespace cdc::testing {

/// A fresh directory /tmp/<prefix>XXXXXX; must be called while a test runs.
std::string make_test_temp_dir(const std::string& prefix);

}  // namespace cdc::testing
