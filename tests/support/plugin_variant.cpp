#include "support/plugin_variant.hpp"

#include <iostream>

#include "cdc/app/publication.hpp"
#include "cdc/domain/captured_schema.hpp"
#include "support/test_temp_dir.hpp"

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
  if (with_streaming) variants.push_back(streaming_variant());
  return variants;
}

PluginVariant streaming_variant() { return pgoutput_variant(/*binary=*/true, /*streaming=*/true); }

std::string variant_name(const ::testing::TestParamInfo<PluginVariant>& info) { return info.param.name; }

void prepare_source(PgCluster& pg, const PluginVariant& variant) {
  if (variant.plugin != "pgoutput") return;
  pg.conn().exec(app::create_publication_sql(
      "customer_cdc", {std::string(domain::kCustomer.qualified), std::string(domain::kPlans.qualified)}));
  if (variant.streaming) {
    pg.conn().exec("ALTER SYSTEM SET logical_decoding_work_mem = '64kB'");
    pg.conn().exec("SELECT pg_reload_conf()");
  }
}

void apply_variant(DaemonConfig& config, const PluginVariant& variant) {
  config.plugin = variant.plugin;
  if (variant.binary) config.postgres_extra += "binary = true\n";
  if (variant.streaming) {
    config.postgres_extra += "streaming = true\nspool_dir = \"" + make_test_temp_dir("cdc-test-spool-") + "\"\n";
  }
}

long streamed_transactions(PgCluster& pg) {
  return std::stol(pg.scalar("SELECT coalesce(sum(stream_txns), 0) FROM pg_stat_replication_slots").value_or("0"));
}

void expect_streaming_happened(PgCluster& pg, const PluginVariant& variant) {
  if (!variant.streaming) return;
  const long streamed = streamed_transactions(pg);
  std::cout << "[streaming] the server streamed " << streamed << " transactions ("
            << pg.scalar("SELECT coalesce(sum(stream_count), 0) FROM pg_stat_replication_slots").value_or("?") << " chunks, "
            << pg.scalar("SELECT coalesce(sum(stream_bytes), 0) FROM pg_stat_replication_slots").value_or("?") << " bytes)"
            << std::endl;
  EXPECT_GT(streamed, 0) << "no transaction was streamed: the variant did not test streaming";
}

}  // namespace cdc::testing
