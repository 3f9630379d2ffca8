// The "streaming" item (plugin = "pgoutput"): whether in-progress
// transactions are streamed, and that their spool directory can be written.
#include <cstdlib>

#include <fmt/format.h>

#include "cdc/app/plugin_settings.hpp"
#include "cdc/pipeline/stream_spool.hpp"
#include "items.hpp"

namespace cdc::app::check {

void streaming(Checker& c) {
  const PostgresConfig& postgres = c.config().postgres;
  if (!postgres.streaming) {
    c.ok("streaming", "off: large transactions arrive at their commit (set postgres.streaming = true to receive "
                      "them while they run)");
    return;
  }
  const std::string directory = spool_directory(postgres, std::getenv("STATE_DIRECTORY"));
  try {
    pipeline::prepare_spool_directory(directory);
  } catch (const pipeline::SpoolError& e) {
    c.fail("streaming", fmt::format("on, but {}", e.problem()),
           fmt::format("create {} writable by the daemon's user (in-progress transactions wait there until they "
                       "commit), set postgres.spool_dir to such a directory, or set postgres.streaming = false",
                       directory));
    return;
  }
  c.ok("streaming", fmt::format("on: in-progress transactions wait in {} (writable) until they commit", directory));
}

}  // namespace cdc::app::check
