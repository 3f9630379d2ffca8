// The kafka item: the brokers answer a metadata request with the producer
// configuration the sink uses; which topics exist already.
#include <librdkafka/rdkafka.h>

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cdc/sinks/kafka/producer_config.hpp"
#include "checker.hpp"
#include "items.hpp"

namespace cdc::app::check {
namespace {

constexpr int kKafkaTimeoutMs = 5000;

/// The last error librdkafka reported from its own threads.
struct KafkaEvents {
  std::mutex mutex;
  std::string last_error;
};

void on_kafka_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* events = static_cast<KafkaEvents*>(opaque);
  std::lock_guard lock(events->mutex);
  events->last_error =
      fmt::format("{} ({})", reason != nullptr ? reason : "", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
}

void on_kafka_log(const rd_kafka_t* rk, int level, const char*, const char* line) {
  // librdkafka logs from its own threads; keep the last warning or error for
  // the FAIL line instead of printing it.
  if (level > 4 || line == nullptr) return;
  auto* events = static_cast<KafkaEvents*>(rd_kafka_opaque(rk));
  if (events == nullptr) return;
  std::lock_guard lock(events->mutex);
  events->last_error = line;
}

}  // namespace

void kafka(Checker& c) {
  if (!c.config().kafka.enabled) {
    c.ok("kafka", "disabled (kafka.enabled = false)");
    return;
  }
  std::vector<std::string> property_names;
  for (const auto& [key, value] : c.config().kafka.properties) property_names.push_back(key);
  const std::string properties_hint =
      property_names.empty() ? "" : " (set in [kafka.properties]: " + join(property_names, ", ") + ")";
  const std::string fix = fmt::format(
      "check kafka.brokers ({}), that the brokers are reachable from this host (network, firewall, their "
      "advertised.listeners), and the security.protocol / SASL / SSL properties in [kafka.properties]{}",
      c.config().kafka.brokers, properties_hint);

  sinks::KafkaProducerOptions options;
  options.brokers = c.config().kafka.brokers;
  options.properties = c.config().kafka.properties;
  KafkaEvents events;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  for (const auto& [key, value] : sinks::kafka_producer_config(options)) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      // librdkafka's message may quote the value: name the property only.
      c.fail("kafka", fmt::format("librdkafka rejects the value of property '{}'", key),
             fmt::format("correct or remove \"{}\" in [kafka.properties] (see librdkafka's CONFIGURATION.md)", key));
      return;
    }
  }
  rd_kafka_conf_set_error_cb(conf, &on_kafka_error);
  rd_kafka_conf_set_log_cb(conf, &on_kafka_log);
  rd_kafka_conf_set_opaque(conf, &events);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (rk == nullptr) {
    c.fail("kafka", fmt::format("cannot create a Kafka producer: {}", error), fix);
    return;
  }
  struct Destroy {
    rd_kafka_t* rk;
    ~Destroy() { rd_kafka_destroy(rk); }
  } destroy{rk};

  const rd_kafka_metadata_t* metadata = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &metadata, kKafkaTimeoutMs);
  rd_kafka_poll(rk, 0);  // serve queued error callbacks
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR || metadata == nullptr) {
    std::string last;
    {
      std::lock_guard lock(events.mutex);
      last = events.last_error;
    }
    c.fail("kafka",
           fmt::format("no metadata from {} within {} s: {}{}", c.config().kafka.brokers, kKafkaTimeoutMs / 1000,
                       rd_kafka_err2str(err), last.empty() ? "" : " (last error: " + last + ")"),
           fix);
    return;
  }
  const int brokers = metadata->broker_cnt;
  std::set<std::string> topics;
  for (int i = 0; i < metadata->topic_cnt; ++i) topics.insert(metadata->topics[i].topic);
  rd_kafka_metadata_destroy(metadata);
  std::vector<std::string> present;
  std::vector<std::string> absent;
  for (const auto& table : c.config().postgres.tables) {
    const std::string topic = c.config().kafka.topic_prefix + "." + table;
    (topics.contains(topic) ? present : absent).push_back(topic);
  }
  if (c.config().audit.enabled) {
    const std::string topic = c.config().kafka.topic_prefix + ".audit";
    (topics.contains(topic) ? present : absent).push_back(topic);
  }
  std::string detail =
      fmt::format("{} broker{} reachable via {}", brokers, brokers == 1 ? "" : "s", c.config().kafka.brokers);
  if (!present.empty()) detail += "; topics present: " + join(present, ", ");
  if (!absent.empty()) {
    detail += "; note: topics not created yet: " + join(absent, ", ") +
              " (created on first use where the cluster allows auto.create.topics.enable, else create them)";
  }
  c.ok("kafka", detail);
}

}  // namespace cdc::app::check
