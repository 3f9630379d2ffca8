#include "support/pg_cluster.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include "support/daemon_process.hpp"

namespace cdc::testing {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kInitdbTimeout{120000};
constexpr milliseconds kPgCtlTimeout{90000};  // pg_ctl itself is told -t 60
constexpr milliseconds kPsqlTimeout{300000};
constexpr int kStartAttempts = 5;

std::string trim_right(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string quote_ident(const std::string& ident) {
  std::string out = "\"";
  for (char c : ident) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string shorten(const std::string& sql, std::size_t max = 200) {
  if (sql.size() <= max) return sql;
  return sql.substr(0, max) + "...";
}

std::string runuser_path() {
  for (const char* p : {"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "runuser";
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
}

bool server_log_says_port_in_use(const std::string& log) {
  return log.find("Address already in use") != std::string::npos ||
         log.find("could not bind") != std::string::npos ||
         log.find("could not create any TCP/IP sockets") != std::string::npos;
}

}  // namespace

// ---------------------------------------------------------------------------
// PgConn

PgConn::PgConn(const std::string& conninfo) {
  // connect_timeout first: an explicit value inside conninfo overrides it.
  const char* keys[] = {"connect_timeout", "dbname", nullptr};
  const char* vals[] = {"10", conninfo.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, vals, /*expand_dbname=*/1);
  if (conn_ == nullptr) throw std::runtime_error("PQconnectdbParams: out of memory");
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = trim_right(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    throw std::runtime_error("cannot connect to '" + conninfo + "': " + msg);
  }
  PQsetNoticeReceiver(conn_, &PgConn::notice_receiver, this);
}

PgConn::~PgConn() {
  if (conn_ != nullptr) PQfinish(conn_);
}

PgConn::PgConn(PgConn&& other) noexcept
    : conn_(other.conn_), timeout_(other.timeout_), notices_(std::move(other.notices_)) {
  other.conn_ = nullptr;
  if (conn_ != nullptr) PQsetNoticeReceiver(conn_, &PgConn::notice_receiver, this);
}

PgConn& PgConn::operator=(PgConn&& other) noexcept {
  if (this != &other) {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = other.conn_;
    timeout_ = other.timeout_;
    notices_ = std::move(other.notices_);
    other.conn_ = nullptr;
    if (conn_ != nullptr) PQsetNoticeReceiver(conn_, &PgConn::notice_receiver, this);
  }
  return *this;
}

void PgConn::notice_receiver(void* arg, const PGresult* res) {
  auto* self = static_cast<PgConn*>(arg);
  if (self->notices_.size() < 10000) {
    self->notices_.push_back(trim_right(PQresultErrorMessage(res)));
  }
}

bool PgConn::ok() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }

void PgConn::exec(const std::string& sql) { run(sql, nullptr); }

Rows PgConn::query(const std::string& sql, const std::vector<Value>& params) {
  return run(sql, &params);
}

Value PgConn::scalar(const std::string& sql, const std::vector<Value>& params) {
  Rows rows = run(sql, &params);
  if (rows.empty() || rows.front().empty()) return std::nullopt;
  return rows.front().front();
}

Rows PgConn::run(const std::string& sql, const std::vector<Value>* params) {
  if (conn_ == nullptr) throw PgError("PgConn: not connected", "");

  int sent;
  if (params != nullptr && !params->empty()) {
    std::vector<const char*> values;
    values.reserve(params->size());
    for (const auto& p : *params) values.push_back(p ? p->c_str() : nullptr);
    sent = PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  } else {
    sent = PQsendQuery(conn_, sql.c_str());
  }
  if (sent == 0) {
    throw PgError(trim_right(PQerrorMessage(conn_)) + " [query: " + shorten(sql) + "]", "");
  }

  auto deadline = Clock::now() + timeout_;
  bool cancelled = false;

  // Waits until `ready()` or the deadline; on the first expiry cancels the
  // query and grants 10 s more; on the second gives up on the connection.
  auto wait_socket = [&](const std::function<bool()>& ready) {
    while (!ready()) {
      auto now = Clock::now();
      if (now >= deadline) {
        if (!cancelled) {
          cancelled = true;
          if (PGcancel* c = PQgetCancel(conn_)) {
            char errbuf[256];
            PQcancel(c, errbuf, sizeof errbuf);
            PQfreeCancel(c);
          }
          deadline = Clock::now() + std::chrono::seconds(10);
          continue;
        }
        PQfinish(conn_);
        conn_ = nullptr;
        throw PgError("query timed out after " + std::to_string(timeout_.count()) +
                          " ms and could not be cancelled: " + shorten(sql),
                      "");
      }
      auto left = std::chrono::duration_cast<milliseconds>(deadline - now).count();
      pollfd pfd{PQsocket(conn_), POLLIN, 0};
      int rc = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left + 1, 1000)));
      if (rc < 0 && errno != EINTR) throw PgError(std::string("poll: ") + strerror(errno), "");
      if (PQconsumeInput(conn_) == 0) {
        throw PgError(trim_right(PQerrorMessage(conn_)) + " [query: " + shorten(sql) + "]", "");
      }
    }
  };

