#pragma once
#include <memory>
#include <vector>

#include "cdc/sinks/postgres/rollups/rollup.hpp"

namespace cdc::sinks {

/// One instance of every rollup, in the order their statements run. A new
/// rollup is a new Rollup class registered here (plus its table in schema/
/// and its needs in domain/captured_schema).
std::vector<std::unique_ptr<Rollup>> make_rollups();

}  // namespace cdc::sinks
