#pragma once
// The output plugin's settings from [postgres]: what the decoder is made
// from, what the connected server must support, and where streamed
// transactions are spooled.
#include <cstdlib>
#include <optional>
#include <string>

#include "cdc/app/config.hpp"
#include "cdc/decode/decoder.hpp"

namespace cdc::app {

/// The decoder's settings (the one place they are built from the configuration).
decode::DecoderSettings decoder_settings(const Config& config);

/// A configured plugin option the connected server cannot do.
struct ServerVersionProblem {
  std::string problem;  ///< names the key, the version it needs and the server's
  std::string fix;
  std::string message() const { return problem + ": " + fix; }
};

/// The first configured plugin option that a server of `server_version_num`
/// (server_version_num / PQserverVersion, e.g. 130008) cannot do; nullopt
/// when it can do them all. Binary mode and streaming need PostgreSQL 14.
std::optional<ServerVersionProblem> server_version_problem(const PostgresConfig& postgres, int server_version_num);

/// postgres.spool_dir, or when it is "": $STATE_DIRECTORY/spool (systemd's
/// StateDirectory=, set by the unit; its first entry), else
/// <temp dir>/customer-cdc-spool-<slot>. Not created here.
std::string spool_directory(const PostgresConfig& postgres,
                            const char* state_directory = std::getenv("STATE_DIRECTORY"));

}  // namespace cdc::app
