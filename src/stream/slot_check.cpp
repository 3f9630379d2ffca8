#include "cdc/stream/slot_check.hpp"

#include <fmt/format.h>

namespace cdc::stream {

void check_slot_usable(const SlotState& state, std::string_view plugin) {
  if (state.slot_type != "logical" || state.plugin != plugin) {
    throw FatalError(fmt::format("replication slot \"{}\" uses plugin '{}' ({}), not {}: drop it or "
                                 "set postgres.slot to another name (to move to {} losing and repeating "
                                 "nothing: `customer-cdc slot switch --from {}` with the daemon stopped, "
                                 "docs/plugins.md)",
                                 state.name, state.plugin, state.slot_type, plugin, plugin, state.name));
  }
  if (state.wal_status == "lost") {
    throw FatalError(fmt::format("replication slot \"{}\" has lost required WAL (wal_status = lost): changes "
                                 "were missed; drop and recreate the slot, then run `customer-cdc snapshot`",
                                 state.name));
  }
  if (state.active) {
    throw SlotBusy(fmt::format("replication slot \"{}\" is active for PID {}", state.name,
                               state.active_pid ? std::to_string(*state.active_pid) : "?"));
  }
}

}  // namespace cdc::stream
