#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "cdc/app/config.hpp"
#include "cdc/decode/decoder.hpp"

using cdc::app::Config;
using cdc::app::ConfigError;
using cdc::app::EnvLookup;
using cdc::app::load_config;
using cdc::app::parse_config;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

/// Message of the ConfigError thrown by fn, or fails the test.
template <class Fn>
std::string config_error(Fn&& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return {};
}

std::string parse_error(const std::string& text, const EnvLookup& env = {}) {
  return config_error([&] { parse_config(text, "/etc/x.toml", env); });
}

std::string env_error(const EnvLookup& env) { return parse_error("", env); }

Config parse(const std::string& text, const EnvLookup& env = {}) {
  return parse_config(text, "/etc/x.toml", env);
}

void expect_defaults(const Config& c) {
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.log_format, "text");
  EXPECT_EQ(c.postgres.dsn, "host=127.0.0.1 port=5432 dbname=app user=customer_cdc");
  EXPECT_EQ(c.postgres.slot, "customer_cdc");
  EXPECT_TRUE(c.postgres.create_slot);
  EXPECT_THAT(c.postgres.tables, ElementsAre("public.customer", "public.plans"));
  EXPECT_EQ(c.postgres.status_interval_ms, 10000);
  EXPECT_EQ(c.postgres.stream_timeout_ms, 30000);
  EXPECT_EQ(c.postgres.snapshot_mode, "initial");
  EXPECT_EQ(c.postgres.plugin, "wal2json");
  EXPECT_EQ(c.postgres.publication, "customer_cdc");
  EXPECT_FALSE(c.postgres.binary);
  EXPECT_FALSE(c.postgres.streaming);
  EXPECT_EQ(c.postgres.spool_dir, "");
  EXPECT_TRUE(c.audit.enabled);
  EXPECT_TRUE(c.rollups.enabled);
  EXPECT_FALSE(c.kafka.enabled);
  EXPECT_FALSE(c.dead_letter.enabled);
  EXPECT_EQ(c.kafka.brokers, "127.0.0.1:9092");
  EXPECT_EQ(c.kafka.topic_prefix, "saas");
  EXPECT_TRUE(c.kafka.tombstones_on_delete);
  EXPECT_FALSE(c.kafka.schemas);
  EXPECT_FALSE(c.kafka.transaction_metadata);
  EXPECT_TRUE(c.kafka.properties.empty());
  EXPECT_EQ(c.metrics.listen, "127.0.0.1:9187");
  EXPECT_EQ(c.snapshot.chunk_size, 1024);
  EXPECT_EQ(c.snapshot.throttle_rows_per_second, 0);
}

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("cdc-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& name, const std::string& text) const {
    const auto p = path_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

const char* const kFullFile = R"toml(
log_level = "debug"
log_format = "json"

[postgres]
dsn = "host=db port=6543 dbname=prod user=cdc password=s3cret"
slot = "prod_slot_1"
create_slot = false
tables = ["public.customer", "billing.invoice"]
status_interval_ms = 2500
stream_timeout_ms = 45000
snapshot_mode = "always"

[audit]
enabled = false

[rollups]
enabled = false

[kafka]
enabled = true
brokers = "k1:9092,k2:9092"
topic_prefix = "prod-saas"
tombstones_on_delete = false
schemas = true
transaction_metadata = true

[kafka.properties]
"security.protocol" = "SASL_SSL"
"linger.ms" = 20
"enable.idempotence" = true
compression.type = "zstd"

[metrics]
listen = ""
)toml";

}  // namespace

// ---------------------------------------------------------------------------
// Files

TEST(ConfigTest, EmptyTextGivesDefaults) { expect_defaults(parse("")); }

TEST(ConfigTest, CommentsOnlyGivesDefaults) { expect_defaults(parse("# nothing\n\n")); }

TEST(ConfigTest, EmptySectionsGiveDefaults) {
  expect_defaults(
      parse("[postgres]\n[audit]\n[rollups]\n[kafka]\n[kafka.properties]\n[metrics]\n"));
}

TEST(ConfigTest, FullFile) {
  const auto c = parse(kFullFile);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.log_format, "json");
  EXPECT_EQ(c.postgres.dsn, "host=db port=6543 dbname=prod user=cdc password=s3cret");
  EXPECT_EQ(c.postgres.slot, "prod_slot_1");
  EXPECT_FALSE(c.postgres.create_slot);
  EXPECT_THAT(c.postgres.tables, ElementsAre("public.customer", "billing.invoice"));
  EXPECT_EQ(c.postgres.status_interval_ms, 2500);
  EXPECT_EQ(c.postgres.stream_timeout_ms, 45000);
  EXPECT_EQ(c.postgres.snapshot_mode, "always");
  EXPECT_FALSE(c.audit.enabled);
  EXPECT_FALSE(c.rollups.enabled);
  EXPECT_TRUE(c.kafka.enabled);
  EXPECT_EQ(c.kafka.brokers, "k1:9092,k2:9092");
  EXPECT_EQ(c.kafka.topic_prefix, "prod-saas");
  EXPECT_FALSE(c.kafka.tombstones_on_delete);
  EXPECT_TRUE(c.kafka.schemas);
  EXPECT_TRUE(c.kafka.transaction_metadata);
  EXPECT_EQ(c.metrics.listen, "");
}

TEST(ConfigTest, PartialFileKeepsOtherDefaults) {
  const auto c = parse("[postgres]\nslot = \"other\"\n");
  EXPECT_EQ(c.postgres.slot, "other");
  EXPECT_EQ(c.postgres.dsn, "host=127.0.0.1 port=5432 dbname=app user=customer_cdc");
  EXPECT_EQ(c.postgres.status_interval_ms, 10000);
  EXPECT_TRUE(c.audit.enabled);
}

