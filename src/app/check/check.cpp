// `customer-cdc check`: preflight of everything the daemon needs, one line per
// item, each failure with the exact fix. This file holds the order of the items.
#include "cdc/app/check.hpp"

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "checker.hpp"
#include "items.hpp"

namespace cdc::app {
namespace {

bool run_items(check::Checker& c) {
  using check::kRerun;
  const std::string& plugin = c.config().postgres.plugin;
  const bool pgoutput = plugin == "pgoutput";
  if (check::connect_to_server(c)) {
    c.step("server version", [&] { check::server_version(c); });
    c.step("wal_level", [&] { check::wal_level(c); });
    c.step("max_replication_slots", [&] { check::replication_slots(c); });
    c.step("max_wal_senders", [&] { check::wal_senders(c); });
    c.step("replication privilege", [&] { check::replication_privilege(c); });
    c.step("output_plugin_libraries", [&] { check::output_plugin_libraries(c); });
    c.step(plugin, [&] { check::output_plugin(c); });
    c.step("schema", [&] { check::schema(c); });
    if (pgoutput) c.step("publication", [&] { check::publication(c); });
    if (c.config().audit.enabled) c.step("audit trigger", [&] { check::audit_trigger(c); });
    c.step("sign-up triggers", [&] { check::sign_up_triggers(c); });
    c.step("replica identity", [&] { check::replica_identity(c); });
    c.step("privileges", [&] { check::privileges(c); });
    c.step("row level security", [&] { check::row_level_security(c); });
    if (c.config().kafka.enabled) c.step("online snapshots", [&] { check::online_snapshot(c); });
    c.step("slot", [&] { check::slot(c); });
  } else {
    std::vector<std::string> items = {"server version",   "wal_level",        "max_replication_slots",
                                      "max_wal_senders",  "replication privilege", plugin,
                                      "schema",           "sign-up triggers",  "replica identity",
                                      "privileges",       "slot"};
    if (pgoutput) items.insert(items.begin() + 7, "publication");
    if (c.config().kafka.enabled) items.insert(items.end() - 1, "online snapshots");
    for (const auto& item : items) {
      c.fail(item, "skipped: no connection to PostgreSQL", "fix the connect item first, " + std::string(kRerun));
    }
  }
  c.conn.reset();
  if (pgoutput) c.step("streaming", [&] { check::streaming(c); });
  c.step("kafka", [&] { check::kafka(c); });
  c.step("metrics", [&] { check::metrics(c); });
  return c.all_ok();
}

bool run_items(const Config& config, check::Emit emit) {
  check::Checker checker(config, std::move(emit));
  return run_items(checker);
}

}  // namespace

std::string format_check_item(const CheckItem& item) {
  if (item.ok) return fmt::format("OK   {}: {}", item.item, item.detail);
  return fmt::format("FAIL {}: {} -> fix: {}", item.item, item.detail, item.fix);
}

std::vector<CheckItem> run_checks(const Config& config) {
  std::vector<CheckItem> items;
  try {
    run_items(config, [&](const CheckItem& item) { items.push_back(item); });
  } catch (const std::exception& e) {
    items.push_back({"check", false, fmt::format("internal error: {}", e.what()), "report this as a bug"});
  }
  return items;
}

int cmd_check(const Config& config) {
  // A server that does not answer must not hang the check: bound every
  // connection attempt unless the DSN or the environment sets connect_timeout.
  ::setenv("PGCONNECT_TIMEOUT", "10", /*overwrite=*/0);
  bool all_ok = true;
  try {
    all_ok = run_items(config, [](const CheckItem& item) {
      std::cout << format_check_item(item) << std::endl;  // one line at a time, as items finish
    });
  } catch (const std::exception& e) {
    std::cout << format_check_item(
                     {"check", false, fmt::format("internal error: {}", e.what()), "report this as a bug"})
              << std::endl;
    all_ok = false;
  }
  return all_ok ? 0 : 1;
}

}  // namespace cdc::app
