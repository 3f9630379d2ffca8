#pragma once
// The output plugin configurations an integration family runs under
// (parameterize, do not copy):
//
//   class Differential : public ::testing::TestWithParam<PluginVariant> {};
//   TEST_P(Differential, ...) { PgCluster pg; prepare_source(pg, GetParam());
//                               DaemonConfig c(pg.conninfo()); apply_variant(c, GetParam()); ... }
//   INSTANTIATE_TEST_SUITE_P(Plugins, Differential, ::testing::ValuesIn(plugin_variants()), variant_name);
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/daemon_config.hpp"
#include "support/pg_cluster.hpp"

namespace cdc::testing {

struct PluginVariant {
  std::string name;    ///< test name suffix: wal2json, pgoutput, pgoutput_binary, ...
  std::string plugin;  ///< postgres.plugin
  bool binary = false;
  bool streaming = false;
};

/// wal2json, pgoutput (text) and pgoutput binary; with `streaming`, also
/// pgoutput binary with protocol 2 streaming of in-progress transactions
/// (streaming_variant()).
std::vector<PluginVariant> plugin_variants(bool with_streaming = false);
/// Just one variant (for families that need not run under every mode).
PluginVariant wal2json_variant();
PluginVariant pgoutput_variant(bool binary = false, bool streaming = false);
/// pgoutput binary with streaming: the mode a user with large transactions
/// would run (binary is the cheaper format), so one run covers both.
PluginVariant streaming_variant();

std::string variant_name(const ::testing::TestParamInfo<PluginVariant>& info);
/// gtest prints the variant by name (not as bytes).
inline void PrintTo(const PluginVariant& variant, std::ostream* out) { *out << variant.name; }

/// What the source needs for the variant (pgoutput: the publication of the
/// captured tables, as `customer-cdc migrate` creates it; streaming: the
/// smallest logical_decoding_work_mem, 64kB, so that every transaction of
/// more than a few hundred rows is streamed while it runs).
void prepare_source(PgCluster& pg, const PluginVariant& variant);

/// The variant's [postgres] keys (streaming: a spool_dir of its own, removed when the
/// test ends unless it failed: support/test_temp_dir).
void apply_variant(DaemonConfig& config, const PluginVariant& variant);

/// Transactions the server streamed from its slots (pg_stat_replication_slots.stream_txns).
long streamed_transactions(PgCluster& pg);
/// For a streaming variant, that the server did stream transactions (so the
/// family did test streaming); prints the counts.
void expect_streaming_happened(PgCluster& pg, const PluginVariant& variant);

}  // namespace cdc::testing