TEST(ConfigTest, InlineAndDottedTablesAreAccepted) {
  const auto c = parse("postgres = { slot = \"a\" }\nkafka.enabled = true\n");
  EXPECT_EQ(c.postgres.slot, "a");
  EXPECT_TRUE(c.kafka.enabled);
}

TEST(ConfigTest, DeadLetterFromFileAndEnvironment) {
  EXPECT_TRUE(parse("[dead_letter]\nenabled = true\n").dead_letter.enabled);
  EXPECT_TRUE(parse("", {{"CUSTOMER_CDC_DEAD_LETTER_ENABLED", "yes"}}).dead_letter.enabled);
  EXPECT_THAT(parse_error("[dead_letter]\nenable = true\n"), HasSubstr("dead_letter.enable"));
  EXPECT_THAT(parse_error("[dead_letter]\nenabled = \"sometimes\"\n"), HasSubstr("dead_letter.enabled"));
}

TEST(ConfigTest, SnapshotFromFileAndEnvironment) {
  const auto c = parse("[snapshot]\nchunk_size = 500\nthrottle_rows_per_second = 2000\n");
  EXPECT_EQ(c.snapshot.chunk_size, 500);
  EXPECT_EQ(c.snapshot.throttle_rows_per_second, 2000);
  EXPECT_EQ(parse("", {{"CUSTOMER_CDC_SNAPSHOT_CHUNK_SIZE", "64"}}).snapshot.chunk_size, 64);
  EXPECT_THAT(parse_error("[snapshot]\nchunk_size = 0\n"), HasSubstr("snapshot.chunk_size"));
  EXPECT_THAT(parse_error("[snapshot]\nthrottle_rows_per_second = -1\n"),
              HasSubstr("snapshot.throttle_rows_per_second"));
  EXPECT_THAT(parse_error("[snapshot]\nchunk_sise = 10\n"), HasSubstr("'snapshot.chunk_size'"));
}

TEST(ConfigTest, ExampleConfigFileParsesToDefaults) {
  const auto c = load_config(CDC_SOURCE_DIR "/config/customer-cdc.toml", {});
  expect_defaults(c);
}

TEST(ConfigTest, ExampleConfigFileDocumentsEveryKey) {
  std::ifstream in(CDC_SOURCE_DIR "/config/customer-cdc.toml");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* key : {"log_level =",
                          "log_format =",
                          "[postgres]",
                          "dsn =",
                          "slot =",
                          "create_slot =",
                          "tables =",
                          "status_interval_ms =",
                          "stream_timeout_ms =",
                          "sink_timeout_ms =",
                          "snapshot_mode =",
                          "plugin =",
                          "publication =",
                          "binary =",
                          "streaming =",
                          "spool_dir =",
                          "STATE_DIRECTORY",
                          "[audit]",
                          "[rollups]",
                          "[kafka]",
                          "brokers =",
                          "topic_prefix =",
                          "tombstones_on_delete =",
                          "schemas =",
                          "transaction_metadata =",
                          "[kafka.properties]",
                          "[metrics]",
                          "listen =",
                          "ready_max_lag_seconds =",
                          "[dead_letter]",
                          "[snapshot]",
                          "chunk_size =",
                          "throttle_rows_per_second =",
                          "output_plugin_libraries",
                          "replication=database",
                          "CUSTOMER_CDC_POSTGRES_DSN"}) {
    EXPECT_THAT(text, HasSubstr(key));
  }
}

// ---------------------------------------------------------------------------
// kafka.properties

