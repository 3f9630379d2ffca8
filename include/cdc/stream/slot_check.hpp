#pragma once
#include <string>
#include <string_view>

#include "cdc/core/errors.hpp"
#include "cdc/stream/replication_stream.hpp"

namespace cdc::stream {

/// Another process streams from the slot; wait and try again.
class SlotBusy : public CategorizedError<ErrorCategory::Retryable> {
 public:
  using CategorizedError::CategorizedError;
  std::string log_message() const override {
    return std::string(what()) + " (another instance is streaming; standing by)";
  }
};

/// Throws FatalError for a slot that is not a logical slot of `plugin` or has
/// lost WAL, SlotBusy when another process streams from it.
void check_slot_usable(const SlotState& state, std::string_view plugin);

}  // namespace cdc::stream
