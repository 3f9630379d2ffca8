#pragma once
#include <string>

#include "cdc/core/errors.hpp"

namespace cdc::pipeline {

/// The server sent nothing (no change, no keepalive, no reply to a request
/// for one) for `postgres.stream_timeout_ms`: a hung walsender or a network
/// blackhole. Reconnecting fixes it; nothing unacknowledged is lost.
class StreamStalled : public CategorizedError<ErrorCategory::Retryable> {
 public:
  using CategorizedError::CategorizedError;
};

}  // namespace cdc::pipeline
