#include "cdc/app/publication.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace cdc::app {

std::string create_publication_sql(std::string_view publication, const std::vector<std::string>& quoted_tables) {
  return fmt::format("CREATE PUBLICATION {} FOR TABLE {} WITH (publish = '{}');", publication,
                     fmt::join(quoted_tables, ", "), kPublishedOperations);
}

std::string ensure_publication(pg::Connection& conn, const Config& config) {
  const std::string& name = config.postgres.publication;
  const auto exists = [&] {
    return conn.exec_params("SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1", {name}).rows() > 0;
  };
  const std::string kept = fmt::format(
      "publication \"{}\" exists: left as it is (`customer-cdc check` compares it with postgres.tables)", name);
  if (exists()) return kept;
  std::vector<std::string> tables;
  for (const auto& table : config.postgres.tables) {
    const auto [schema, relation] = pg::split_table_name(table);
    tables.push_back(conn.quote_identifier(schema) + "." + conn.quote_identifier(relation));
  }
  try {
    conn.exec(create_publication_sql(name, tables));
  } catch (const pg::Error& e) {
    if (e.sqlstate() == "42710" && exists()) return kept;  // duplicate_object: a concurrent migrate made it
    if (e.sqlstate() != "42501") throw;                    // insufficient_privilege
    throw pg::Error(fmt::format("{} (CREATE PUBLICATION ... FOR TABLE needs ownership of every table in it, "
                                "or a superuser: run `customer-cdc migrate` as the tables' owner)",
                                e.what()),
                    e.sqlstate(), false);
  }
  return fmt::format("created publication \"{}\" for {} (publish = '{}')", name,
                     fmt::join(config.postgres.tables, ", "), kPublishedOperations);
}

}  // namespace cdc::app
