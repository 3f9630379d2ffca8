// Server items: connection, version, wal_level, slot and WAL sender capacity,
// the replication privilege.
#include <algorithm>
#include <cctype>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cdc/app/plugin_settings.hpp"
#include "cdc/core/conninfo.hpp"
#include "checker.hpp"
#include "items.hpp"

namespace cdc::app::check {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

bool connect_to_server(Checker& c) {
  const std::string where = pg::describe_conninfo(c.config().postgres.dsn);
  std::string parse_error;
  if (!pg::parse_conninfo(c.config().postgres.dsn, &parse_error)) {
    // libpq's parse errors quote pieces of the string, which may be the password.
    const std::string lowered = lower(c.config().postgres.dsn);
    const bool may_quote_secret =
        lowered.find("password") != std::string::npos || lowered.find('@') != std::string::npos;
    c.fail("connect",
           fmt::format(
               "postgres.dsn is not a valid libpq connection string{}",
               may_quote_secret ? " (libpq's message is withheld: it may quote the password)" : ": " + parse_error),
           "write postgres.dsn (or CUSTOMER_CDC_POSTGRES_DSN) as \"host=... port=... dbname=... user=...\" or "
           "postgresql://user@host:port/dbname");
    return false;
  }
  try {
    c.conn = std::make_unique<pg::Connection>(c.config().postgres.dsn);
    PQsetNoticeProcessor(c.conn->get(), &ignore_notice, nullptr);
    const pg::Result r = c.conn->exec(
        "SELECT current_user, current_database(), current_setting('server_version'), "
        "current_setting('server_version_num')::int, pg_is_in_recovery(), r.rolsuper, r.rolreplication, "
        "r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = current_user");
    if (r.rows() != 1) throw pg::Error("the current role is missing from pg_roles", "", false);
    c.server.user = r.value(0, 0);
    c.server.db = r.value(0, 1);
    c.server.version = r.value(0, 2);
    c.server.version_num = std::stoi(std::string(r.value(0, 3)));
    c.server.in_recovery = r.value(0, 4) == "t";
    c.server.superuser = r.value(0, 5) == "t";
    c.server.replication = r.value(0, 6) == "t";
    c.server.bypassrls = r.value(0, 7) == "t";
  } catch (const std::exception& e) {
    c.conn.reset();
    const std::string message = e.what();
    const std::string user = c.dsn_user().empty() ? "(the OS user name)" : c.dsn_user();
    const std::string db = c.dsn_db().empty() ? "(the user name)" : c.dsn_db();
    std::string fix =
        "check postgres.dsn (or CUSTOMER_CDC_POSTGRES_DSN): host, port, dbname, user and password; that "
        "PostgreSQL runs and listens there (listen_addresses, port in postgresql.conf); and that pg_hba.conf "
        "allows user " +
        user + " to connect to database " + db + " from this host";
    if (message.find("password authentication failed") != std::string::npos ||
        message.find("no password supplied") != std::string::npos) {
      fix = "set the right password for user " + user +
            ": password=... in CUSTOMER_CDC_POSTGRES_DSN (keep it out of the config file), or a ~/.pgpass entry";
    } else if (message.find("no pg_hba.conf entry") != std::string::npos) {
      fix = "add a pg_hba.conf line such as `host " + db + " " + user +
            " <this host's address>/32 scram-sha-256` on the server, then `SELECT pg_reload_conf();`";
    } else if (message.find("does not exist") != std::string::npos) {
      fix =
          "create the role/database named in postgres.dsn (or CUSTOMER_CDC_POSTGRES_DSN), or correct "
          "user/dbname there";
    }
    c.fail("connect", fmt::format("cannot connect to {}: {}", where, message), fix);
    return false;
  }
  c.ok("connect", fmt::format("{} as user {} (database {})", where, c.server.user, c.server.db));
  return true;
}

void server_version(Checker& c) {
  const std::string major = std::to_string(c.server.version_num / 10000);
  if (c.server.in_recovery) {
    c.fail(
        "server version",
        fmt::format("PostgreSQL {} is a standby (in recovery): logical decoding needs the primary", c.server.version),
        "point postgres.dsn (or CUSTOMER_CDC_POSTGRES_DSN) at the primary server");
  } else if (c.server.version_num < 100000) {
    c.fail("server version",
           fmt::format("PostgreSQL {} is too old: logical replication connections need 10 or newer", c.server.version),
           "upgrade to PostgreSQL 15");
  } else if (const auto problem = server_version_problem(c.config().postgres, c.server.version_num)) {
    c.fail("server version", problem->problem, problem->fix);
  } else if (c.server.version_num < 150000) {
    c.ok("server version", fmt::format("PostgreSQL {} (supported; note: customer-cdc is built and tested "
                                       "against PostgreSQL 15, and its schema needs 14 or newer)",
                                       c.server.version));
  } else {
    c.ok("server version", fmt::format("PostgreSQL {}", c.server.version));
  }
}

void wal_level(Checker& c) {
  const std::string level = c.scalar("SELECT current_setting('wal_level')");
  c.findings.wal_level_ok = level == "logical";
  if (c.findings.wal_level_ok) {
    c.ok("wal_level", "logical");
  } else {
    c.fail("wal_level", fmt::format("wal_level is '{}', logical decoding needs 'logical'", level),
           "`ALTER SYSTEM SET wal_level = logical;` as a superuser, then restart PostgreSQL");
  }
}

void replication_slots(Checker& c) {
  const pg::Result r = c.query(
      "SELECT current_setting('max_replication_slots')::int, "
      "(SELECT count(*) FROM pg_catalog.pg_replication_slots), "
      "EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1), "
      "(SELECT string_agg(slot_name, ', ' ORDER BY slot_name) FROM pg_catalog.pg_replication_slots "
      " WHERE NOT active)",
      {c.config().postgres.slot});
  const int max = std::stoi(std::string(r.value(0, 0)));
  const int used = std::stoi(std::string(r.value(0, 1)));
  const bool ours = r.value(0, 2) == "t";
  const std::string inactive = r.optional_value(0, 3).value_or("");
  const std::string counts = fmt::format("{} of {} in use", used, max);
  c.findings.free_slot = used < max;
  if (max == 0) {
    c.fail("max_replication_slots", "max_replication_slots is 0: no replication slot can be created",
           "`ALTER SYSTEM SET max_replication_slots = 10;` as a superuser, then restart PostgreSQL");
  } else if (!c.findings.free_slot && !ours) {
    c.fail("max_replication_slots",
           fmt::format("{}: no free slot for \"{}\"{}", counts, c.config().postgres.slot,
                       inactive.empty() ? "" : " (inactive slots: " + inactive + ")"),
           fmt::format("drop an unused slot (`SELECT pg_drop_replication_slot('<name>');`) or raise the limit "
                       "(`ALTER SYSTEM SET max_replication_slots = {};`, then restart PostgreSQL)",
                       max + 2));
  } else {
    c.ok("max_replication_slots",
         fmt::format("{}{}", counts, ours ? fmt::format(" (one is \"{}\")", c.config().postgres.slot) : ", one free"));
  }
}

void wal_senders(Checker& c) {
  const pg::Result r = c.query(
      "SELECT current_setting('max_wal_senders')::int, "
      "(SELECT count(*) FROM pg_catalog.pg_stat_replication), "
      "EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1 AND active)",
      {c.config().postgres.slot});
  const int max = std::stoi(std::string(r.value(0, 0)));
  const int used = std::stoi(std::string(r.value(0, 1)));
  const bool ours_active = r.value(0, 2) == "t";
  const std::string counts = fmt::format("{} of {} in use", used, max);
  c.findings.free_sender = used < max;
  if (max == 0) {
    c.fail("max_wal_senders", "max_wal_senders is 0: no replication connection is possible",
           "`ALTER SYSTEM SET max_wal_senders = 10;` as a superuser, then restart PostgreSQL");
  } else if (!c.findings.free_sender && !ours_active) {
    c.fail("max_wal_senders", fmt::format("{}: no free WAL sender for the replication connection", counts),
           fmt::format("`ALTER SYSTEM SET max_wal_senders = {};` as a superuser, then restart PostgreSQL "
                       "(or stop an unused replication client)",
                       max + 2));
  } else {
    c.ok("max_wal_senders",
         fmt::format("{}{}", counts,
                     c.findings.free_sender ? ", one free" : " (one by the instance streaming our slot)"));
  }
}

void replication_privilege(Checker& c) {
  if (c.server.superuser) {
    c.ok("replication privilege", fmt::format("role {} is a superuser", c.server.user));
  } else if (c.server.replication) {
    c.ok("replication privilege", fmt::format("role {} has REPLICATION", c.server.user));
  } else {
    c.fail("replication privilege",
           fmt::format("role {} has neither REPLICATION nor SUPERUSER: it cannot open the replication "
                       "connection",
                       c.server.user),
           fmt::format("`ALTER ROLE {} REPLICATION;` as a superuser", c.role()));
  }
}

}  // namespace cdc::app::check
