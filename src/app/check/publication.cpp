// The publication item (plugin = "pgoutput"): postgres.publication exists,
// publishes exactly the captured tables (whole rows: no row filter, no column
// list) and every operation the daemon maps.
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cdc/app/publication.hpp"
#include "cdc/core/pg.hpp"
#include "cdc/decode/pgoutput/pgoutput.hpp"
#include "checker.hpp"
#include "items.hpp"

namespace cdc::app::check {
namespace {

std::vector<std::string> quoted_tables(const Config& config) {
  std::vector<std::string> tables;
  for (const auto& table : config.postgres.tables) tables.push_back(qualified(table));
  return tables;
}

/// Who may run the fix: CREATE/ALTER PUBLICATION ... TABLE needs ownership of
/// every table in it (and CREATE on the database), which the daemon's own
/// least-privilege role does not have.
std::string owner_note(Checker& c) {
  if (c.server.superuser) return "";
  std::vector<std::string> not_owned;
  for (const auto& table : c.config().postgres.tables) {
    const std::string oid = c.table_oid(table);
    if (!oid.empty() &&
        c.scalar("SELECT pg_has_role(relowner, 'USAGE') FROM pg_catalog.pg_class WHERE oid = $1::oid", {oid}) != "t") {
      not_owned.push_back(table);
    }
  }
  if (not_owned.empty()) return "";
  return fmt::format(" (role {} does not own {}: a publication of a table can be created or changed only by "
                     "the table's owner or a superuser; the daemon's role needs no ownership)",
                     c.server.user, join(not_owned, ", "));
}

/// "public.customer WHERE (...)" or "public.customer (only some columns)" for
/// each published table that does not publish whole rows (PostgreSQL 15+).
std::vector<std::string> partial_tables(Checker& c, const std::string& name) {
  if (c.server.version_num < 150000) return {};
  const pg::Result r = c.query(
      "SELECT t.schemaname || '.' || t.tablename, t.rowfilter, "
      "  cardinality(t.attnames) < (SELECT count(*) FROM pg_catalog.pg_attribute a "
      "    JOIN pg_catalog.pg_class cl ON cl.oid = a.attrelid "
      "    JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace "
      "    WHERE n.nspname = t.schemaname AND cl.relname = t.tablename AND a.attnum > 0 "
      "    AND NOT a.attisdropped AND a.attgenerated = '') "
      "FROM pg_catalog.pg_publication_tables t WHERE t.pubname = $1 ORDER BY 1",
      {name});
  std::vector<std::string> partial;
  for (int row = 0; row < r.rows(); ++row) {
    const std::string table(r.value(row, 0));
    if (const auto filter = r.optional_value(row, 1)) partial.push_back(table + " WHERE " + *filter);
    if (r.value(row, 2) == "t") partial.push_back(table + " (only some columns)");
  }
  return partial;
}

/// "public.t.col (interval)" for each column of the captured tables whose
/// type binary mode cannot convert.
std::vector<std::string> columns_without_binary_conversion(Checker& c) {
  const pg::Result r = c.query(
      "SELECT n.nspname || '.' || cl.relname || '.' || a.attname, a.atttypid::bigint, "
      "       format_type(a.atttypid, a.atttypmod) "
      "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class cl ON cl.oid = a.attrelid "
      "JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace "
      "WHERE n.nspname || '.' || cl.relname = ANY($1::text[]) AND a.attnum > 0 AND NOT a.attisdropped "
      "ORDER BY 1",
      {pg::array_literal(c.config().postgres.tables)});
  std::vector<std::string> columns;
  for (int row = 0; row < r.rows(); ++row) {
    if (!decode::pgoutput_binary_converts(static_cast<std::uint32_t>(std::stoul(std::string(r.value(row, 1)))))) {
      columns.push_back(fmt::format("{} ({})", r.value(row, 0), r.value(row, 2)));
    }
  }
  return columns;
}

}  // namespace

void publication(Checker& c) {
  const Config& config = c.config();
  const std::string& name = config.postgres.publication;
  const std::string tables = join(quoted_tables(config), ", ");
  const pg::Result p = c.query(
      "SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate "
      "FROM pg_catalog.pg_publication WHERE pubname = $1",
      {name});
  if (p.rows() == 0) {
    c.fail("publication",
           fmt::format("\"{}\" (postgres.publication) does not exist: pgoutput streams only the tables of a "
                       "publication",
                       name),
           fmt::format("`customer-cdc migrate` as the owner of the captured tables (it creates it), or as that "
                       "owner or a superuser: `{}`{}",
                       create_publication_sql(name, quoted_tables(config)), owner_note(c)));
    return;
  }
  if (p.value(0, 0) == "t") {
    c.fail("publication",
           fmt::format("\"{}\" is FOR ALL TABLES: it publishes every table of the database, not exactly "
                       "postgres.tables",
                       name),
           fmt::format("stop the daemon, then as a superuser: `DROP PUBLICATION {}; {}` (or set "
                       "postgres.publication to a publication of exactly the captured tables)",
                       name, create_publication_sql(name, quoted_tables(config))));
    return;
  }

  std::vector<std::string> problems;
  std::vector<std::string> fixes;
  const std::vector<std::pair<const char*, int>> operations = {
      {"insert", 1}, {"update", 2}, {"delete", 3}, {"truncate", 4}};
  std::vector<std::string> unpublished;
  for (const auto& [operation, column] : operations) {
    if (p.value(0, column) != "t") unpublished.push_back(operation);
  }
  if (!unpublished.empty()) {
    problems.push_back(fmt::format("does not publish {}", join(unpublished, ", ")));
    fixes.push_back(fmt::format("`ALTER PUBLICATION {} SET (publish = '{}');`", name, kPublishedOperations));
  }

  const pg::Result published = c.query(
      "SELECT schemaname || '.' || tablename FROM pg_catalog.pg_publication_tables WHERE pubname = $1", {name});
  std::set<std::string> in_publication;
  for (int row = 0; row < published.rows(); ++row) in_publication.emplace(published.value(row, 0));
  std::vector<std::string> missing;
  for (const auto& table : config.postgres.tables) {
    if (!in_publication.erase(table)) missing.push_back(table);
  }
  const std::vector<std::string> extra(in_publication.begin(), in_publication.end());
  const std::vector<std::string> partial = partial_tables(c, name);
  if (!missing.empty()) problems.push_back("lacks " + join(missing, ", "));
  if (!extra.empty()) problems.push_back("also publishes " + join(extra, ", "));
  if (!partial.empty()) problems.push_back("publishes only part of " + join(partial, ", "));
  if (!missing.empty() || !extra.empty() || !partial.empty()) {
    fixes.push_back(fmt::format("`ALTER PUBLICATION {} SET TABLE {};`", name, tables));
  }

  if (config.postgres.binary && problems.empty()) {
    if (const auto columns = columns_without_binary_conversion(c); !columns.empty()) {
      c.fail("publication",
             fmt::format("\"{}\" carries columns that binary mode (postgres.binary = true) cannot convert: {}",
                         name, join(columns, ", ")),
             "set postgres.binary = false (text mode converts every type)");
      return;
    }
  }

  if (problems.empty()) {
    c.ok("publication", fmt::format("\"{}\" publishes {} for {}", name, kPublishedOperations,
                                    join(config.postgres.tables, ", ")));
    return;
  }
  c.fail("publication", fmt::format("\"{}\" {}", name, join(problems, "; ")),
         fmt::format("as the publication's owner or a superuser: {}{}", join(fixes, " "), owner_note(c)));
}

}  // namespace cdc::app::check