TEST(ConfigTest, KafkaPropertiesPassThrough) {
  const auto c = parse(kFullFile);
  EXPECT_EQ(c.kafka.properties.size(), 4u);
  EXPECT_EQ(c.kafka.properties.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(c.kafka.properties.at("linger.ms"), "20");
  EXPECT_EQ(c.kafka.properties.at("enable.idempotence"), "true");
  // Unquoted dotted key = nested TOML table, flattened back into the dotted name.
  EXPECT_EQ(c.kafka.properties.at("compression.type"), "zstd");
}

TEST(ConfigTest, KafkaPropertiesFalseAndNegative) {
  const auto c = parse("[kafka.properties]\n\"a.b\" = false\n\"c\" = -5\n");
  EXPECT_EQ(c.kafka.properties.at("a.b"), "false");
  EXPECT_EQ(c.kafka.properties.at("c"), "-5");
}

TEST(ConfigTest, KafkaPropertiesBadValueType) {
  EXPECT_THAT(parse_error("[kafka.properties]\n\"linger.ms\" = 1.5\n"),
              HasSubstr("kafka.properties.linger.ms: expected a string, integer or boolean, got "
                        "floating-point number"));
  EXPECT_THAT(parse_error("[kafka.properties]\nx = [1]\n"),
              HasSubstr("kafka.properties.x: expected a string, integer or boolean, got array"));
}

TEST(ConfigTest, KafkaPropertiesSameNameTwice) {
  EXPECT_THAT(parse_error("[kafka.properties]\n\"a.b\" = \"1\"\na.b = \"2\"\n"),
              HasSubstr("kafka.properties.a.b: property is set twice"));
}

TEST(ConfigTest, KafkaPropertiesBootstrapServersRejected) {
  EXPECT_THAT(parse_error("[kafka.properties]\n\"bootstrap.servers\" = \"x:1\"\n"),
              HasSubstr("kafka.properties.bootstrap.servers: set kafka.brokers instead"));
}

TEST(ConfigTest, KafkaPropertiesMustBeATable) {
  EXPECT_THAT(parse_error("[kafka]\nproperties = \"x\"\n"),
              HasSubstr("kafka.properties: expected a table, got string"));
}

TEST(ConfigTest, KafkaPropertyValueNeverEchoed) {
  const auto msg = parse_error("[kafka.properties]\n\"sasl.password\" = 3.25\n");
  EXPECT_THAT(msg, Not(HasSubstr("3.25")));
}

// ---------------------------------------------------------------------------
// Types

TEST(ConfigTest, TypeErrorString) {
  EXPECT_THAT(parse_error("log_level = 3\n"),
              HasSubstr("log_level: expected a string, got integer"));
  EXPECT_THAT(parse_error("[postgres]\ndsn = true\n"),
              HasSubstr("postgres.dsn: expected a string, got boolean"));
  EXPECT_THAT(parse_error("[metrics]\nlisten = 9187\n"),
              HasSubstr("metrics.listen: expected a string, got integer"));
  EXPECT_THAT(parse_error("[kafka]\nbrokers = [\"a:1\"]\n"),
              HasSubstr("kafka.brokers: expected a string, got array"));
}

TEST(ConfigTest, TypeErrorInteger) {
  EXPECT_THAT(parse_error("[postgres]\nstatus_interval_ms = \"10000\"\n"),
              HasSubstr("postgres.status_interval_ms: expected an integer, got string"));
  EXPECT_THAT(
      parse_error("[postgres]\nstatus_interval_ms = 1000.0\n"),
      HasSubstr("postgres.status_interval_ms: expected an integer, got floating-point number"));
}

TEST(ConfigTest, TypeErrorBoolean) {
  EXPECT_THAT(parse_error("[kafka]\nenabled = \"true\"\n"),
              HasSubstr("kafka.enabled: expected a boolean, got string"));
  EXPECT_THAT(parse_error("[postgres]\ncreate_slot = 1\n"),
              HasSubstr("postgres.create_slot: expected a boolean, got integer"));
  EXPECT_THAT(parse_error("[audit]\nenabled = 1979-05-27\n"),
              HasSubstr("audit.enabled: expected a boolean, got date"));
}

TEST(ConfigTest, TypeErrorList) {
  EXPECT_THAT(parse_error("[postgres]\ntables = \"public.customer\"\n"),
              HasSubstr("postgres.tables: expected an array of strings, got string"));
  EXPECT_THAT(parse_error("[postgres]\ntables = [\"public.customer\", 7]\n"),
              HasSubstr("postgres.tables[1]: expected a string, got integer"));
}

TEST(ConfigTest, TypeErrorSection) {
  EXPECT_THAT(parse_error("postgres = \"x\"\n"),
              HasSubstr("postgres: expected a table, got string"));
  EXPECT_THAT(parse_error("[log_level]\n"), HasSubstr("log_level: expected a string, got table"));
}

TEST(ConfigTest, TypeErrorNamesFileAndLine) {
  EXPECT_THAT(parse_error("\n[postgres]\nslot = \"a\"\nstatus_interval_ms = \"x\"\n"),
              HasSubstr("(in /etc/x.toml, line 4)"));
}

// ---------------------------------------------------------------------------
// Unknown keys

TEST(ConfigTest, UnknownKeyInSection) {
  EXPECT_EQ(parse_error("[postgres]\nslots = \"a\"\n"),
            "unknown key 'postgres.slots' in /etc/x.toml (did you mean 'postgres.slot'?)");
}

TEST(ConfigTest, UnknownTopLevelKey) {
  EXPECT_THAT(parse_error("log_levle = \"info\"\n"),
              AllOf(HasSubstr("unknown key 'log_levle' in /etc/x.toml"),
                    HasSubstr("did you mean 'log_level'?")));
  // Right key in the wrong place.
  EXPECT_THAT(parse_error("dsn = \"host=x\"\n"),
              AllOf(HasSubstr("unknown key 'dsn'"), HasSubstr("did you mean 'postgres.dsn'?"),
                    Not(HasSubstr("host=x"))));
}

TEST(ConfigTest, UnknownSection) {
  EXPECT_THAT(parse_error("[postgre]\ndsn = \"x\"\n"),
              AllOf(HasSubstr("unknown key 'postgre' in /etc/x.toml"),
                    HasSubstr("did you mean 'postgres'?")));
  EXPECT_EQ(parse_error("[zookeeper]\nhosts = \"x\"\n"), "unknown key 'zookeeper' in /etc/x.toml");
}

TEST(ConfigTest, UnknownKeyInEverySection) {
  EXPECT_THAT(parse_error("[audit]\nenable = true\n"),
              AllOf(HasSubstr("unknown key 'audit.enable'"), HasSubstr("'audit.enabled'")));
  EXPECT_THAT(parse_error("[rollups]\nfoo = true\n"), HasSubstr("unknown key 'rollups.foo'"));
  EXPECT_THAT(parse_error("[kafka]\nbroker = \"x\"\n"),
              AllOf(HasSubstr("unknown key 'kafka.broker'"), HasSubstr("'kafka.brokers'")));
  EXPECT_THAT(parse_error("[metrics]\nlisten_addr = \"x\"\n"),
              HasSubstr("unknown key 'metrics.listen_addr'"));
}

TEST(ConfigTest, NoFarFetchedSuggestion) {
  // 'enabled' exists in several sections: ambiguous, and 'postgres.tables' is not a typo of it.
  EXPECT_EQ(parse_error("[postgres]\nenabled = true\n"),
            "unknown key 'postgres.enabled' in /etc/x.toml");
}

TEST(ConfigTest, UnknownNestedTable) {
  EXPECT_THAT(parse_error("[postgres.extra]\na = 1\n"), HasSubstr("unknown key 'postgres.extra'"));
  EXPECT_THAT(parse_error("[kafka.propertys]\na = 1\n"),
              AllOf(HasSubstr("unknown key 'kafka.propertys'"), HasSubstr("'kafka.properties'")));
}

TEST(ConfigTest, QuotedDottedKeyIsNotANestedKey) {
  EXPECT_THAT(parse_error("\"postgres.slot\" = \"a\"\n"), HasSubstr("unknown key 'postgres.slot'"));
}

// ---------------------------------------------------------------------------
// Values

TEST(ConfigTest, EnumErrorsListAllowedValues) {
  EXPECT_THAT(parse_error("log_level = \"verbose\"\n"),
              HasSubstr("log_level: invalid value 'verbose' (allowed: debug, info, warn, error)"));
  EXPECT_THAT(parse_error("log_format = \"xml\"\n"),
              HasSubstr("log_format: invalid value 'xml' (allowed: text, json)"));
  EXPECT_THAT(parse_error("[postgres]\nsnapshot_mode = \"sometimes\"\n"),
              HasSubstr("postgres.snapshot_mode: invalid value 'sometimes' (allowed: initial, "
                        "never, always)"));
}

TEST(ConfigTest, EnumValuesAccepted) {
  for (const char* level : {"debug", "info", "warn", "error"}) {
    EXPECT_EQ(parse(std::string("log_level = \"") + level + "\"\n").log_level, level);
  }
  for (const char* mode : {"initial", "never", "always"}) {
    EXPECT_EQ(
        parse(std::string("[postgres]\nsnapshot_mode = \"") + mode + "\"\n").postgres.snapshot_mode,
        mode);
  }
}

TEST(ConfigTest, StatusIntervalRange) {
  EXPECT_EQ(parse("[postgres]\nstatus_interval_ms = 100\n").postgres.status_interval_ms, 100);
  EXPECT_EQ(parse("[postgres]\nstatus_interval_ms = 3600000\n").postgres.status_interval_ms,
            3600000);
  EXPECT_THAT(parse_error("[postgres]\nstatus_interval_ms = 99\n"),
              HasSubstr("postgres.status_interval_ms: 99 is out of range (allowed: 100..3600000)"));
  EXPECT_THAT(parse_error("[postgres]\nstatus_interval_ms = 3600001\n"),
              HasSubstr("postgres.status_interval_ms: 3600001 is out of range"));
  EXPECT_THAT(parse_error("[postgres]\nstatus_interval_ms = 9999999999999\n"),
              HasSubstr("postgres.status_interval_ms: 9999999999999 is out of range"));
}

TEST(ConfigTest, StreamTimeoutRange) {
  EXPECT_EQ(parse("[postgres]\nstream_timeout_ms = 1000\n").postgres.stream_timeout_ms, 1000);
  EXPECT_EQ(parse("[postgres]\nstream_timeout_ms = 3600000\n").postgres.stream_timeout_ms, 3600000);
  EXPECT_THAT(parse_error("[postgres]\nstream_timeout_ms = 999\n"),
              HasSubstr("postgres.stream_timeout_ms: 999 is out of range (allowed: 1000..3600000)"));
  EXPECT_THAT(parse_error("[postgres]\nstream_timeout_ms = 3600001\n"),
              HasSubstr("postgres.stream_timeout_ms: 3600001 is out of range"));
  EXPECT_EQ(parse("", {{"CUSTOMER_CDC_POSTGRES_STREAM_TIMEOUT_MS", "5000"}}).postgres.stream_timeout_ms, 5000);
}

TEST(Config, SinkTimeoutAndReadyLag) {
  EXPECT_EQ(parse("").postgres.sink_timeout_ms, 60000);
  EXPECT_EQ(parse("").metrics.ready_max_lag_seconds, 60);
  EXPECT_EQ(parse("[postgres]\nsink_timeout_ms = 4000\n").postgres.sink_timeout_ms, 4000);
  EXPECT_THAT(parse_error("[postgres]\nsink_timeout_ms = 999\n"),
              HasSubstr("postgres.sink_timeout_ms: 999 is out of range (allowed: 1000..3600000)"));
  EXPECT_EQ(parse("", {{"CUSTOMER_CDC_POSTGRES_SINK_TIMEOUT_MS", "7000"}}).postgres.sink_timeout_ms, 7000);
  EXPECT_EQ(parse("[metrics]\nready_max_lag_seconds = 5\n").metrics.ready_max_lag_seconds, 5);
  EXPECT_THAT(parse_error("[metrics]\nready_max_lag_seconds = 0\n"),
              HasSubstr("metrics.ready_max_lag_seconds: 0 is out of range"));
  EXPECT_EQ(parse("", {{"CUSTOMER_CDC_METRICS_READY_MAX_LAG_SECONDS", "9"}}).metrics.ready_max_lag_seconds, 9);
}

TEST(ConfigTest, SlotName) {
  EXPECT_EQ(parse("[postgres]\nslot = \"a_1\"\n").postgres.slot, "a_1");
  EXPECT_EQ(parse("[postgres]\nslot = \"" + std::string(63, 'a') + "\"\n").postgres.slot,
            std::string(63, 'a'));
  for (const std::string& bad :
       std::vector<std::string>{"", "Customer", "a-b", "a b", "ä", std::string(64, 'a')}) {
    EXPECT_THAT(parse_error("[postgres]\nslot = \"" + bad + "\"\n"),
                HasSubstr("postgres.slot: invalid replication slot name"))
        << bad;
  }
}

TEST(ConfigTest, TablesForm) {
  EXPECT_THAT(parse("[postgres]\ntables = [\"s.t\"]\n").postgres.tables, ElementsAre("s.t"));
  for (const char* bad :
       {"customer", ".customer", "public.", "a.b.c", "public. customer", "public.a,b"}) {
    EXPECT_THAT(
        parse_error(std::string("[postgres]\ntables = [\"") + bad + "\"]\n"),
        AllOf(HasSubstr("postgres.tables:"), HasSubstr("is not of the form \"schema.table\"")))
        << bad;
  }
  EXPECT_THAT(parse_error("[postgres]\ntables = []\n"),
              HasSubstr("postgres.tables: must list at least one table"));
  EXPECT_THAT(parse_error("[postgres]\ntables = [\"a.b\", \"a.b\"]\n"),
              HasSubstr("postgres.tables: 'a.b' is listed twice"));
}

TEST(ConfigTest, MetricsListen) {
  for (const char* ok : {"", "127.0.0.1:9187", "0.0.0.0:1", "localhost:65535", "[::1]:9187"}) {
    EXPECT_EQ(parse(std::string("[metrics]\nlisten = \"") + ok + "\"\n").metrics.listen, ok);
  }
  for (const char* bad : {"9187", ":9187", "host:", "host:0", "host:65536", "host:abc", "::1:9187",
                          "[::1]9187", "a b:1"}) {
    EXPECT_THAT(parse_error(std::string("[metrics]\nlisten = \"") + bad + "\"\n"),
                HasSubstr("metrics.listen: invalid value"))
        << bad;
  }
}

TEST(ConfigTest, KafkaStrings) {
  EXPECT_THAT(parse_error("[kafka]\nbrokers = \"\"\n"),
              HasSubstr("kafka.brokers: must not be empty"));
  EXPECT_THAT(parse_error("[kafka]\ntopic_prefix = \"a b\"\n"),
              HasSubstr("kafka.topic_prefix: invalid topic prefix 'a b'"));
  EXPECT_THAT(parse_error("[kafka]\ntopic_prefix = \"\"\n"), HasSubstr("kafka.topic_prefix:"));
}

TEST(ConfigTest, DsnNeverEchoed) {
  EXPECT_THAT(parse_error("[postgres]\ndsn = \"\"\n"),
              HasSubstr("postgres.dsn: must not be empty"));
  const auto msg = parse_error("[postgres]\ndsn = \"password=hunter2\"\nslots = 1\n");
  EXPECT_THAT(msg, Not(HasSubstr("hunter2")));
}

// ---------------------------------------------------------------------------
// Syntax errors

TEST(ConfigTest, SyntaxErrorHasFileLineAndColumn) {
  const auto msg = parse_error("log_level = \"info\"\n\n[postgres]\nslot = = 3\n");
  EXPECT_THAT(msg, AllOf(HasSubstr("TOML syntax error in /etc/x.toml"), HasSubstr("line 4"),
                         HasSubstr("column ")));
}

TEST(ConfigTest, DuplicateKeyIsASyntaxError) {
  EXPECT_THAT(parse_error("[postgres]\nslot = \"a\"\nslot = \"b\"\n"),
              AllOf(HasSubstr("TOML syntax error"), HasSubstr("line 3")));
}

TEST(ConfigTest, UnterminatedStringIsASyntaxError) {
  EXPECT_THAT(parse_error("log_level = \"info\nlog_format = \"json\"\n"),
              AllOf(HasSubstr("TOML syntax error in /etc/x.toml"), HasSubstr("line 1")));
}

// ---------------------------------------------------------------------------
// The output plugin's keys (pgoutput)


TEST(ConfigTest, PgoutputKeysFromFile) {
  const auto c = parse(
      "[postgres]\nplugin = \"pgoutput\"\npublication = \"cdc_pub_2\"\nbinary = true\nstreaming = false\n"
      "spool_dir = \"/var/spool/cdc\"\n");
  EXPECT_EQ(c.postgres.plugin, "pgoutput");
  EXPECT_EQ(c.postgres.publication, "cdc_pub_2");
  EXPECT_TRUE(c.postgres.binary);
  EXPECT_FALSE(c.postgres.streaming);
  EXPECT_EQ(c.postgres.spool_dir, "/var/spool/cdc");
}

TEST(ConfigTest, PgoutputKeysFromEnvironment) {
  const auto c = parse("[postgres]\npublication = \"from_file\"\n",
                       {{"CUSTOMER_CDC_POSTGRES_PLUGIN", "pgoutput"},
                        {"CUSTOMER_CDC_POSTGRES_PUBLICATION", "from_env"},
                        {"CUSTOMER_CDC_POSTGRES_BINARY", "yes"},
                        {"CUSTOMER_CDC_POSTGRES_STREAMING", "0"},
                        {"CUSTOMER_CDC_POSTGRES_SPOOL_DIR", "/srv/spool"}});
  EXPECT_EQ(c.postgres.plugin, "pgoutput");
  EXPECT_EQ(c.postgres.publication, "from_env");
  EXPECT_TRUE(c.postgres.binary);
  EXPECT_FALSE(c.postgres.streaming);
  EXPECT_EQ(c.postgres.spool_dir, "/srv/spool");
  // The environment turns them off again.
  const auto off = parse("[postgres]\nplugin = \"pgoutput\"\nbinary = true\nstreaming = true\n",
                         {{"CUSTOMER_CDC_POSTGRES_BINARY", "false"}, {"CUSTOMER_CDC_POSTGRES_STREAMING", "no"}});
  EXPECT_FALSE(off.postgres.binary);
  EXPECT_FALSE(off.postgres.streaming);
}

TEST(ConfigTest, StreamingIsAcceptedWithPgoutput) {
  EXPECT_TRUE(parse("[postgres]\nplugin = \"pgoutput\"\nstreaming = true\n").postgres.streaming);
  EXPECT_TRUE(parse("[postgres]\nplugin = \"pgoutput\"\n", {{"CUSTOMER_CDC_POSTGRES_STREAMING", "yes"}})
                  .postgres.streaming);
}

TEST(ConfigTest, PublicationKeyWorksWithEitherPlugin) {
  // Meaningful for pgoutput only, but harmless (and kept) with wal2json.
  EXPECT_EQ(parse("[postgres]\npublication = \"_p1\"\n").postgres.publication, "_p1");
  EXPECT_EQ(parse("", {{"CUSTOMER_CDC_POSTGRES_PUBLICATION", "p"}}).postgres.publication, "p");
  EXPECT_EQ(parse("[postgres]\npublication = \"" + std::string(63, 'p') + "\"\n").postgres.publication,
            std::string(63, 'p'));
}

TEST(ConfigTest, PublicationName) {
  for (const std::string& bad :
       std::vector<std::string>{"", "Customer", "a-b", "a b", "a,b", "\\\"q\\\"", "1pub", std::string(64, 'a')}) {
    EXPECT_THAT(parse_error("[postgres]\npublication = \"" + bad + "\"\n"),
                AllOf(HasSubstr("postgres.publication: invalid publication name"), HasSubstr("line 2")))
        << bad;
  }
  EXPECT_THAT(env_error({{"CUSTOMER_CDC_POSTGRES_PUBLICATION", "Bad-Pub"}}),
              HasSubstr("environment variable CUSTOMER_CDC_POSTGRES_PUBLICATION (postgres.publication): "
                        "invalid publication name 'Bad-Pub'"));
  EXPECT_THAT(parse_error("[postgres]\npublication = 1\n"),
              HasSubstr("postgres.publication: expected a string, got integer"));
}

TEST(ConfigTest, BinaryAndStreamingAreBooleans) {
  EXPECT_THAT(parse_error("[postgres]\nbinary = \"yes\"\n"),
              HasSubstr("postgres.binary: expected a boolean, got string"));
  EXPECT_THAT(parse_error("[postgres]\nstreaming = 1\n"),
              HasSubstr("postgres.streaming: expected a boolean, got integer"));
  EXPECT_EQ(env_error({{"CUSTOMER_CDC_POSTGRES_STREAMING", "sometimes"}}),
            "environment variable CUSTOMER_CDC_POSTGRES_STREAMING (postgres.streaming): expected a boolean "
            "(true/false/1/0/yes/no), got 'sometimes'");
  EXPECT_THAT(env_error({{"CUSTOMER_CDC_POSTGRES_BINARY", "2"}}),
              HasSubstr("CUSTOMER_CDC_POSTGRES_BINARY (postgres.binary): expected a boolean"));
}

TEST(ConfigTest, BinaryOrStreamingWithWal2jsonIsRejected) {
  EXPECT_EQ(parse_error("[postgres]\nbinary = true\n"),
            "postgres.binary = true needs postgres.plugin = \"pgoutput\" (wal2json has no such mode; in "
            "/etc/x.toml or the environment): set postgres.plugin = \"pgoutput\" or postgres.binary = false");
  EXPECT_THAT(parse_error("[postgres]\nplugin = \"wal2json\"\nstreaming = true\n"),
              AllOf(HasSubstr("postgres.streaming = true needs postgres.plugin = \"pgoutput\""),
                    HasSubstr("or postgres.streaming = false")));
  EXPECT_THAT(env_error({{"CUSTOMER_CDC_POSTGRES_STREAMING", "true"}}),
              HasSubstr("postgres.streaming = true needs postgres.plugin = \"pgoutput\""));
  // Explicitly off is fine with wal2json.
  EXPECT_FALSE(parse("[postgres]\nbinary = false\nstreaming = false\n").postgres.binary);
}

TEST(ConfigTest, SpoolDir) {
  EXPECT_EQ(parse("[postgres]\nspool_dir = \"\"\n").postgres.spool_dir, "");
  EXPECT_EQ(parse("[postgres]\nspool_dir = \"/var/lib/x\"\n").postgres.spool_dir, "/var/lib/x");
  EXPECT_THAT(parse_error("[postgres]\nspool_dir = \"spool\"\n"),
              HasSubstr("postgres.spool_dir: 'spool' is not an absolute path (or \"\" for the default)"));
  EXPECT_THAT(env_error({{"CUSTOMER_CDC_POSTGRES_SPOOL_DIR", "./x"}}),
              HasSubstr("CUSTOMER_CDC_POSTGRES_SPOOL_DIR (postgres.spool_dir): './x' is not an absolute path"));
  EXPECT_EQ(parse("", {{"CUSTOMER_CDC_POSTGRES_SPOOL_DIR", ""}}).postgres.spool_dir, "");
}

TEST(ConfigTest, PgoutputKeyTyposSuggestTheKey) {
  EXPECT_THAT(parse_error("[postgres]\npublicaton = \"x\"\n"),
              HasSubstr("unknown key 'postgres.publicaton' in /etc/x.toml (did you mean 'postgres.publication'?)"));
  EXPECT_THAT(parse_error("[postgres]\nspooldir = \"/x\"\n"), HasSubstr("(did you mean 'postgres.spool_dir'?)"));
  EXPECT_THAT(parse_error("[postgres]\nstreamin = true\n"), HasSubstr("(did you mean 'postgres.streaming'?)"));
  EXPECT_THAT(parse_error("binary = true\n"), HasSubstr("(did you mean 'postgres.binary'?)"));
  EXPECT_EQ(env_error({{"CUSTOMER_CDC_POSTGRES_PUBLICATIONS", "x"}}),
            "unknown environment variable CUSTOMER_CDC_POSTGRES_PUBLICATIONS (did you mean "
            "CUSTOMER_CDC_POSTGRES_PUBLICATION?)");
}

// ---------------------------------------------------------------------------
// Environment

TEST(ConfigTest, EnvOverridesStrings) {
  const auto c = parse(kFullFile, {{"CUSTOMER_CDC_POSTGRES_DSN", "host=envhost password=x"},
                                   {"CUSTOMER_CDC_LOG_LEVEL", "warn"},
                                   {"CUSTOMER_CDC_LOG_FORMAT", "text"},
                                   {"CUSTOMER_CDC_POSTGRES_SLOT", "env_slot"},
                                   {"CUSTOMER_CDC_POSTGRES_SNAPSHOT_MODE", "never"},
                                   {"CUSTOMER_CDC_KAFKA_BROKERS", "e:1"},
                                   {"CUSTOMER_CDC_KAFKA_TOPIC_PREFIX", "envp"},
                                   {"CUSTOMER_CDC_METRICS_LISTEN", "0.0.0.0:9999"}});
  EXPECT_EQ(c.postgres.dsn, "host=envhost password=x");
  EXPECT_EQ(c.log_level, "warn");
  EXPECT_EQ(c.log_format, "text");
  EXPECT_EQ(c.postgres.slot, "env_slot");
  EXPECT_EQ(c.postgres.snapshot_mode, "never");
  EXPECT_EQ(c.kafka.brokers, "e:1");
  EXPECT_EQ(c.kafka.topic_prefix, "envp");
  EXPECT_EQ(c.metrics.listen, "0.0.0.0:9999");
  // Not overridden: from the file.
  EXPECT_EQ(c.postgres.status_interval_ms, 2500);
}

TEST(ConfigTest, EnvEmptyStringDisablesMetrics) {
  EXPECT_EQ(parse("", {{"CUSTOMER_CDC_METRICS_LISTEN", ""}}).metrics.listen, "");
}

TEST(ConfigTest, EnvOverridesBooleans) {
  for (const auto& [text, expected] : std::vector<std::pair<std::string, bool>>{{"true", true},
                                                                                {"1", true},
                                                                                {"yes", true},
                                                                                {"TRUE", true},
                                                                                {"Yes", true},
                                                                                {"false", false},
                                                                                {"0", false},
                                                                                {"no", false},
                                                                                {"False", false}}) {
    const auto c = parse("", {{"CUSTOMER_CDC_KAFKA_ENABLED", text},
                              {"CUSTOMER_CDC_AUDIT_ENABLED", text},
                              {"CUSTOMER_CDC_ROLLUPS_ENABLED", text},
                              {"CUSTOMER_CDC_POSTGRES_CREATE_SLOT", text},
                              {"CUSTOMER_CDC_KAFKA_TOMBSTONES_ON_DELETE", text},
                              {"CUSTOMER_CDC_KAFKA_SCHEMAS", text},
                              {"CUSTOMER_CDC_KAFKA_TRANSACTION_METADATA", text}});
    EXPECT_EQ(c.kafka.enabled, expected) << text;
    EXPECT_EQ(c.audit.enabled, expected) << text;
    EXPECT_EQ(c.rollups.enabled, expected) << text;
    EXPECT_EQ(c.postgres.create_slot, expected) << text;
    EXPECT_EQ(c.kafka.tombstones_on_delete, expected) << text;
    EXPECT_EQ(c.kafka.schemas, expected) << text;
    EXPECT_EQ(c.kafka.transaction_metadata, expected) << text;
  }
}

TEST(ConfigTest, EnvOverridesInteger) {
  EXPECT_EQ(
      parse("", {{"CUSTOMER_CDC_POSTGRES_STATUS_INTERVAL_MS", "500"}}).postgres.status_interval_ms,
      500);
}

TEST(ConfigTest, EnvOverridesList) {
  EXPECT_THAT(
      parse("", {{"CUSTOMER_CDC_POSTGRES_TABLES", "public.customer, a.b ,c.d,"}}).postgres.tables,
      ElementsAre("public.customer", "a.b", "c.d"));
  EXPECT_THAT(parse("", {{"CUSTOMER_CDC_POSTGRES_TABLES", "x.y"}}).postgres.tables,
              ElementsAre("x.y"));
}

TEST(ConfigTest, KafkaSchemasAndTransactionMetadataMustBeBooleans) {
  EXPECT_THAT(parse_error("[kafka]\nschemas = \"yes please\"\n"), HasSubstr("kafka.schemas"));
  EXPECT_THAT(parse_error("[kafka]\ntransaction_metadata = 1.5\n"), HasSubstr("kafka.transaction_metadata"));
  EXPECT_THAT(env_error({{"CUSTOMER_CDC_KAFKA_SCHEMAS", "maybe"}}), HasSubstr("kafka.schemas"));
  EXPECT_THAT(parse_error("[kafka]\nschema = true\n"), HasSubstr("kafka.schema"));
}

TEST(ConfigTest, EnvBadBoolean) {
  EXPECT_EQ(env_error({{"CUSTOMER_CDC_KAFKA_ENABLED", "maybe"}}),
            "environment variable CUSTOMER_CDC_KAFKA_ENABLED (kafka.enabled): expected a boolean "
            "(true/false/1/0/yes/no), got 'maybe'");
  EXPECT_THAT(env_error({{"CUSTOMER_CDC_AUDIT_ENABLED", ""}}),
              HasSubstr("CUSTOMER_CDC_AUDIT_ENABLED"));
}

TEST(ConfigTest, EnvBadInteger) {
  for (const char* bad : {"abc", "", "10s", "1.5"}) {
    EXPECT_THAT(env_error({{"CUSTOMER_CDC_POSTGRES_STATUS_INTERVAL_MS", bad}}),
                HasSubstr("environment variable CUSTOMER_CDC_POSTGRES_STATUS_INTERVAL_MS "
                          "(postgres.status_interval_ms): expected an integer"))
        << bad;
  }
  EXPECT_THAT(
      env_error({{"CUSTOMER_CDC_POSTGRES_STATUS_INTERVAL_MS", "5"}}),
      AllOf(HasSubstr("CUSTOMER_CDC_POSTGRES_STATUS_INTERVAL_MS"), HasSubstr("5 is out of range")));
}

TEST(ConfigTest, EnvBadValuesAreValidated) {
  EXPECT_THAT(env_error({{"CUSTOMER_CDC_LOG_LEVEL", "verbose"}}),
              AllOf(HasSubstr("environment variable CUSTOMER_CDC_LOG_LEVEL (log_level)"),
                    HasSubstr("allowed: debug, info, warn, error")));
  EXPECT_THAT(
      env_error({{"CUSTOMER_CDC_POSTGRES_SLOT", "Bad-Slot"}}),
      AllOf(HasSubstr("CUSTOMER_CDC_POSTGRES_SLOT"), HasSubstr("invalid replication slot")));
  EXPECT_THAT(env_error({{"CUSTOMER_CDC_POSTGRES_TABLES", "customer"}}),
              AllOf(HasSubstr("CUSTOMER_CDC_POSTGRES_TABLES"), HasSubstr("schema.table")));
  EXPECT_THAT(env_error({{"CUSTOMER_CDC_POSTGRES_TABLES", ""}}),
              AllOf(HasSubstr("CUSTOMER_CDC_POSTGRES_TABLES"), HasSubstr("at least one table")));
  EXPECT_THAT(env_error({{"CUSTOMER_CDC_METRICS_LISTEN", "nope"}}),
              HasSubstr("CUSTOMER_CDC_METRICS_LISTEN"));
  EXPECT_EQ(env_error({{"CUSTOMER_CDC_POSTGRES_DSN", ""}}),
            "environment variable CUSTOMER_CDC_POSTGRES_DSN (postgres.dsn): must not be empty");
}

TEST(ConfigTest, EnvUnknownVariable) {
  EXPECT_EQ(env_error({{"CUSTOMER_CDC_POSTGRE_DSN", "x"}}),
            "unknown environment variable CUSTOMER_CDC_POSTGRE_DSN (did you mean "
            "CUSTOMER_CDC_POSTGRES_DSN?)");
  EXPECT_THAT(env_error({{"CUSTOMER_CDC_WHATEVER", "x"}}),
              HasSubstr("unknown environment variable CUSTOMER_CDC_WHATEVER"));
  EXPECT_THAT(env_error({{"CUSTOMER_CDC_KAFKA_PROPERTIES__LINGER_MS", "5"}}),
              HasSubstr("unknown environment variable CUSTOMER_CDC_KAFKA_PROPERTIES__LINGER_MS"));
}

TEST(ConfigTest, EnvConfigPathIsIgnoredAndOthersToo) {
  const auto c = parse("", {{"CUSTOMER_CDC_CONFIG", "/some/file.toml"},
                            {"PATH", "/usr/bin"},
                            {"customer_cdc_log_level", "nonsense"}});
  expect_defaults(c);
}

TEST(ConfigTest, EnvWinsOverFile) {
  const auto c = parse("log_level = \"debug\"\n", {{"CUSTOMER_CDC_LOG_LEVEL", "error"}});
  EXPECT_EQ(c.log_level, "error");
}

TEST(ConfigTest, ProcessEnvironmentCollectsPrefixedVariables) {
  ::setenv("CUSTOMER_CDC_TEST_PROCESS_ENV", "a=b", 1);
  ::setenv("NOT_CUSTOMER_CDC_X", "1", 1);
  const auto env = cdc::app::process_environment();
  ::unsetenv("CUSTOMER_CDC_TEST_PROCESS_ENV");
  ::unsetenv("NOT_CUSTOMER_CDC_X");
  ASSERT_EQ(env.count("CUSTOMER_CDC_TEST_PROCESS_ENV"), 1u);
  EXPECT_EQ(env.at("CUSTOMER_CDC_TEST_PROCESS_ENV"), "a=b");
  EXPECT_EQ(env.count("NOT_CUSTOMER_CDC_X"), 0u);
  for (const auto& [name, value] : env) EXPECT_EQ(name.rfind("CUSTOMER_CDC_", 0), 0u) << name;
}

// ---------------------------------------------------------------------------
// load_config

TEST(ConfigTest, LoadMissingFile) {
  TempDir dir;
  const auto path = dir.path("nope.toml");
  EXPECT_EQ(config_error([&] { load_config(path, {}); }),
            "config file " + path +
                " not found (pass --config FILE or create it; an annotated example is "
                "config/customer-cdc.toml)");
}

TEST(ConfigTest, LoadMissingFileAllowed) {
  TempDir dir;
  const auto c = load_config(dir.path("nope.toml"), {{"CUSTOMER_CDC_LOG_LEVEL", "warn"}}, true);
  EXPECT_EQ(c.log_level, "warn");
  EXPECT_EQ(c.postgres.slot, "customer_cdc");
}

TEST(ConfigTest, LoadFileUsesPathInMessages) {
  TempDir dir;
  const auto path = dir.write("bad.toml", "[postgres]\nslots = 1\n");
  EXPECT_THAT(config_error([&] { load_config(path, {}); }),
              HasSubstr("unknown key 'postgres.slots' in " + path));
  const auto syntax = dir.write("syntax.toml", "a = 1\nb = \n");
  EXPECT_THAT(config_error([&] { load_config(syntax, {}); }),
              AllOf(HasSubstr("TOML syntax error in " + syntax), HasSubstr("line 2")));
}

TEST(ConfigTest, LoadFileAndEnv) {
  TempDir dir;
  const auto path = dir.write("ok.toml", kFullFile);
  const auto c = load_config(path, {{"CUSTOMER_CDC_KAFKA_ENABLED", "no"}});
  EXPECT_FALSE(c.kafka.enabled);
  EXPECT_EQ(c.postgres.slot, "prod_slot_1");
}

TEST(ConfigTest, LoadDirectoryIsAnError) {
  TempDir dir;
  EXPECT_THAT(config_error([&] { load_config(dir.path(""), {}); }), HasSubstr("is a directory"));
}
