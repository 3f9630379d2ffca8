#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace cdc::sinks {

/// Where KafkaRecords hands its records, in order. Key and value are valid
/// only during the call.
class RecordOutput {
 public:
  virtual ~RecordOutput() = default;
  /// `key` empty: no key; `value` nullopt: a tombstone.
  virtual void produce(const std::string& topic, std::string_view key, std::optional<std::string_view> value) = 0;
};

}  // namespace cdc::sinks
