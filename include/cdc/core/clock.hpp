#pragma once
#include <chrono>
#include <cstdint>

namespace cdc {

/// Wall clock in microseconds since the Unix epoch.
inline std::int64_t unix_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace cdc
