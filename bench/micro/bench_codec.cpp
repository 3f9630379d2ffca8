// Micro-benchmarks (Google Benchmark): wal2json decoding and Debezium envelope
// building, in bytes of wal2json input per second.
#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <vector>

#include "cdc/decode/wal2json/wal2json.hpp"
#include "cdc/sinks/audit/audit_mapping.hpp"
#include "cdc/sinks/kafka/envelope.hpp"

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

// What the daemon's reader does: decode into a recycled Change.
void BM_DecodeCustomerUpdateInto(benchmark::State& state) {
  const std::string message = customer_update();
  cdc::decode::Change change;
  for (auto _ : state) {
    cdc::decode::decode_wal2json(message, 0x1000, change);
    benchmark::DoNotOptimize(change);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * message.size()));
}
BENCHMARK(BM_DecodeCustomerUpdateInto);

void BM_EnvelopeCustomerUpdate(benchmark::State& state) {
  const std::string message = customer_update();
  const cdc::decode::Change change = cdc::decode::decode_wal2json(message, 0x1000);
  const cdc::sinks::TxnInfo txn{42, 0x1000, 0x1100, 1795592159039000};
  const cdc::sinks::EnvelopeContext context{"customer-cdc", "0.1.0", "saas", "app"};
  for (auto _ : state) {
    std::string value = cdc::sinks::debezium_value(change, txn, context, 1795592159045);
    std::string key = cdc::sinks::debezium_key(change, {"uuid"});
    benchmark::DoNotOptimize(value);
    benchmark::DoNotOptimize(key);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * message.size()));
}
BENCHMARK(BM_EnvelopeCustomerUpdate);

// What the Kafka sink does: envelope and key into buffers it keeps.
void BM_EnvelopeCustomerUpdateReused(benchmark::State& state) {
  const std::string message = customer_update();
  const cdc::decode::Change change = cdc::decode::decode_wal2json(message, 0x1000);
  const cdc::sinks::TxnInfo txn{42, 0x1000, 0x1100, 1795592159039000};
  const cdc::sinks::EnvelopeContext context{"customer-cdc", "0.1.0", "saas", "app"};
  const std::vector<std::string> key_columns{"uuid"};
  cdc::sinks::JsonBuffer value;
  cdc::sinks::JsonBuffer key;
  for (auto _ : state) {
    cdc::sinks::debezium_value(value, change, txn, context, 1795592159045);
    cdc::sinks::debezium_key(key, change, key_columns);
    benchmark::DoNotOptimize(value.GetString());
    benchmark::DoNotOptimize(key.GetString());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * message.size()));
}
BENCHMARK(BM_EnvelopeCustomerUpdateReused);

void BM_AuditEntryCustomerUpdate(benchmark::State& state) {
  const cdc::decode::Change change = cdc::decode::decode_wal2json(customer_update(), 0x1000);
  for (auto _ : state) {
    auto entry = cdc::sinks::audit_entry_for(change);
    benchmark::DoNotOptimize(entry);
  }
}
BENCHMARK(BM_AuditEntryCustomerUpdate);

void BM_AuditMessageCustomerUpdate(benchmark::State& state) {
  const cdc::decode::Change change = cdc::decode::decode_wal2json(customer_update(), 0x1000);
  const cdc::sinks::TxnInfo txn{42, 0x1000, 0x1100, 1795592159039000};
  const cdc::sinks::AuditEntry entry = *cdc::sinks::audit_entry_for(change);
  for (auto _ : state) {
    std::string message = cdc::sinks::audit_message(entry, txn, 0x1000);
    benchmark::DoNotOptimize(message);
  }
}
BENCHMARK(BM_AuditMessageCustomerUpdate);

}  // namespace

BENCHMARK_MAIN();
