// Schema items: the tables and columns the configured features need, the
// seed's audit trigger, replica identity, table privileges and row level
// security.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cdc/domain/captured_schema.hpp"
#include "checker.hpp"
#include "items.hpp"

namespace cdc::app::check {
namespace {

/// What the configured features need, from the captured-schema module.
domain::EnabledFeatures enabled_features(const Config& config) {
  return {config.audit.enabled, config.rollups.enabled, config.dead_letter.enabled, config.kafka.enabled};
}

}  // namespace

// ---------------------------------------------------------------------------
// Items

void schema(Checker& c) {
  const std::vector<domain::RequiredTable> needed =
      domain::required_tables(c.config().postgres.tables, enabled_features(c.config()));
  std::vector<std::string> missing_migrate;
  std::vector<std::string> missing_other;
  std::vector<std::string> present;
  for (const auto& object : needed) {
    if (c.exists(object.name)) {
      present.push_back(object.name);
    } else {
      (object.from_migrate ? missing_migrate : missing_other).push_back(object.name);
      c.findings.missing_tables.insert(object.name);
    }
  }
  // Columns later migrations added to tables that already existed.
  for (const domain::Feature feature : domain::features_of(enabled_features(c.config()))) {
    for (const domain::TableUse& use : domain::table_uses(feature)) {
      const std::string table(use.table);
      if (use.migrated_columns.empty() || c.findings.missing_tables.contains(table)) continue;
      const std::vector<std::string> names(use.migrated_columns.begin(), use.migrated_columns.end());
      const std::string columns = c.scalar(
          "SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = $1::oid "
          "AND attname = ANY($2::text[]) AND NOT attisdropped",
          {c.table_oid(table), pg::array_literal(names)});
      if (columns != std::to_string(names.size())) missing_migrate.push_back(table + "." + join(names, "/"));
    }
  }
  if (missing_migrate.empty() && missing_other.empty()) {
    c.ok("schema", fmt::format("{} present", join(present, ", ")));
    return;
  }
  std::vector<std::string> fixes;
  if (!missing_migrate.empty()) {
    fixes.push_back("`customer-cdc migrate` (applies schema/*.sql; safe to re-run)");
  }
  if (!missing_other.empty()) {
    fixes.push_back(fmt::format("create {} or remove it from postgres.tables", join(missing_other, ", ")));
  }
  std::vector<std::string> all = missing_migrate;
  all.insert(all.end(), missing_other.begin(), missing_other.end());
  c.fail("schema", fmt::format("missing: {}", join(all, ", ")), join(fixes, "; "));
}

void audit_trigger(Checker& c) {
  if (c.findings.missing_tables.contains("public.customer")) {
    c.fail("audit trigger", "skipped: public.customer does not exist (see schema)", "`customer-cdc migrate`");
    return;
  }
  const std::string triggers = c.scalar(
      "SELECT string_agg(t.tgname, ', ' ORDER BY t.tgname) FROM pg_catalog.pg_trigger t "
      "JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid "
      "WHERE t.tgrelid = $1::oid AND NOT t.tgisinternal "
      "AND (t.tgname = 'on_customer_changes' OR p.proname = 'log_customer_changes')",
      {c.table_oid("public.customer")});
  if (triggers.empty()) {
    c.ok("audit trigger",
         "the seed's on_customer_changes trigger is not installed (customer-cdc writes the "
         "audit entries)");
  } else {
    c.fail("audit trigger",
           fmt::format("trigger {} on public.customer still writes audit entries: every change would be "
                       "audited twice",
                       triggers),
           fmt::format("`DROP TRIGGER {} ON public.customer;` (`customer-cdc migrate` drops on_customer_changes)",
                       triggers.find(',') == std::string::npos ? ident(triggers) : "<name>"));
  }
}

void replica_identity(Checker& c) {
  const std::string oid = c.findings.missing_tables.contains("public.customer") ? "" : c.table_oid("public.customer");
  if (oid.empty()) {
    c.fail("replica identity", "public.customer does not exist (see schema)", "`customer-cdc migrate`");
    return;
  }
  const std::string identity = c.scalar("SELECT relreplident FROM pg_catalog.pg_class WHERE oid = $1::oid", {oid});
  static const std::map<std::string, std::string> names = {
      {"d", "DEFAULT"}, {"n", "NOTHING"}, {"f", "FULL"}, {"i", "USING INDEX"}};
  const auto name = names.contains(identity) ? names.at(identity) : identity;
  if (identity == "f") {
    c.ok("replica identity", "public.customer is REPLICA IDENTITY FULL");
  } else {
    c.fail("replica identity",
           fmt::format("public.customer is REPLICA IDENTITY {}: old values of updated and deleted rows are not "
                       "in the WAL, audit entries need them",
                       name),
           "`ALTER TABLE public.customer REPLICA IDENTITY FULL;`");
  }
}

void privileges(Checker& c) {
  const std::vector<domain::RequiredPrivileges> needs =
      domain::required_privileges(c.config().postgres.tables, enabled_features(c.config()));
  std::vector<std::string> lacking;  // "INSERT on public.audit_logs"
  std::vector<std::string> grants;   // GRANT statements
  std::vector<std::string> skipped;  // tables that do not exist
  std::set<std::string> schemas_done;
  std::size_t checked = 0;
  for (const auto& need : needs) {
    const std::string oid = c.findings.missing_tables.contains(need.table) ? "" : c.table_oid(need.table);
    if (oid.empty()) {
      skipped.push_back(need.table);
      continue;
    }
    const std::string schema = pg::split_table_name(need.table).first;
    if (schemas_done.insert(schema).second &&
        c.scalar("SELECT has_schema_privilege($1::text, 'USAGE')", {schema}) != "t") {
      lacking.push_back("USAGE on schema " + schema);
      grants.push_back(fmt::format("GRANT USAGE ON SCHEMA {} TO {};", ident(schema), c.role()));
    }
    std::vector<std::string> missing_privileges;
    for (const auto& privilege : need.privileges) {
      ++checked;
      if (c.scalar("SELECT has_table_privilege($1::oid, $2::text)", {oid, privilege}) != "t") {
        missing_privileges.push_back(privilege);
      }
    }
    if (!missing_privileges.empty()) {
      lacking.push_back(join(missing_privileges, ", ") + " on " + need.table);
      grants.push_back(
          fmt::format("GRANT {} ON {} TO {};", join(missing_privileges, ", "), qualified(need.table), c.role()));
    }
  }
  if (!lacking.empty()) {
    c.fail("privileges", fmt::format("role {} lacks {}", c.server.user, join(lacking, ", ")),
           "as the tables' owner or a superuser: `" + join(grants, " ") + "`");
  } else if (!skipped.empty()) {
    c.fail("privileges", fmt::format("not checked for missing tables: {} (see schema)", join(skipped, ", ")),
           "`customer-cdc migrate`, " + std::string(kRerun));
  } else {
    c.ok("privileges", fmt::format("role {} holds all {} table privileges it needs{}", c.server.user, checked,
                                   c.server.superuser ? " (superuser)" : ""));
  }
}

void row_level_security(Checker& c) {
  // Streaming does not go through RLS, but `snapshot` and `rebuild-rollups`
  // read the captured tables with SELECT: under RLS they would silently see
  // only some rows.
  if (c.server.superuser || c.server.bypassrls) {
    c.ok("row level security", fmt::format("role {} bypasses row level security{}", c.server.user,
                                           c.server.superuser ? " (superuser)" : " (BYPASSRLS)"));
    return;
  }
  std::vector<std::string> filtered;
  std::vector<std::string> by_policy;
  for (const auto& table : c.config().postgres.tables) {
    const std::string oid = c.findings.missing_tables.contains(table) ? "" : c.table_oid(table);
    if (oid.empty()) continue;
    // A policy applies to this role when it names PUBLIC (0) or a role it is a member of.
    const pg::Result r = c.query(
        "WITH applying AS (SELECT p.polpermissive, pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS qual "
        "  FROM pg_catalog.pg_policy p WHERE p.polrelid = $1::oid AND p.polcmd IN ('r', '*') "
        "  AND (0 = ANY(p.polroles) OR EXISTS (SELECT 1 FROM unnest(p.polroles) AS pr(oid) "
        "       WHERE pr.oid <> 0 AND pg_catalog.pg_has_role(current_user, pr.oid, 'USAGE')))) "
        "SELECT c.relrowsecurity, c.relforcerowsecurity, pg_has_role(c.relowner, 'USAGE'), "
        "  EXISTS (SELECT 1 FROM applying WHERE polpermissive AND qual = 'true') "
        "  AND NOT EXISTS (SELECT 1 FROM applying WHERE NOT polpermissive) "
        "FROM pg_catalog.pg_class c WHERE c.oid = $1::oid",
        {oid});
    if (r.rows() == 0) continue;
    const bool rls = r.value(0, 0) == "t";
    const bool forced = r.value(0, 1) == "t";
    const bool owner = r.value(0, 2) == "t";
    const bool open_policy = r.value(0, 3) == "t";
    if (!rls || (owner && !forced)) continue;
    if (open_policy) {
      by_policy.push_back(table);
    } else {
      filtered.push_back(table);
    }
  }
  if (filtered.empty() && !by_policy.empty()) {
    c.ok("row level security", fmt::format("a permissive SELECT policy USING (true) lets role {} read every row of {}",
                                           c.server.user, join(by_policy, ", ")));
    return;
  }
  if (filtered.empty()) {
    c.ok("row level security", "no captured table filters the rows this role reads");
    return;
  }
  c.fail("row level security",
         fmt::format("row level security is enabled on {} and role {} neither owns {} nor has BYPASSRLS: "
                     "`snapshot` and `rebuild-rollups` would read only the rows a policy lets through "
                     "(no permissive SELECT policy USING (true) applies to it, or a restrictive one does)",
                     join(filtered, ", "), c.server.user, filtered.size() == 1 ? "it" : "them"),
         fmt::format("`ALTER ROLE {} BYPASSRLS;` as a superuser (or a policy such as `CREATE POLICY "
                     "customer_cdc_read ON {} FOR SELECT TO {} USING (true);`)",
                     c.role(), qualified(filtered.front()), c.role()));
}

}  // namespace cdc::app::check
