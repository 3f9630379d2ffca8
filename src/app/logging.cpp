#include "cdc/app/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "cdc/app/config.hpp"
#include "cdc/core/pg_time.hpp"

namespace cdc::app {
namespace {

spdlog::level::level_enum parse_level(const std::string& level) {
  if (level == "debug") return spdlog::level::debug;
  if (level == "info") return spdlog::level::info;
  if (level == "warn") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  throw ConfigError("log_level: expected one of debug, info, warn, error, got '" + level + "'");
}

void append_json_string(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"': dest.append(std::string_view("\\\"")); break;
      case '\\': dest.append(std::string_view("\\\\")); break;
      case '\n': dest.append(std::string_view("\\n")); break;
      case '\r': dest.append(std::string_view("\\r")); break;
      case '\t': dest.append(std::string_view("\\t")); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(dest), "\\u{:04x}", static_cast<unsigned>(c));
        } else {
          dest.push_back(c);
        }
    }
  }
  dest.push_back('"');
}

std::string_view level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "off";
  }
}

/// {"level":"info","ts":"2026-11-25T07:13:13.879Z","msg":"..."}
class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto unix_us =
        std::chrono::duration_cast<std::chrono::microseconds>(msg.time.time_since_epoch()).count();
    dest.append(std::string_view("{\"level\":\""));
    dest.append(level_name(msg.level));
    dest.append(std::string_view("\",\"ts\":\""));
    dest.append(format_iso_millis_utc(unix_us));
    dest.append(std::string_view("\",\"msg\":"));
    append_json_string(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(std::string_view("}\n"));
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

}  // namespace

void setup_logging(const std::string& level, const std::string& format) {
  const auto parsed = parse_level(level);
  auto logger = std::make_shared<spdlog::logger>("customer-cdc", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (format == "json") {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else if (format == "text") {
    logger->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%l %Y-%m-%dT%H:%M:%S.%eZ %v", spdlog::pattern_time_type::utc));
  } else {
    throw ConfigError("log_format: expected one of text, json, got '" + format + "'");
  }
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

void set_log_level(const std::string& level) { spdlog::set_level(parse_level(level)); }

}  // namespace cdc::app
