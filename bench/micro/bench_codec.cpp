// Micro-benchmarks (Google Benchmark): wal2json decoding and Debezium envelope
// building, in bytes of wal2json input per second.
#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <vector>

#include "cdc/decode/wal2json.hpp"
#include "cdc/sinks/audit_mapping.hpp"
#include "cdc/sinks/envelope.hpp"

namespace {

/// The customer UPDATE of the captured fixtures: a realistic wide row with
/// old and new tuples (REPLICA IDENTITY FULL).
std::string customer_update() {
  std::ifstream in(CDC_FIXTURES_DIR "/wal2json/customer_workload.jsonl");
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"action\":\"U\"") != std::string::npos) return line;
  }
  return {};
}

void BM_DecodeCustomerUpdate(benchmark::State& state) {
  const std::string message = customer_update();
  for (auto _ : state) {
    cdc::decode::Change change = cdc::decode::decode_wal2json(message, 0x1000);
    benchmark::DoNotOptimize(change);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * message.size()));
}
BENCHMARK(BM_DecodeCustomerUpdate);

void BM_EnvelopeCustomerUpdate(benchmark::State& state) {
  const std::string message = customer_update();
  const cdc::decode::Change change = cdc::decode::decode_wal2json(message, 0x1000);
  const cdc::sinks::TxnInfo txn{42, 0x1000, 0x1100, 1795592159039000};
  const cdc::sinks::EnvelopeContext context{"customer-cdc", "0.1.0", "saas", "app"};
  for (auto _ : state) {
    std::string value = cdc::sinks::debezium_value(change, txn, context, false, 1795592159045);
    std::string key = cdc::sinks::debezium_key(change, {"uuid"});
    benchmark::DoNotOptimize(value);
    benchmark::DoNotOptimize(key);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * message.size()));
}
BENCHMARK(BM_EnvelopeCustomerUpdate);

void BM_AuditEntryCustomerUpdate(benchmark::State& state) {
  const cdc::decode::Change change = cdc::decode::decode_wal2json(customer_update(), 0x1000);
  for (auto _ : state) {
    auto entry = cdc::sinks::audit_entry_for(change);
    benchmark::DoNotOptimize(entry);
  }
}
BENCHMARK(BM_AuditEntryCustomerUpdate);

}  // namespace

BENCHMARK_MAIN();