  Rows rows;
  std::optional<PgError> error;
  while (true) {
    wait_socket([&] { return PQisBusy(conn_) == 0; });
    PGresult* res = PQgetResult(conn_);
    if (res == nullptr) break;
    std::unique_ptr<PGresult, void (*)(PGresult*)> guard(res, PQclear);
    switch (PQresultStatus(res)) {
      case PGRES_TUPLES_OK:
      case PGRES_SINGLE_TUPLE: {
        if (error) break;
        rows.clear();
        const int nrows = PQntuples(res);
        const int ncols = PQnfields(res);
        rows.reserve(static_cast<std::size_t>(nrows));
        for (int r = 0; r < nrows; ++r) {
          Row row;
          row.reserve(static_cast<std::size_t>(ncols));
          for (int c = 0; c < ncols; ++c) {
            if (PQgetisnull(res, r, c)) {
              row.emplace_back(std::nullopt);
            } else {
              row.emplace_back(std::string(PQgetvalue(res, r, c),
                                           static_cast<std::size_t>(PQgetlength(res, r, c))));
            }
          }
          rows.push_back(std::move(row));
        }
        break;
      }
      case PGRES_COMMAND_OK:
      case PGRES_EMPTY_QUERY:
        if (!error) rows.clear();
        break;
      case PGRES_COPY_IN:
        PQputCopyEnd(conn_, "COPY FROM STDIN is not supported by PgConn");
        break;
      case PGRES_COPY_OUT: {
        // Discard the data.
        while (true) {
          char* buf = nullptr;
          int n = PQgetCopyData(conn_, &buf, /*async=*/1);
          if (n > 0) {
            PQfreemem(buf);
            continue;
          }
          if (n == 0) {
            wait_socket([&] {
              // Ready as soon as there is something to read or the copy ended.
              return PQisBusy(conn_) == 0;
            });
            continue;
          }
          break;  // -1: done, -2: error (reported by the following result)
        }
        break;
      }
      case PGRES_COPY_BOTH:
        PQfinish(conn_);
        conn_ = nullptr;
        throw PgError("COPY BOTH (replication) is not supported by PgConn: " + shorten(sql), "");
      default: {
        if (!error) {
          const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
          error.emplace(trim_right(PQresultErrorMessage(res)) + " [query: " + shorten(sql) + "]",
                        state != nullptr ? state : "");
        }
        break;
      }
    }
  }
  if (cancelled) {
    throw PgError("query timed out after " + std::to_string(timeout_.count()) +
                      " ms (cancelled): " + shorten(sql),
                  error ? error->sqlstate() : "57014");
  }
  if (error) throw *error;
  return rows;
}

// ---------------------------------------------------------------------------
// helpers

int pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    throw std::runtime_error(std::string("bind 127.0.0.1:0: ") + strerror(err));
  }
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    throw std::runtime_error(std::string("getsockname: ") + strerror(err));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string conninfo_quote(const std::string& value) {
  bool plain = !value.empty();
  for (char c : value) {
    if (c == ' ' || c == '\'' || c == '\\' || c == '=' || c == '\t') plain = false;
  }
  if (plain) return value;
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// ---------------------------------------------------------------------------
// PgCluster

bool PgCluster::supports_output_plugin_libraries(const std::string& bin_dir) {
  static std::mutex mu;
  static std::map<std::string, bool> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(bin_dir); it != cache.end()) return it->second;

  auto r = DaemonProcess::run_to_completion(
      {"-u", "postgres", "--", bin_dir + "/postgres", "--describe-config"}, {},
      std::chrono::seconds(60), runuser_path(), "/tmp");
  bool found = false;
  if (r.exit_code != 0) {
    std::cerr << "[PgCluster] postgres --describe-config failed (exit " << r.exit_code
              << "); assuming no output_plugin_libraries setting:\n"
              << tail_lines(r.output, 10);
  } else {
    std::istringstream in(r.output);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("output_plugin_libraries\t", 0) == 0) {
        found = true;
        break;
      }
    }
  }
  cache[bin_dir] = found;
  return found;
}

