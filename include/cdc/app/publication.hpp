#pragma once
// pgoutput's publication of the captured tables: what it must publish, and
// its creation by `customer-cdc migrate` (`check` verifies it).
#include <string>
#include <string_view>
#include <vector>

#include "cdc/app/config.hpp"
#include "cdc/core/pg.hpp"

namespace cdc::app {

/// The operations the publication publishes (its `publish` parameter).
inline constexpr std::string_view kPublishedOperations = "insert, update, delete, truncate";

/// CREATE PUBLICATION <publication> FOR TABLE <tables> WITH (publish = ...);
/// `quoted_tables` are SQL-ready ("public.customer"); the publication name is
/// a plain identifier (the configuration allows nothing else).
std::string create_publication_sql(std::string_view publication, const std::vector<std::string>& quoted_tables);

/// `migrate` with plugin = "pgoutput": creates postgres.publication for
/// postgres.tables where missing and leaves an existing one as it is.
/// Returns the line to print; throws pg::Error (message with the owner hint
/// when the role may not create it).
std::string ensure_publication(pg::Connection& conn, const Config& config);

}  // namespace cdc::app
