// cdc-mock-kafka: librdkafka's mock cluster as a standalone Kafka-protocol
// broker on loopback, for the demo and tests (no Apache Kafka needed).
// Prints the bootstrap servers on stdout, runs until SIGTERM/SIGINT.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cdc-mock-kafka: an in-memory Kafka-protocol broker (librdkafka mock cluster) on loopback"};
  int brokers = 1;
  int partitions = 3;
  std::string topics;
  std::string bootstrap_file;
  app.add_option("--brokers", brokers, "number of brokers")->check(CLI::Range(1, 9));
  app.add_option("--partitions", partitions, "partitions of the topics created up front")->check(CLI::Range(1, 64));
  app.add_option("--topics", topics, "comma-separated topics to create up front (others are auto-created)");
  app.add_option("--bootstrap-file", bootstrap_file, "also write the bootstrap servers to this file");
  CLI11_PARSE(app, argc, argv);

  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", error, sizeof error);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (rk == nullptr) {
    std::cerr << "cannot create a librdkafka instance: " << error << "\n";
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (cluster == nullptr) {
    std::cerr << "cannot create the mock cluster\n";
    return 1;
  }
  std::stringstream list(topics);
  for (std::string topic; std::getline(list, topic, ',');) {
    if (!topic.empty()) rd_kafka_mock_topic_create(cluster, topic.c_str(), partitions, 1);
  }
  const std::string bootstraps = rd_kafka_mock_cluster_bootstraps(cluster);
  if (!bootstrap_file.empty()) std::ofstream(bootstrap_file) << bootstraps << "\n";
  std::cout << bootstraps << std::endl;

  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
