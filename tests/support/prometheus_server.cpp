#include "support/prometheus_server.hpp"

#include <httplib.h>
#include <rapidjson/document.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "support/daemon_process.hpp"
#include "support/pg_cluster.hpp"

namespace cdc::testing {
namespace {

std::string prometheus_yml(const PrometheusOptions& options) {
  const std::string interval = std::to_string(options.interval_seconds) + "s";
  std::ostringstream out;
  out << "global:\n"
      << "  scrape_interval: " << interval << "\n"
      << "  scrape_timeout: " << interval << "\n"
      << "  evaluation_interval: " << interval << "\n"
      << "rule_files:\n";
  for (const auto& file : options.rule_files) out << "  - \"" << file << "\"\n";
  out << "scrape_configs:\n"
      << "  - job_name: \"" << options.job << "\"\n"
      << "    static_configs:\n"
      << "      - targets: [\"" << options.target << "\"]\n";
  return out.str();
}

std::map<std::string, std::string> string_members(const rapidjson::Value& object) {
  std::map<std::string, std::string> out;
  if (!object.IsObject()) return out;
  for (const auto& member : object.GetObject()) {
    if (member.value.IsString()) out[member.name.GetString()] = member.value.GetString();
  }
  return out;
}

}  // namespace

PrometheusServer::PrometheusServer(PrometheusOptions options) {
  std::string templ = "/tmp/cdc-prometheus-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp " + templ);
  dir_ = templ;
  port_ = pick_free_port();
  const std::string config = dir_ + "/prometheus.yml";
  std::ofstream(config) << prometheus_yml(options);
  process_ = std::make_unique<DaemonProcess>(
      std::vector<std::string>{"--config.file=" + config, "--storage.tsdb.path=" + dir_ + "/data",
                               "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
      std::map<std::string, std::string>{}, options.binary, dir_);
}

PrometheusServer::~PrometheusServer() {
  process_.reset();  // SIGKILLs the server before its storage goes
  if (keep_test_artifacts() || current_test_failed()) {
    std::cerr << "[PrometheusServer] configuration and storage kept in " << dir_ << "\n";
    return;
  }
  std::error_code error;
  std::filesystem::remove_all(dir_, error);
}

bool PrometheusServer::wait_ready(std::chrono::milliseconds timeout) {
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(std::chrono::seconds(1));
  return wait_until(
      [&] {
        if (!process_->running()) return true;  // gone: no point waiting
        const auto ready = client.Get("/-/ready");
        return ready && ready->status == 200;
      },
      timeout, std::chrono::milliseconds(200)) &&
         process_->running();
}

std::string PrometheusServer::log_text() const { return process_->log_text(); }

std::optional<std::string> PrometheusServer::get_data(const std::string& path) {
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(10));
  const auto response = client.Get(path);
  if (!response) {
    last_error_ = "GET " + path + ": " + httplib::to_string(response.error());
    return std::nullopt;
  }
  if (response->status != 200) {
    last_error_ = "GET " + path + ": HTTP " + std::to_string(response->status) + " " + response->body;
    return std::nullopt;
  }
  return response->body;
}

std::optional<std::vector<PromSample>> PrometheusServer::query(const std::string& expr) {
  const auto body = get_data("/api/v1/query?" + httplib::detail::params_to_query_str({{"query", expr}}));
  if (!body) return std::nullopt;
  rapidjson::Document doc;
  doc.Parse(body->c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("data") || !doc["data"].HasMember("result") ||
      !doc["data"]["result"].IsArray()) {
    last_error_ = "query " + expr + ": unexpected answer " + *body;
    return std::nullopt;
  }
  std::vector<PromSample> samples;
  for (const auto& element : doc["data"]["result"].GetArray()) {
    PromSample sample;
    sample.labels = string_members(element["metric"]);
    // "value": [<unix time>, "<value as text>"]
    sample.value = std::stod(element["value"][1].GetString());
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::optional<std::vector<PromAlert>> PrometheusServer::alerts() {
  const auto body = get_data("/api/v1/alerts");
  if (!body) return std::nullopt;
  rapidjson::Document doc;
  doc.Parse(body->c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("data") || !doc["data"].HasMember("alerts") ||
      !doc["data"]["alerts"].IsArray()) {
    last_error_ = "alerts: unexpected answer " + *body;
    return std::nullopt;
  }
  std::vector<PromAlert> alerts;
  for (const auto& element : doc["data"]["alerts"].GetArray()) {
    alerts.push_back({string_members(element["labels"]), element["state"].GetString()});
  }
  return alerts;
}

std::string rules_with_short_for(const std::string& rules_path, const std::string& hold) {
  const std::string rules = read_text_file(rules_path);
  if (rules.empty()) throw std::runtime_error("cannot read " + rules_path);
  std::istringstream lines(rules);
  std::string out;
  for (std::string line; std::getline(lines, line);) {
    const auto indent = line.find_first_not_of(' ');
    if (indent != std::string::npos && line.compare(indent, 4, "for:") == 0) {
      line = line.substr(0, indent) + "for: " + hold;
    }
    out += line + "\n";
  }
  return write_temp_file(out, ".yml");
}

std::set<std::string> sampled_metric_names(const std::string& exposition) {
  std::set<std::string> names;
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    names.insert(line.substr(0, line.find_first_of("{ ")));
  }
  return names;
}

}  // namespace cdc::testing