std::string PgCluster::run_as_postgres(const std::vector<std::string>& argv,
                                       milliseconds timeout) const {
  std::vector<std::string> args = {"-u", "postgres", "--"};
  args.insert(args.end(), argv.begin(), argv.end());
  auto r = DaemonProcess::run_to_completion(args, {}, timeout, runuser_path(), dir_);
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    throw std::runtime_error("`" + cmd + "` failed (exit " + std::to_string(r.exit_code) +
                             (r.timed_out ? ", timed out" : "") + "):\n" + r.output);
  }
  return r.output;
}

PgCluster::PgCluster(Options options) : options_(std::move(options)) {
  try {
    init();
  } catch (...) {
    cleanup_after_failed_construction();
    throw;
  }
}

void PgCluster::init() {
  const passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr) throw std::runtime_error("PgCluster: no `postgres` OS user");

  std::string templ = "/tmp/cdc-pg-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    throw std::runtime_error("mkdtemp: " + std::string(strerror(errno)));
  }
  dir_ = templ;
  if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw std::runtime_error("chown " + dir_ + ": " + strerror(errno));
  }
  ::chmod(dir_.c_str(), 0700);

  run_as_postgres({bin("initdb"), "-D", data_dir(), "-A", "trust", "-U", options_.superuser, "--no-sync",
                   "-E", "UTF8", "--locale=C"},
                  kInitdbTimeout);
  base_conf_ = read_text_file(data_dir() + "/postgresql.conf");

  for (int attempt = 1;; ++attempt) {
    port_ = pick_free_port();
    write_config();
    try {
      start_once();
      break;
    } catch (const std::exception&) {
      // Another process may have grabbed the port between pick and start.
      if (attempt < kStartAttempts && server_log_says_port_in_use(log_text()) &&
          !fs::exists(data_dir() + "/postmaster.pid")) {
        std::cerr << "[PgCluster] port " << port_ << " was taken, retrying\n";
        continue;
      }
      throw;
    }
  }

  if (!options_.database.empty() && options_.database != "postgres") {
    PgConn admin(conninfo("postgres"));
    admin.exec("CREATE DATABASE " + quote_ident(options_.database));
  }
  if (options_.apply_schema) apply_schema();
}

void PgCluster::write_config() {
  std::ostringstream conf;
  conf << base_conf_ << "\n# ---- customer-cdc test cluster (tests/support/pg_cluster.cpp) ----\n"
       << "port = " << port_ << "\n"
       << "listen_addresses = '127.0.0.1'\n"
       << "unix_socket_directories = '" << dir_ << "'\n"
       << "wal_level = logical\n"
       << "max_replication_slots = 20\n"
       << "max_wal_senders = 20\n"
       << "fsync = off\n"
       << "full_page_writes = on\n"
       << "wal_sender_timeout = '60s'\n"
       << "log_min_messages = warning\n"
       << "max_connections = 100\n";
  if (supports_output_plugin_libraries(options_.bin_dir)) {
    conf << "output_plugin_libraries = 'pgoutput, test_decoding, wal2json'\n";
  }
  for (const auto& line : options_.extra_conf) conf << line << "\n";
  write_file(data_dir() + "/postgresql.conf", conf.str());
}

void PgCluster::start_once() {
  try {
    run_as_postgres({bin("pg_ctl"), "start", "-w", "-t", "60", "-s", "-D", data_dir(), "-l",
                     log_path()},
                    kPgCtlTimeout);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(e.what()) + "\n--- server log (" + log_path() +
                             ") ---\n" + tail_lines(log_text(), 30));
  }
  running_ = true;
}

void PgCluster::start() {
  if (running_) return;
  start_once();
}

void PgCluster::stop(std::string mode) {
  if (!running_) return;
  conn_.reset();
  run_as_postgres({bin("pg_ctl"), "stop", "-w", "-t", "60", "-s", "-m", mode, "-D", data_dir()},
                  kPgCtlTimeout);
  running_ = false;
}

void PgCluster::restart(std::string mode) {
  stop(std::move(mode));
  start();
}

