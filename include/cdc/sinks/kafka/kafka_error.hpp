#pragma once
#include "cdc/core/errors.hpp"

namespace cdc::sinks {

/// A Kafka delivery failed for good, or the producer hit a fatal error. The
/// session restarts (from the acknowledged position) with a new producer.
class KafkaError : public CategorizedError<ErrorCategory::Retryable> {
 public:
  using CategorizedError::CategorizedError;
};

}  // namespace cdc::sinks
