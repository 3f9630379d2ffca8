// The one place that knows every output plugin (as pgcopydb's ld_stream.c
// keeps each plugin behind one switch): add a plugin here and in its folder.
#include <stdexcept>

#include "cdc/decode/decoder.hpp"
#include "cdc/decode/pgoutput/pgoutput.hpp"
#include "cdc/decode/wal2json/wal2json.hpp"

namespace cdc::decode {

std::vector<std::string_view> supported_plugins() { return {"wal2json", "pgoutput"}; }

std::unique_ptr<Decoder> make_decoder(const DecoderSettings& settings) {
  if (settings.plugin == "wal2json") return std::make_unique<Wal2jsonDecoder>();
  if (settings.plugin == "pgoutput") return std::make_unique<PgoutputDecoder>(settings);
  throw std::invalid_argument("unsupported output plugin '" + settings.plugin + "'");
}

}  // namespace cdc::decode
