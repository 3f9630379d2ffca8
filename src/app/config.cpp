#include "cdc/app/config.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

// Debian's libtomlplusplus-dev is a compiled library; its CMake target adds
// -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1, so nothing must be defined here.
#include <toml++/toml.h>

#include "cdc/core/host_port.hpp"
#include "cdc/decode/decoder.hpp"

namespace cdc::app {

namespace {

constexpr std::string_view kEnvPrefix = "CUSTOMER_CDC_";
constexpr std::string_view kEnvConfigPath = "CUSTOMER_CDC_CONFIG";
constexpr std::string_view kKafkaProperties = "kafka.properties";

enum class Kind { String, Bool, Int, StringList };

using Value = std::variant<std::string, bool, std::int64_t, std::vector<std::string>>;

/// Returns a description of what is wrong with a value, or nullopt if it is fine.
using Validator = std::function<std::optional<std::string>(const Value&)>;
using Assign = std::function<void(Config&, Value&&)>;

struct KeySpec {
  std::string_view path;  ///< "postgres.dsn", "log_level"
  Kind kind;
  bool secret;  ///< never echo the value in messages
  Validator validate;
  Assign assign;
};

// ---------------------------------------------------------------------------
// Validators

Validator one_of(std::vector<std::string_view> allowed) {
  return [allowed = std::move(allowed)](const Value& v) -> std::optional<std::string> {
    const auto& s = std::get<std::string>(v);
    if (std::find(allowed.begin(), allowed.end(), s) != allowed.end()) return std::nullopt;
    return fmt::format("invalid value '{}' (allowed: {})", s, fmt::join(allowed, ", "));
  };
}

Validator not_empty() {
  return [](const Value& v) -> std::optional<std::string> {
    if (std::get<std::string>(v).empty()) return "must not be empty";
    return std::nullopt;
  };
}

Validator int_range(std::int64_t lo, std::int64_t hi) {
  return [lo, hi](const Value& v) -> std::optional<std::string> {
    const auto n = std::get<std::int64_t>(v);
    if (n >= lo && n <= hi) return std::nullopt;
    return fmt::format("{} is out of range (allowed: {}..{})", n, lo, hi);
  };
}

/// 1 to 63 characters of [a-z0-9_]: PostgreSQL names that need no quoting.
bool lower_case_name(std::string_view s) {
  return !s.empty() && s.size() <= 63 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::optional<std::string> validate_slot(const Value& v) {
  const auto& s = std::get<std::string>(v);
  if (lower_case_name(s)) return std::nullopt;
  return fmt::format(
      "invalid replication slot name '{}' (1 to 63 characters of lower-case letters, digits and "
      "underscores)",
      s);
}

std::optional<std::string> validate_publication(const Value& v) {
  const auto& s = std::get<std::string>(v);
  // Unquoted-identifier form: pgoutput's publication_names option is a
  // comma-separated identifier list that folds case, so nothing else round-trips.
  if (lower_case_name(s) && !(s.front() >= '0' && s.front() <= '9')) return std::nullopt;
  return fmt::format(
      "invalid publication name '{}' (1 to 63 characters of lower-case letters, digits and underscores, "
      "not starting with a digit)",
      s);
}

std::optional<std::string> validate_spool_dir(const Value& v) {
  const auto& s = std::get<std::string>(v);
  if (s.empty() || s.front() == '/') return std::nullopt;
  return fmt::format("'{}' is not an absolute path (or \"\" for the default)", s);
}

bool valid_table_part(std::string_view part) {
  if (part.empty()) return false;
  return std::none_of(part.begin(), part.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) || c == ',' || c == '"' || c == '\'' ||
           c == '\\' || c == '*' || static_cast<unsigned char>(c) < 0x20;
  });
}

std::optional<std::string> validate_tables(const Value& v) {
  const auto& tables = std::get<std::vector<std::string>>(v);
  if (tables.empty()) return "must list at least one table (\"schema.table\")";
  std::set<std::string_view> seen;
  for (const auto& t : tables) {
    const auto dot = t.find('.');
    if (dot == std::string::npos || t.find('.', dot + 1) != std::string::npos ||
        !valid_table_part(std::string_view(t).substr(0, dot)) ||
        !valid_table_part(std::string_view(t).substr(dot + 1))) {
      return fmt::format("'{}' is not of the form \"schema.table\" (e.g. \"public.customer\")", t);
    }
    if (!seen.insert(t).second) return fmt::format("'{}' is listed twice", t);
  }
  return std::nullopt;
}

std::optional<std::string> validate_listen(const Value& v) {
  const auto& s = std::get<std::string>(v);
  if (s.empty()) return std::nullopt;  // disabled
  if (parse_host_port(s)) return std::nullopt;
  return fmt::format(
      "invalid value '{}' (expected \"host:port\", e.g. \"127.0.0.1:9187\" or \"[::1]:9187\", "
      "or \"\" to disable)",
      s);
}

std::optional<std::string> validate_topic_prefix(const Value& v) {
  const auto& s = std::get<std::string>(v);
  const bool ok = !s.empty() && s.size() <= 200 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
  if (ok) return std::nullopt;
  return fmt::format(
      "invalid topic prefix '{}' (1 to 200 characters of letters, digits, '.', '_' and '-')", s);
}

// ---------------------------------------------------------------------------
// The schema

const std::vector<KeySpec>& key_specs() {
  static const std::vector<KeySpec> specs = [] {
    std::vector<KeySpec> s;
    s.push_back({"log_level", Kind::String, false, one_of({"debug", "info", "warn", "error"}),
                 [](Config& c, Value&& v) { c.log_level = std::get<std::string>(std::move(v)); }});
    s.push_back({"log_format", Kind::String, false, one_of({"text", "json"}),
                 [](Config& c, Value&& v) { c.log_format = std::get<std::string>(std::move(v)); }});

    s.push_back({"postgres.dsn", Kind::String, true, not_empty(), [](Config& c, Value&& v) {
                   c.postgres.dsn = std::get<std::string>(std::move(v));
                 }});
    s.push_back({"postgres.slot", Kind::String, false, validate_slot, [](Config& c, Value&& v) {
                   c.postgres.slot = std::get<std::string>(std::move(v));
                 }});
    s.push_back({"postgres.create_slot", Kind::Bool, false, nullptr,
                 [](Config& c, Value&& v) { c.postgres.create_slot = std::get<bool>(v); }});
    s.push_back(
        {"postgres.tables", Kind::StringList, false, validate_tables, [](Config& c, Value&& v) {
           c.postgres.tables = std::get<std::vector<std::string>>(std::move(v));
         }});
    s.push_back({"postgres.status_interval_ms", Kind::Int, false, int_range(100, 3'600'000),
                 [](Config& c, Value&& v) {
                   c.postgres.status_interval_ms = static_cast<int>(std::get<std::int64_t>(v));
                 }});
    s.push_back({"postgres.stream_timeout_ms", Kind::Int, false, int_range(1000, 3'600'000),
                 [](Config& c, Value&& v) {
                   c.postgres.stream_timeout_ms = static_cast<int>(std::get<std::int64_t>(v));
                 }});
    s.push_back({"postgres.sink_timeout_ms", Kind::Int, false, int_range(1000, 3'600'000),
                 [](Config& c, Value&& v) {
                   c.postgres.sink_timeout_ms = static_cast<int>(std::get<std::int64_t>(v));
                 }});
    s.push_back({"postgres.snapshot_mode", Kind::String, false,
                 one_of({"initial", "never", "always"}), [](Config& c, Value&& v) {
                   c.postgres.snapshot_mode = std::get<std::string>(std::move(v));
                 }});
    s.push_back({"postgres.plugin", Kind::String, false, one_of(decode::supported_plugins()),
                 [](Config& c, Value&& v) { c.postgres.plugin = std::get<std::string>(std::move(v)); }});
    s.push_back({"postgres.publication", Kind::String, false, validate_publication, [](Config& c, Value&& v) {
                   c.postgres.publication = std::get<std::string>(std::move(v));
                 }});
    s.push_back({"postgres.binary", Kind::Bool, false, nullptr,
                 [](Config& c, Value&& v) { c.postgres.binary = std::get<bool>(v); }});
    s.push_back({"postgres.streaming", Kind::Bool, false, nullptr,
                 [](Config& c, Value&& v) { c.postgres.streaming = std::get<bool>(v); }});
    s.push_back({"postgres.spool_dir", Kind::String, false, validate_spool_dir, [](Config& c, Value&& v) {
                   c.postgres.spool_dir = std::get<std::string>(std::move(v));
                 }});

    s.push_back({"audit.enabled", Kind::Bool, false, nullptr,
                 [](Config& c, Value&& v) { c.audit.enabled = std::get<bool>(v); }});
    s.push_back({"rollups.enabled", Kind::Bool, false, nullptr,
                 [](Config& c, Value&& v) { c.rollups.enabled = std::get<bool>(v); }});

    s.push_back({"kafka.enabled", Kind::Bool, false, nullptr,
                 [](Config& c, Value&& v) { c.kafka.enabled = std::get<bool>(v); }});
    s.push_back({"kafka.brokers", Kind::String, false, not_empty(), [](Config& c, Value&& v) {
                   c.kafka.brokers = std::get<std::string>(std::move(v));
                 }});
    s.push_back(
        {"kafka.topic_prefix", Kind::String, false, validate_topic_prefix,
         [](Config& c, Value&& v) { c.kafka.topic_prefix = std::get<std::string>(std::move(v)); }});
    s.push_back({"kafka.tombstones_on_delete", Kind::Bool, false, nullptr,
                 [](Config& c, Value&& v) { c.kafka.tombstones_on_delete = std::get<bool>(v); }});
    s.push_back({"kafka.schemas", Kind::Bool, false, nullptr,
                 [](Config& c, Value&& v) { c.kafka.schemas = std::get<bool>(v); }});
    s.push_back({"kafka.transaction_metadata", Kind::Bool, false, nullptr,
                 [](Config& c, Value&& v) { c.kafka.transaction_metadata = std::get<bool>(v); }});

    s.push_back({"dead_letter.enabled", Kind::Bool, false, nullptr,
                 [](Config& c, Value&& v) { c.dead_letter.enabled = std::get<bool>(v); }});

    s.push_back({"snapshot.chunk_size", Kind::Int, false, int_range(1, 1'000'000), [](Config& c, Value&& v) {
                   c.snapshot.chunk_size = static_cast<int>(std::get<std::int64_t>(v));
                 }});
    s.push_back({"snapshot.throttle_rows_per_second", Kind::Int, false, int_range(0, 100'000'000),
                 [](Config& c, Value&& v) {
                   c.snapshot.throttle_rows_per_second = static_cast<int>(std::get<std::int64_t>(v));
                 }});

    s.push_back({"metrics.ready_max_lag_seconds", Kind::Int, false, int_range(1, 86'400),
                 [](Config& c, Value&& v) {
                   c.metrics.ready_max_lag_seconds = static_cast<int>(std::get<std::int64_t>(v));
                 }});
    s.push_back({"metrics.listen", Kind::String, false, validate_listen, [](Config& c, Value&& v) {
                   c.metrics.listen = std::get<std::string>(std::move(v));
                 }});
    return s;
  }();
  return specs;
}

/// Tables that may appear in the file (besides the root).
const std::vector<std::string_view>& known_tables() {
  static const std::vector<std::string_view> tables = {"postgres", "audit",       "rollups", "kafka",
                                                       "metrics",  "dead_letter", "snapshot", kKafkaProperties};
  return tables;
}

const KeySpec* find_spec(std::string_view path) {
  for (const auto& spec : key_specs()) {
    if (spec.path == path) return &spec;
  }
  return nullptr;
}

bool is_known_table(std::string_view path) {
  const auto& t = known_tables();
  return std::find(t.begin(), t.end(), path) != t.end();
}

std::string env_name_for(std::string_view path) {
  std::string name(kEnvPrefix);
  for (char c : path) {
    name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

// ---------------------------------------------------------------------------
// Did-you-mean

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1);
  std::vector<std::size_t> cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string_view leaf_of(std::string_view path) {
  const auto dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

/// Closest candidate, if close enough to be a plausible typo of the last
/// path component (allowed edits grow with its length: 1 per 3 characters, 1..3).
std::optional<std::string> closest(std::string_view wrong,
                                   const std::vector<std::string>& candidates,
                                   std::string_view leaf) {
  const std::size_t limit = std::clamp<std::size_t>(leaf.size() / 3, 1, 3);
  std::optional<std::string> best;
  std::size_t best_distance = limit + 1;
  for (const auto& c : candidates) {
    const auto d = edit_distance(wrong, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string suggest_key(std::string_view path) {
  std::vector<std::string> candidates;
  for (const auto& spec : key_specs()) candidates.emplace_back(spec.path);
  for (auto t : known_tables()) candidates.emplace_back(t);
  if (auto best = closest(path, candidates, leaf_of(path)))
    return fmt::format(" (did you mean '{}'?)", *best);
  // Right key, wrong place (e.g. top-level 'dsn' -> 'postgres.dsn'): suggest if unambiguous.
  std::vector<std::string> same_leaf;
  for (const auto& c : candidates) {
    if (leaf_of(c) == leaf_of(path)) same_leaf.push_back(c);
  }
  if (same_leaf.size() == 1) return fmt::format(" (did you mean '{}'?)", same_leaf.front());
  return {};
}

std::string suggest_env(std::string_view name) {
  std::vector<std::string> candidates;
  for (const auto& spec : key_specs()) candidates.push_back(env_name_for(spec.path));
  // Typos are judged by the part after the prefix, as for keys by their last component.
  if (auto best = closest(name, candidates, name.substr(std::min(name.size(), kEnvPrefix.size()))))
    return fmt::format(" (did you mean {}?)", *best);
  return {};
}

// ---------------------------------------------------------------------------
// TOML side

std::string_view type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "floating-point number";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::array:
      return "array";
    case toml::node_type::table:
      return "table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string_view expected_name(Kind kind) {
  switch (kind) {
    case Kind::String:
      return "a string";
    case Kind::Bool:
      return "a boolean";
    case Kind::Int:
      return "an integer";
    case Kind::StringList:
      return "an array of strings";
  }
  return "a value";
}

class FileReader {
 public:
  FileReader(Config& config, std::string source) : config_(config), source_(std::move(source)) {}

  void read(const toml::table& root) { visit_table(root, ""); }

 private:
  [[noreturn]] void fail(std::string_view path, const toml::node& node,
                         std::string_view problem) const {
    const auto& begin = node.source().begin;
    if (begin.line > 0) {
      throw ConfigError(fmt::format("{}: {} (in {}, line {})", path, problem, source_, begin.line));
    }
    throw ConfigError(fmt::format("{}: {} (in {})", path, problem, source_));
  }

  [[noreturn]] void unknown(std::string_view path) const {
    throw ConfigError(fmt::format("unknown key '{}' in {}{}", path, source_, suggest_key(path)));
  }

  void visit_table(const toml::table& table, std::string_view prefix) {
    for (const auto& [key, node] : table) {
      const std::string_view name = key.str();
      const std::string path =
          prefix.empty() ? std::string(name) : fmt::format("{}.{}", prefix, name);
      // A quoted key containing a dot ("postgres.slot" = ...) is not the nested key.
      if (name.find('.') != std::string_view::npos || name.empty()) unknown(path);
      if (const auto* spec = find_spec(path)) {
        read_value(*spec, node);
      } else if (is_known_table(path)) {
        const auto* sub = node.as_table();
        if (sub == nullptr)
          fail(path, node, fmt::format("expected a table, got {}", type_name(node.type())));
        if (path == kKafkaProperties) {
          read_properties(*sub, "");
        } else {
          visit_table(*sub, path);
        }
      } else {
        unknown(path);
      }
    }
  }

  [[noreturn]] void wrong_type(std::string_view path, const toml::node& node,
                               std::string_view expected) const {
    fail(path, node, fmt::format("expected {}, got {}", expected, type_name(node.type())));
  }

  void read_value(const KeySpec& spec, const toml::node& node) {
    Value value;
    switch (spec.kind) {
      case Kind::String:
        if (const auto* v = node.as_string()) {
          value = v->get();
        } else {
          wrong_type(spec.path, node, expected_name(spec.kind));
        }
        break;
      case Kind::Bool:
        if (const auto* v = node.as_boolean()) {
          value = v->get();
        } else {
          wrong_type(spec.path, node, expected_name(spec.kind));
        }
        break;
      case Kind::Int:
        if (const auto* v = node.as_integer()) {
          value = v->get();
        } else {
          wrong_type(spec.path, node, expected_name(spec.kind));
        }
        break;
      case Kind::StringList: {
        const auto* arr = node.as_array();
        if (arr == nullptr) wrong_type(spec.path, node, expected_name(spec.kind));
        std::vector<std::string> items;
        for (std::size_t i = 0; i < arr->size(); ++i) {
          const auto& elem = *arr->get(i);
          const auto* s = elem.as_string();
          if (s == nullptr) wrong_type(fmt::format("{}[{}]", spec.path, i), elem, "a string");
          items.push_back(s->get());
        }
        value = std::move(items);
        break;
      }
    }
    if (spec.validate) {
      if (auto problem = spec.validate(value)) fail(spec.path, node, *problem);
    }
    spec.assign(config_, std::move(value));
  }

  /// librdkafka property names contain dots; an unquoted `security.protocol = ...`
  /// is a nested table in TOML, so nested tables are flattened back into dotted names.
  void read_properties(const toml::table& table, std::string_view prefix) {
    for (const auto& [key, node] : table) {
      const std::string name =
          prefix.empty() ? std::string(key.str()) : fmt::format("{}.{}", prefix, key.str());
      const std::string path = fmt::format("{}.{}", kKafkaProperties, name);
      if (key.str().empty()) fail(path, node, "empty property name");
      std::string value;
      switch (node.type()) {
        case toml::node_type::table:
          read_properties(*node.as_table(), name);
          continue;
        case toml::node_type::string:
          value = node.as_string()->get();
          break;
        case toml::node_type::integer:
          value = std::to_string(node.as_integer()->get());
          break;
        case toml::node_type::boolean:
          value = node.as_boolean()->get() ? "true" : "false";
          break;
        default:
          fail(
              path, node,
              fmt::format("expected a string, integer or boolean, got {}", type_name(node.type())));
      }
      if (name == "bootstrap.servers" || name == "metadata.broker.list") {
        fail(path, node, "set kafka.brokers instead");
      }
      if (!config_.kafka.properties.emplace(name, std::move(value)).second) {
        fail(path, node, "property is set twice");
      }
    }
  }

  Config& config_;
  std::string source_;
};

// ---------------------------------------------------------------------------
// Environment side

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(first, last - first + 1));
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void apply_env_var(Config& config, const std::string& name, const std::string& raw) {
  const KeySpec* spec = nullptr;
  for (const auto& s : key_specs()) {
    if (env_name_for(s.path) == name) {
      spec = &s;
      break;
    }
  }
  if (spec == nullptr) {
    if (name.rfind(env_name_for(kKafkaProperties), 0) == 0) {
      throw ConfigError(fmt::format(
          "unknown environment variable {} (kafka.properties can only be set in the config file)",
          name));
    }
    throw ConfigError(fmt::format("unknown environment variable {}{}", name, suggest_env(name)));
  }
  const auto fail = [&](std::string_view problem) {
    throw ConfigError(fmt::format("environment variable {} ({}): {}", name, spec->path, problem));
  };
  const auto shown = [&]() -> std::string {
    return spec->secret ? std::string("a value that is not shown") : fmt::format("'{}'", raw);
  };

  Value value;
  switch (spec->kind) {
    case Kind::String:
      value = raw;
      break;
    case Kind::Bool: {
      const auto v = lower(trim(raw));
      if (v == "true" || v == "1" || v == "yes") {
        value = true;
      } else if (v == "false" || v == "0" || v == "no") {
        value = false;
      } else {
        fail(fmt::format("expected a boolean (true/false/1/0/yes/no), got {}", shown()));
      }
      break;
    }
    case Kind::Int: {
      const auto v = trim(raw);
      std::int64_t n = 0;
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
        fail(fmt::format("expected an integer, got {}", shown()));
      }
      value = n;
      break;
    }
    case Kind::StringList: {
      std::vector<std::string> items;
      std::string_view rest(raw);
      while (true) {
        const auto comma = rest.find(',');
        auto item = trim(rest.substr(0, comma));
        if (!item.empty()) items.push_back(std::move(item));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      value = std::move(items);
      break;
    }
  }
  if (spec->validate) {
    if (auto problem = spec->validate(value)) fail(*problem);
  }
  spec->assign(config, std::move(value));
}

void apply_environment(Config& config, const EnvLookup& env) {
  for (const auto& [name, value] : env) {  // std::map: sorted, so the first error is stable
    if (name.rfind(kEnvPrefix, 0) != 0) continue;
    if (name == kEnvConfigPath) continue;  // reserved: the config file path, read by main
    apply_env_var(config, name, value);
  }
}

/// Rules between keys, once the file and the environment are applied.
void validate_combinations(const Config& config, const std::string& source_name) {
  const PostgresConfig& pg = config.postgres;
  for (const auto& [key, set] : {std::pair{"binary", pg.binary}, std::pair{"streaming", pg.streaming}}) {
    if (set && pg.plugin != "pgoutput") {
      throw ConfigError(fmt::format(
          "postgres.{} = true needs postgres.plugin = \"pgoutput\" ({} has no such mode; in {} or the "
          "environment): set postgres.plugin = \"pgoutput\" or postgres.{} = false",
          key, pg.plugin, source_name, key));
    }
  }
}

}  // namespace

EnvLookup process_environment() {
  EnvLookup env;
  for (char** p = ::environ; p != nullptr && *p != nullptr; ++p) {
    const std::string_view entry(*p);
    if (entry.rfind(kEnvPrefix, 0) != 0) continue;
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

Config parse_config(const std::string& toml_text, const std::string& source_name,
                    const EnvLookup& env) {
  Config config;
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    throw ConfigError(fmt::format("TOML syntax error in {} at line {}, column {}: {}", source_name,
                                  begin.line, begin.column, e.description()));
  }
  FileReader(config, source_name).read(root);
  apply_environment(config, env);
  validate_combinations(config, source_name);
  return config;
}

Config load_config(const std::string& path, const EnvLookup& env, bool allow_missing) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec && status.type() != std::filesystem::file_type::not_found) {
    throw ConfigError(fmt::format("cannot access config file {}: {}", path, ec.message()));
  }
  if (!std::filesystem::exists(status)) {
    if (allow_missing) return parse_config("", path, env);
    throw ConfigError(fmt::format(
        "config file {} not found (pass --config FILE or create it; an annotated example is "
        "config/customer-cdc.toml)",
        path));
  }
  if (std::filesystem::is_directory(status)) {
    throw ConfigError(fmt::format("config file {} is a directory", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(fmt::format("cannot read config file {}: {}", path,
                                  std::generic_category().message(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    throw ConfigError(fmt::format("cannot read config file {}", path));
  }
  return parse_config(text.str(), path, env);
}

}  // namespace cdc::app
