#include "cdc/app/plugin_settings.hpp"

#include <filesystem>
#include <string_view>

#include <fmt/format.h>

namespace cdc::app {
namespace {

constexpr int kPg14 = 140000;

/// "13.8" for 130008 (10 and newer), "9.6.24" for 90624.
std::string version_text(int num) {
  if (num >= 100000) return fmt::format("{}.{}", num / 10000, num % 10000);
  return fmt::format("{}.{}.{}", num / 10000, num / 100 % 100, num % 100);
}

}  // namespace

decode::DecoderSettings decoder_settings(const Config& config) {
  return {.plugin = config.postgres.plugin,
          .publication = config.postgres.publication,
          .binary = config.postgres.binary,
          .streaming = config.postgres.streaming};
}

std::optional<ServerVersionProblem> server_version_problem(const PostgresConfig& postgres,
                                                          int server_version_num) {
  struct Need {
    std::string_view key;
    bool set;
    std::string_view what;
  };
  for (const Need& need : {Need{"binary", postgres.binary, "pgoutput's binary mode"},
                           Need{"streaming", postgres.streaming,
                                "pgoutput's protocol version 2 streaming of in-progress transactions"}}) {
    if (need.set && server_version_num < kPg14) {
      return ServerVersionProblem{
          fmt::format("postgres.{} = true needs PostgreSQL 14 or newer ({}), the server runs PostgreSQL {}",
                      need.key, need.what, version_text(server_version_num)),
          fmt::format("upgrade the server to PostgreSQL 14 or newer, or set postgres.{} = false", need.key)};
    }
  }
  return std::nullopt;
}

std::string spool_directory(const PostgresConfig& postgres, const char* state_directory) {
  if (!postgres.spool_dir.empty()) return postgres.spool_dir;
  if (state_directory != nullptr && *state_directory != '\0') {
    const std::string_view dirs(state_directory);  // "a:b" with several StateDirectory= entries
    return std::string(dirs.substr(0, dirs.find(':'))) + "/spool";
  }
  return (std::filesystem::temp_directory_path() / ("customer-cdc-spool-" + postgres.slot)).string();
}

}  // namespace cdc::app
