#pragma once
#include <string_view>

namespace cdc {

/// The release, as `--version` and customer_cdc_build_info show it.
inline constexpr std::string_view kVersion = "0.1.0";

}  // namespace cdc
