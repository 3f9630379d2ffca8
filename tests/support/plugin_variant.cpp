#include "support/plugin_variant.hpp"

#include "cdc/app/publication.hpp"
#include "cdc/domain/captured_schema.hpp"

namespace cdc::testing {

PluginVariant wal2json_variant() { return {"wal2json", "wal2json"}; }

PluginVariant pgoutput_variant(bool binary, bool streaming) {
  std::string name = "pgoutput";
  if (binary) name += "_binary";
  if (streaming) name += "_streaming";
  return {name, "pgoutput", binary, streaming};
}

std::vector<PluginVariant> plugin_variants(bool with_streaming) {
  std::vector<PluginVariant> variants{wal2json_variant(), pgoutput_variant(), pgoutput_variant(/*binary=*/true)};
  if (with_streaming) variants.push_back(pgoutput_variant(/*binary=*/false, /*streaming=*/true));
  return variants;
}

std::string variant_name(const ::testing::TestParamInfo<PluginVariant>& info) { return info.param.name; }

void prepare_source(PgCluster& pg, const PluginVariant& variant) {
  if (variant.plugin != "pgoutput") return;
  pg.conn().exec(app::create_publication_sql(
      "customer_cdc", {std::string(domain::kCustomer.qualified), std::string(domain::kPlans.qualified)}));
}

void apply_variant(DaemonConfig& config, const PluginVariant& variant) {
  config.plugin = variant.plugin;
  if (variant.binary) config.postgres_extra += "binary = true\n";
  if (variant.streaming) config.postgres_extra += "streaming = true\n";
}

}  // namespace cdc::testing
