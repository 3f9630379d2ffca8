#pragma once
#include <string>

#include "cdc/app/config.hpp"
#include "cdc/app/daemon.hpp"

namespace cdc::app {

/// `customer-cdc slot switch --from <slot>`: moves an installation from the
/// slot `from` (e.g. a wal2json slot) to the slot and plugin this
/// configuration names, with the daemon stopped, losing and repeating
/// nothing:
///   1. creates the configured slot (and pgoutput's publication) at a
///      consistent point P: it decodes exactly the transactions committing at
///      or after P;
///   2. delivers to every sink, from `from` with its own plugin, the
///      transactions committing before P, and acknowledges `from` up to P
///      (`run --end-lsn P` on the old slot);
///   3. moves the checkpoint of `from` to the configured slot;
///   4. drops `from`.
/// Every step is recorded on the server (the slots' positions, the checkpoint
/// table), so running it again after an interruption resumes where it
/// stopped. Refuses while a daemon streams or writes for either slot. Returns
/// the exit code; prints each step and the next one.
int cmd_slot_switch(const Config& config, const std::string& from, Signals& signals);

}  // namespace cdc::app
