#pragma once
#include <atomic>
#include <optional>
#include <string>

#include "cdc/app/config.hpp"

namespace cdc::app {

/// Each returns the process exit code and prints its result on stdout.
int cmd_migrate(const Config& config, const std::optional<std::string>& schema_dir);
int cmd_slot_create(const Config& config);
int cmd_slot_drop(const Config& config);
int cmd_slot_status(const Config& config);
int cmd_rebuild_rollups(const Config& config);
int cmd_snapshot(const Config& config, const std::atomic<bool>& stop);

}  // namespace cdc::app