namespace {

/// Immediate stop; SIGKILL of the postmaster if pg_ctl fails. Never throws.
void force_stop(const std::string& runuser, const std::string& pg_ctl, const std::string& dir,
                const std::string& data_dir) {
  const std::string pidfile = data_dir + "/postmaster.pid";
  if (!fs::exists(pidfile)) return;
  try {
    auto r = DaemonProcess::run_to_completion(
        {"-u", "postgres", "--", pg_ctl, "stop", "-w", "-t", "30", "-s", "-m", "immediate", "-D",
         data_dir},
        {}, std::chrono::seconds(45), runuser, dir);
    if (r.exit_code == 0) return;
    std::cerr << "[PgCluster] pg_ctl stop -m immediate failed (exit " << r.exit_code
              << "):\n"
              << r.output;
  } catch (const std::exception& e) {
    std::cerr << "[PgCluster] pg_ctl stop failed: " << e.what() << "\n";
  }
  std::ifstream in(pidfile);
  long pid = 0;
  if (in >> pid && pid > 1) {
    std::cerr << "[PgCluster] sending SIGKILL to postmaster " << pid << "\n";
    ::kill(static_cast<pid_t>(pid), SIGKILL);
  }
}

}  // namespace

void PgCluster::cleanup_after_failed_construction() {
  conn_.reset();
  if (dir_.empty()) return;
  force_stop(runuser_path(), bin("pg_ctl"), dir_, data_dir());
  running_ = false;
  std::cerr << "[PgCluster] setup failed; cluster dir kept: " << dir_ << " (server log: "
            << log_path() << ")\n";
}

PgCluster::~PgCluster() {
  conn_.reset();
  if (dir_.empty()) return;
  force_stop(runuser_path(), bin("pg_ctl"), dir_, data_dir());
  running_ = false;
  const bool failed = current_test_failed();
  if (failed || keep_test_artifacts()) {
    std::cerr << "[PgCluster] cluster dir kept: " << dir_ << " (server log: " << log_path()
              << ", port " << port_ << ")\n";
    if (failed) {
      std::cerr << "[PgCluster] last lines of the server log:\n"
                << tail_lines(log_text(), 30) << "[PgCluster] --- end of server log ---\n";
    }
    return;
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (ec) std::cerr << "[PgCluster] cannot remove " << dir_ << ": " << ec.message() << "\n";
}

std::string PgCluster::log_text() const { return read_text_file(log_path()); }

std::string PgCluster::conninfo(std::string db) const { return conninfo_as(options_.superuser, std::move(db)); }

std::string PgCluster::conninfo_as(const std::string& user, std::string db) const {
  if (db.empty()) db = options_.database.empty() ? "postgres" : options_.database;
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + conninfo_quote(user) +
         " dbname=" + conninfo_quote(db);
}

PgConn PgCluster::connect(std::string db) const { return PgConn(conninfo(std::move(db))); }

PgConn& PgCluster::conn() {
  if (!conn_ || !conn_->ok()) {
    conn_.reset();
    conn_ = std::make_unique<PgConn>(conninfo());
  }
  return *conn_;
}

void PgCluster::psql_file(const std::string& path, std::string db) const {
  if (db.empty()) db = options_.database.empty() ? "postgres" : options_.database;
  auto r = DaemonProcess::run_to_completion(
      {"-X", "-v", "ON_ERROR_STOP=1", "-q", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U",
       options_.superuser, "-d", db, "-f", path},
      {}, kPsqlTimeout, bin("psql"),
#ifdef CDC_SOURCE_DIR
      CDC_SOURCE_DIR
#else
      ""
#endif
  );
  if (r.exit_code != 0) {
    throw std::runtime_error("psql -f " + path + " failed (exit " +
                             std::to_string(r.exit_code) + (r.timed_out ? ", timed out" : "") +
                             "):\n" + r.output);
  }
}

std::string PgCluster::psql(const std::string& sql, std::string db) const {
  if (db.empty()) db = options_.database.empty() ? "postgres" : options_.database;
  const std::string script = write_temp_file(sql, ".sql");
  const std::string out = write_temp_file("", ".out");
  auto r = DaemonProcess::run_to_completion(
      {"-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
       std::to_string(port_), "-U", options_.superuser, "-d", db, "-f", script, "-o", out},
      {}, kPsqlTimeout, bin("psql"));
  std::string output = read_text_file(out);
  std::error_code ec;
  fs::remove(script, ec);
  fs::remove(out, ec);
  if (r.exit_code != 0) {
    throw std::runtime_error("psql failed (exit " + std::to_string(r.exit_code) +
                             (r.timed_out ? ", timed out" : "") + "): " + r.output +
                             "\n[sql: " + shorten(sql) + "]");
  }
  return output;
}

void PgCluster::apply_schema(std::string db) const {
  std::string schema_dir = options_.schema_dir;
#ifdef CDC_SOURCE_DIR
  if (schema_dir.empty()) schema_dir = std::string(CDC_SOURCE_DIR) + "/schema";
#endif
  if (schema_dir.empty() || !fs::is_directory(schema_dir)) return;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(schema_dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".sql") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  for (const auto& f : files) psql_file(f.string(), db);
}

}  // namespace cdc::testing
