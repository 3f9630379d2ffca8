#pragma once
#include "cdc/core/errors.hpp"

namespace cdc::sinks {

/// A change of a captured table whose columns do not fit the schema a sink
/// maps it to (a poison message: retrying cannot help).
class MappingError : public CategorizedError<ErrorCategory::Poison> {
 public:
  using CategorizedError::CategorizedError;
};

}  // namespace cdc::sinks
