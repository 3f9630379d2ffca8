#include "cdc/app/slot_switch.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <thread>

#include "cdc/app/publication.hpp"
#include "cdc/app/snapshot.hpp"
#include "cdc/core/pg.hpp"
#include "cdc/sinks/postgres/checkpoint.hpp"
#include "cdc/sinks/postgres/postgres_sink.hpp"
#include "cdc/stream/replication_stream.hpp"

namespace cdc::app {
namespace {

/// The switch cannot go on; the message says why and what to do.
class SwitchRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One line of what the switch did, shown at once (the daemon's log lines interleave on stderr).
void say(const std::string& line) { std::cout << line << std::endl; }

constexpr auto kReleaseWait = std::chrono::seconds(5);

std::string rerun(const std::string& from) {
  return fmt::format("run `customer-cdc slot switch --from {}` again to resume", from);
}

/// The old side: its slot with the plugin it was created with, nothing created, no snapshot.
Config old_side(const Config& config, const stream::SlotState& old) {
  Config side = config;
  side.postgres.slot = old.name;
  side.postgres.plugin = old.plugin;
  side.postgres.binary = false;
  side.postgres.streaming = false;
  side.postgres.create_slot = false;
  side.postgres.snapshot_mode = "never";
  return side;
}

/// A daemon that just stopped may still hold what it used for a moment (its
/// server processes end once they see the connection gone): `released` is
/// asked again for a few seconds before refusing.
bool released_soon(const std::function<bool()>& released) {
  const auto until = std::chrono::steady_clock::now() + kReleaseWait;
  while (!released()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return true;
}

/// The slot as it is once no process streams from it; refuses while one does.
std::optional<stream::SlotState> idle_slot(stream::ReplicationStream& repl, const std::string& slot) {
  std::optional<stream::SlotState> state;
  if (released_soon([&] {
        state = repl.slot_state(slot);
        return !state || !state->active;
      })) {
    return state;
  }
  throw SwitchRefused(
      fmt::format("slot \"{}\" is in use{}: stop the daemon (e.g. `systemctl stop customer-cdc`) "
                  "and run `slot switch` again",
                  slot, state->active_pid ? fmt::format(" by server process {}", *state->active_pid) : ""));
}

/// A daemon writing for `slot` holds its writer lock (the Postgres sink's).
void refuse_if_written(const std::string& dsn, const std::string& slot) {
  pg::Connection probe(dsn);
  // Taken only to see that it is free: released as the connection closes.
  if (released_soon([&] { return sinks::try_lock_slot_writer(probe, slot); })) return;
  throw SwitchRefused(
      fmt::format("a customer-cdc process writes for slot \"{}\": stop the daemon (e.g. "
                  "`systemctl stop customer-cdc`) and run `slot switch` again",
                  slot));
}

/// Step 1: the configured slot, created at a consistent point P where
/// missing; returns P (the slot's confirmed position, which nothing moves
/// until a daemon streams it).
Lsn ensure_new_slot(stream::ReplicationStream& repl, pg::Connection& conn, const Config& config,
                    const std::optional<stream::SlotState>& existing) {
  const std::string& slot = config.postgres.slot;
  if (existing) {
    if (existing->plugin != config.postgres.plugin) {
      throw SwitchRefused(
          fmt::format("slot \"{}\" exists with plugin {}, postgres.plugin is {}: set postgres.slot "
                      "to a new name (or drop that slot with `customer-cdc slot drop`)",
                      slot, existing->plugin, config.postgres.plugin));
    }
    say(fmt::format("1. slot \"{}\" ({}) exists at {} (made earlier): it streams every transaction committing "
                    "from there on",
                    slot, existing->plugin, format_lsn(existing->confirmed_flush_lsn)));
    return existing->confirmed_flush_lsn;
  }
  if (config.postgres.plugin == "pgoutput") {
    try {
      say("1. " + ensure_publication(conn, config));
    } catch (const pg::Error& e) {
      throw SwitchRefused(
          fmt::format("publication \"{}\": {} (run `customer-cdc migrate` as the owner of the "
                      "captured tables, then `slot switch` again)",
                      config.postgres.publication, e.what()));
    }
  }
  require_server_support(repl, config);
  const Lsn position = repl.create_slot(slot, config.postgres.plugin).consistent_point;
  say(
      fmt::format("1. created slot \"{}\" ({}) at {}: it streams every transaction committing from "
                  "there on",
                  slot, config.postgres.plugin, format_lsn(position)));
  return position;
}

/// Step 2: every transaction of `old` committing before `position`, to every
/// sink, and `old` acknowledged up to it (`run --end-lsn` on the old slot).
void deliver_before(const Config& config, const stream::SlotState& old, Lsn position, Signals& signals,
                    stream::ReplicationStream& repl) {
  if (old.confirmed_flush_lsn >= position) {
    say(fmt::format("2. slot \"{}\" has delivered everything committed before {} already", old.name,
                    format_lsn(position)));
    return;
  }
  pipeline::Progress progress;
  if (run_daemon(old_side(config, old), signals, progress, {}, position) != 0) {
    throw SwitchRefused(
        fmt::format("delivering from slot \"{}\" failed (the error is above); nothing is lost: fix "
                    "the cause, then {}",
                    old.name, rerun(old.name)));
  }
  const std::optional<stream::SlotState> after = repl.slot_state(old.name);
  if (!after || after->confirmed_flush_lsn < position) {
    throw SwitchRefused(fmt::format("stopped before slot \"{}\" reached {}; nothing is lost: {}", old.name,
                                    format_lsn(position), rerun(old.name)));
  }
  say(
      fmt::format("2. delivered {} transactions ({} changes) committed before {} from slot \"{}\" ({}); "
                  "it is acknowledged up to {}",
                  progress.transactions.load(), progress.changes.load(), format_lsn(position), old.name, old.plugin,
                  format_lsn(after->confirmed_flush_lsn)));
}

int switch_slots(const Config& config, const std::string& from, Signals& signals) {
  const std::string& to = config.postgres.slot;
  pg::Connection conn(config.postgres.dsn);
  // Held until the end: no daemon with the new configuration starts writing meanwhile.
  if (!sinks::try_lock_slot_writer(conn, to)) {
    throw SwitchRefused(
        fmt::format("a customer-cdc process writes for slot \"{}\": stop it and run `slot switch` "
                    "again",
                    to));
  }
  refuse_if_written(config.postgres.dsn, from);
  stream::ReplicationStream repl(config.postgres.dsn);
  const std::optional<stream::SlotState> old = idle_slot(repl, from);
  const std::optional<stream::SlotState> current = idle_slot(repl, to);
  const sinks::Checkpoint old_checkpoint = sinks::read_checkpoint(conn, from);
  const bool new_checkpoint = sinks::read_checkpoint(conn, to).exists;

  if (!old) {
    if (old_checkpoint.exists) {
      throw SwitchRefused(fmt::format(
          "slot \"{}\" disappeared before the switch completed: its checkpoint is at {}, changes after that were "
          "not captured. Recover with `customer-cdc snapshot` (republishes the current state), then start the "
          "daemon; audit entries of the missed changes cannot be rebuilt",
          from, format_lsn(old_checkpoint.lsn)));
    }
    if (!current) throw SwitchRefused(fmt::format("slot \"{}\" does not exist", from));
    say(fmt::format("slot \"{}\" does not exist and slot \"{}\" ({}) does: the switch is complete", from, to,
                    current->plugin));
  } else {
    if (current && new_checkpoint && old_checkpoint.exists) {
      throw SwitchRefused(fmt::format(
          "slots \"{}\" and \"{}\" both have a checkpoint: a daemon streamed \"{}\" before the switch completed "
          "(and took its own snapshot), so what \"{}\" still holds from {} on cannot be delivered without repeating "
          "changes. Keep \"{}\" and drop \"{}\" (`customer-cdc slot drop` with the old configuration); the audit "
          "entries of the transactions it held are lost, as after a vanished slot",
          from, to, to, from, format_lsn(old_checkpoint.lsn), to, from));
    }
    say(fmt::format("switching from slot \"{}\" ({}) to slot \"{}\" ({})", from, old->plugin, to,
                    config.postgres.plugin));
    const Lsn position = ensure_new_slot(repl, conn, config, current);
    const bool moved = current && new_checkpoint && !old_checkpoint.exists;
    if (!moved && old->confirmed_flush_lsn > position) {
      // Step 2 stops exactly at the new slot's start: the old slot went past
      // it otherwise (a daemon streamed it, or the new slot is older).
      throw SwitchRefused(fmt::format(
          "slot \"{}\" is at {}, past the start of slot \"{}\" ({}): the changes between would be delivered twice. "
          "Drop slot \"{}\" (`customer-cdc slot drop` with this configuration) and run `slot switch` again",
          from, format_lsn(old->confirmed_flush_lsn), to, format_lsn(position), to));
    }
    if (moved) {
      // Step 3 committed: the old slot delivered everything before the new one's start.
      say(
          fmt::format("2. slot \"{}\" delivered everything before slot \"{}\" starts (an earlier "
                      "`slot switch`)",
                      from, to));
    } else {
      deliver_before(config, *old, position, signals, repl);
    }
    const Lsn delivered = sinks::read_checkpoint(conn, from).lsn;
    if (sinks::move_checkpoint(conn, from, to, position)) {
      say(fmt::format("3. moved the checkpoint of slot \"{}\" ({}) to slot \"{}\" ({})", from, format_lsn(delivered),
                      to, format_lsn(std::max(delivered, position))));
    } else {
      say(fmt::format("3. no checkpoint of slot \"{}\" to move (moved already, or no Postgres sink)", from));
    }
    repl.drop_slot(from);
    say(fmt::format("4. dropped slot \"{}\"", from));
  }
  say(
      fmt::format("switch complete. Next: start the daemon with this configuration (postgres.slot = "
                  "\"{}\", postgres.plugin = \"{}\"), e.g. `systemctl start customer-cdc`",
                  to, config.postgres.plugin));
  return 0;
}

}  // namespace

int cmd_slot_switch(const Config& config, const std::string& from, Signals& signals) {
  if (from == config.postgres.slot) {
    throw ConfigError(
        fmt::format("slot switch --from {}: that is postgres.slot; set postgres.slot (and "
                    "postgres.plugin) to the slot to switch to",
                    from));
  }
  try {
    return switch_slots(config, from, signals);
  } catch (const SwitchRefused& e) {
    spdlog::error("slot switch: {}", e.what());
    return 1;
  } catch (const Error& e) {
    spdlog::error("slot switch: {}; {}", e.log_message(), rerun(from));
    return 1;
  }
}

}  // namespace cdc::app
