// The "online snapshots" item (kafka enabled): what the daemon needs to take
// `customer-cdc snapshot` requests while it runs: the request table (SELECT,
// INSERT, UPDATE, its sequence) and EXECUTE on pg_logical_emit_message for
// the watermarks (superuser-only by default), with the GRANTs that fix it.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "items.hpp"

namespace cdc::app::check {
namespace {

constexpr const char* kRequests = "customer_cdc.online_snapshot";
constexpr const char* kSequence = "customer_cdc.online_snapshot_id_seq";
constexpr const char* kEmitMessage = "pg_catalog.pg_logical_emit_message(boolean, text, text)";

}  // namespace

void online_snapshot(Checker& c) {
  const std::string oid = c.table_oid(kRequests);
  if (oid.empty()) {
    c.fail("online snapshots", fmt::format("{} does not exist (an older schema)", kRequests),
           "`customer-cdc migrate`, " + std::string(kRerun));
    return;
  }
  std::vector<std::string> lacking;
  std::vector<std::string> grants;
  if (c.scalar("SELECT has_schema_privilege('customer_cdc', 'USAGE')") != "t") {
    lacking.emplace_back("USAGE on schema customer_cdc");
    grants.push_back(fmt::format("GRANT USAGE ON SCHEMA customer_cdc TO {};", c.role()));
  }
  std::vector<std::string> table_privileges;
  for (const char* privilege : {"SELECT", "INSERT", "UPDATE"}) {
    if (c.scalar("SELECT has_table_privilege($1::oid, $2::text)", {oid, privilege}) != "t") {
      table_privileges.emplace_back(privilege);
    }
  }
  if (!table_privileges.empty()) {
    lacking.push_back(join(table_privileges, ", ") + " on " + kRequests);
    grants.push_back(fmt::format("GRANT {} ON {} TO {};", join(table_privileges, ", "), kRequests, c.role()));
  }
  const std::string sequence_oid = c.table_oid(kSequence);
  if (sequence_oid.empty() || c.scalar("SELECT has_sequence_privilege($1::oid, 'USAGE')", {sequence_oid}) != "t") {
    lacking.push_back(std::string("USAGE on ") + kSequence);
    grants.push_back(fmt::format("GRANT USAGE ON SEQUENCE {} TO {};", kSequence, c.role()));
  }
  if (c.scalar("SELECT has_function_privilege($1::text, 'EXECUTE')", {kEmitMessage}) != "t") {
    lacking.push_back(std::string("EXECUTE on ") + kEmitMessage + " (the snapshot's watermarks)");
    grants.push_back(fmt::format("GRANT EXECUTE ON FUNCTION {} TO {};", kEmitMessage, c.role()));
  }
  if (!lacking.empty()) {
    c.fail("online snapshots", fmt::format("role {} lacks {}", c.server.user, join(lacking, ", ")),
           "as a superuser (or scripts/create-role.sql): `" + join(grants, " ") + "`");
    return;
  }
  c.ok("online snapshots", fmt::format("role {} may take requests in {} and write watermarks{}", c.server.user,
                                       kRequests, c.server.superuser ? " (superuser)" : ""));
}

}  // namespace cdc::app::check
