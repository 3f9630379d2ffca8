// Output plugin items: output_plugin_libraries, loading the configured plugin
// (wal2json or pgoutput) with a temporary slot, and the configured slot itself.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cdc/decode/decoder.hpp"
#include "cdc/decode/wal2json/wal2json.hpp"
#include "cdc/stream/replication_stream.hpp"
#include "checker.hpp"
#include "items.hpp"

namespace cdc::app::check {
namespace {

constexpr std::int64_t kRetainedWalWarnBytes = std::int64_t{1} << 30;  // 1 GiB
constexpr std::chrono::milliseconds kSlotCreateTimeout{15000};

/// The options the daemon streams with are accepted by the loaded wal2json
/// (format-version 2 needs wal2json 2.x); a FAIL line when not.
bool accepts_wal2json_options(Checker& c, stream::ReplicationStream& stream, const std::string& slot,
                              const std::string& package) {
  pg::Connection& repl = stream.connection();
  std::string sql =
      fmt::format("SELECT count(*) FROM pg_catalog.pg_logical_slot_peek_changes({}, NULL, 1", repl.quote_literal(slot));
  for (const auto& [key, value] : decode::wal2json_options(c.config().postgres.tables)) {
    sql += ", " + repl.quote_literal(key) + ", " + repl.quote_literal(value);
  }
  sql += ")";
  try {
    repl.exec(sql);
  } catch (const pg::Error& e) {
    c.fail("wal2json",
           fmt::format("wal2json loads but rejects the options customer-cdc streams with (format-version 2 "
                       "needs wal2json 2.x): {}",
                       e.what()),
           fmt::format("upgrade the wal2json plugin to 2.x (Debian/Ubuntu: `apt-get install {}`)", package));
    return false;
  }
  return true;
}

}  // namespace

void output_plugin_libraries(Checker& c) {
  const std::string& plugin = c.config().postgres.plugin;
  const pg::Result r = c.query("SELECT setting FROM pg_catalog.pg_settings WHERE name = 'output_plugin_libraries'");
  if (r.rows() == 0) {
    c.ok("output_plugin_libraries", "not a setting of this build (any installed output plugin may be used)");
    return;
  }
  const std::string setting(r.value(0, 0));
  bool listed = false;
  std::string entry;
  for (std::size_t i = 0; i <= setting.size(); ++i) {
    if (i == setting.size() || setting[i] == ',') {
      std::string name;
      for (const char c : entry) {
        if (c != ' ' && c != '"' && c != '\'') name += c;
      }
      listed |= name == plugin;
      entry.clear();
    } else {
      entry += setting[i];
    }
  }
  c.findings.plugin_allowed = listed;
  if (listed) {
    c.ok("output_plugin_libraries", fmt::format("'{}' includes {}", setting, plugin));
  } else {
    c.fail("output_plugin_libraries", fmt::format("'{}' does not include {}", setting, plugin),
           "set `output_plugin_libraries = 'pgoutput, test_decoding, wal2json'` in postgresql.conf, then "
           "restart PostgreSQL");
  }
}

void output_plugin(Checker& c) {
  const std::string& plugin = c.config().postgres.plugin;
  std::vector<std::string> blockers;
  if (!c.findings.wal_level_ok) blockers.push_back("wal_level = logical");
  if (!c.server.superuser && !c.server.replication) blockers.push_back("the REPLICATION privilege");
  if (!c.findings.free_slot) blockers.push_back("a free replication slot");
  if (!c.findings.free_sender) blockers.push_back("a free WAL sender");
  if (!c.findings.plugin_allowed) blockers.push_back(plugin + " in output_plugin_libraries");
  if (!blockers.empty()) {
    c.fail(plugin,
           fmt::format("not verified: loading it with a temporary slot needs {} (see above)", join(blockers, ", ")),
           "fix the items above, " + std::string(kRerun));
    return;
  }
  const std::string package = fmt::format("postgresql-{}-wal2json", c.server.version_num / 10000);
  const std::string slot = fmt::format("customer_cdc_check_{}", ::getpid());
  std::unique_ptr<stream::ReplicationStream> stream;
  try {
    stream = std::make_unique<stream::ReplicationStream>(c.config().postgres.dsn);
    PQsetNoticeProcessor(stream->connection().get(), &ignore_notice, nullptr);
  } catch (const pg::Error& e) {
    c.fail(plugin, fmt::format("not verified: the replication connection failed: {}", e.what()),
           "allow a replication=database connection for this role in pg_hba.conf (it matches the database "
           "name, like a normal connection), " +
               std::string(kRerun));
    return;
  }
  try {
    if (!stream->create_slot_within(slot, plugin, {.temporary = true}, kSlotCreateTimeout)) {
      c.fail(plugin,
             fmt::format("creating a temporary {} slot did not finish within {} s: logical slot creation "
                         "waits until every transaction that was running when it started has ended, so a "
                         "long-running transaction is open (it would delay the daemon's slot creation as well)",
                         plugin, kSlotCreateTimeout.count() / 1000),
             "find it with `SELECT pid, xact_start, state, query FROM pg_stat_activity WHERE backend_xid IS NOT "
             "NULL ORDER BY xact_start;`, let it finish or end it (`SELECT pg_terminate_backend(<pid>);`), " +
                 std::string(kRerun));
      return;
    }
  } catch (const pg::Error& e) {
    const std::string message = e.what();
    // pgoutput is built into the server: only wal2json can be missing.
    std::string fix = plugin == "wal2json"
                          ? fmt::format("install the wal2json output plugin on the database server (Debian/Ubuntu: "
                                        "`apt-get install {}`; RPM: wal2json_{}), ",
                                        package, c.server.version_num / 10000) +
                                kRerun
                          : "fix what the server's message says, " + std::string(kRerun);
    if (message.find("may not be used as an output plugin") != std::string::npos) {
      fix =
          "set `output_plugin_libraries = 'pgoutput, test_decoding, wal2json'` in postgresql.conf, then "
          "restart PostgreSQL";
    } else if (e.sqlstate() == "53400") {  // configuration_limit_exceeded: no free slot
      fix = "drop an unused replication slot or raise max_replication_slots (then restart PostgreSQL)";
    }
    c.fail(plugin, fmt::format("a temporary {} slot could not be created: {}", plugin, message), fix);
    return;
  }
  if (plugin == "wal2json") {
    if (!accepts_wal2json_options(c, *stream, slot, package)) return;
  }
  try {
    stream->drop_slot(slot);
  } catch (const pg::Error&) {
    // Temporary: it goes away with the connection anyway.
  }
  if (plugin == "wal2json") {
    c.ok(plugin, "loads (a temporary test slot was created and accepted format-version 2)");
  } else {
    c.ok(plugin, "loads (built into PostgreSQL; a temporary test slot was created)");
  }
}

void slot(Checker& c) {
  const std::string& name = c.config().postgres.slot;
  const pg::Result r = c.query(
      "SELECT slot_type, coalesce(plugin, ''), coalesce(database::text, ''), active, active_pid, "
      "coalesce(confirmed_flush_lsn::text, ''), "
      "CASE WHEN restart_lsn IS NULL OR pg_is_in_recovery() THEN NULL "
      "     ELSE pg_current_wal_lsn() - restart_lsn END, coalesce(wal_status, ''), temporary "
      "FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
      {name});
  if (r.rows() == 0) {
    if (c.config().postgres.create_slot) {
      c.ok("slot", fmt::format("\"{}\" does not exist yet: it will be created ({}) on start "
                               "(postgres.create_slot = true)",
                               name, c.config().postgres.plugin));
    } else {
      c.fail("slot", fmt::format("\"{}\" does not exist and postgres.create_slot is false", name),
             "`customer-cdc slot create` (or set postgres.create_slot = true)");
    }
    return;
  }
  const std::string type(r.value(0, 0));
  const std::string plugin(r.value(0, 1));
  const std::string database(r.value(0, 2));
  const bool active = r.value(0, 3) == "t";
  const std::string pid = r.optional_value(0, 4).value_or("?");
  const std::string confirmed(r.value(0, 5));
  const std::optional<std::string> retained_text = r.optional_value(0, 6);
  const std::string wal_status(r.value(0, 7));
  const bool temporary = r.value(0, 8) == "t";
  const std::string& wanted = c.config().postgres.plugin;
  if (type != "logical" || plugin != wanted) {
    const auto supported = decode::supported_plugins();
    const bool other_supported =
        type == "logical" && std::find(supported.begin(), supported.end(), plugin) != supported.end();
    c.fail("slot",
           fmt::format("\"{}\" is a {} slot with plugin '{}', not a logical {} slot (postgres.plugin)", name, type,
                       plugin, wanted),
           fmt::format("drop it (`customer-cdc slot drop`; it is recreated with {} on start, and changes it holds "
                       "that were not streamed yet are lost){} or set postgres.slot to another name{}",
                       wanted,
                       other_supported
                           ? fmt::format(", set postgres.plugin = \"{}\" to keep streaming from it,", plugin)
                           : "",
                       other_supported ? fmt::format(" and move to it with `customer-cdc slot switch --from {}` "
                                                     "(nothing lost or repeated; docs/plugins.md)",
                                                     name)
                                       : ""));
    return;
  }
  if (temporary) {
    c.fail("slot", fmt::format("\"{}\" is a temporary slot of another session", name),
           "set postgres.slot to another name");
    return;
  }
  if (database != c.server.db) {
    c.fail("slot",
           fmt::format("\"{}\" belongs to database {}, postgres.dsn connects to {}", name, database, c.server.db),
           "point postgres.dsn at database " + database + ", or set postgres.slot to another name");
    return;
  }
  if (wal_status == "lost") {
    c.fail("slot", fmt::format("\"{}\" has lost WAL it needed (wal_status = lost): changes were missed", name),
           "`customer-cdc slot drop && customer-cdc slot create`, then `customer-cdc snapshot` to backfill");
    return;
  }
  std::int64_t retained = -1;
  if (retained_text) {
    const auto text = std::string_view(*retained_text);
    const auto dot = text.find('.');  // pg_lsn - pg_lsn is numeric
    std::from_chars(text.data(), text.data() + (dot == std::string_view::npos ? text.size() : dot), retained);
  }
  std::string detail =
      fmt::format("\"{}\" exists ({}, database {}, {}, confirmed_flush_lsn {}, retains {} of WAL{})", name,
                  plugin, database, active ? "active, pid " + pid : "inactive", confirmed.empty() ? "none" : confirmed,
                  retained >= 0 ? fmt::format("{} bytes", retained) : "an unknown amount",
                  wal_status.empty() ? "" : ", wal_status " + wal_status);
  if (active) {
    detail += "; note: another process streams from it, a daemon started now waits for it (hot standby)";
  }
  if (retained > kRetainedWalWarnBytes) {
    detail += fmt::format(
        "; WARNING: {} of WAL retained: is the daemon running and keeping up? If the slot "
        "is abandoned, drop it (`customer-cdc slot drop`) before the disk fills",
        human_bytes(retained));
  }
  if (wal_status == "unreserved") {
    detail += "; WARNING: wal_status unreserved: WAL is past max_slot_wal_keep_size and about to be removed";
  }
  c.ok("slot", detail);
}

}  // namespace cdc::app::check
