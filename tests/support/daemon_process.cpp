#include "support/daemon_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace cdc::testing {

namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text(int err) { return std::strerror(err); }

/// Temp files handed out by write_temp_file(), removed at process exit.
class TempFileRegistry {
 public:
  static TempFileRegistry& instance() {
    static TempFileRegistry r;
    return r;
  }
  void add(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    paths_.push_back(path);
  }
  ~TempFileRegistry() {
    if (keep_test_artifacts()) return;
    for (const auto& p : paths_) {
      std::error_code ec;
      std::filesystem::remove(p, ec);
    }
  }

 private:
  std::mutex mu_;
  std::vector<std::string> paths_;
};

std::string make_temp_dir(const char* prefix) {
  std::string templ = std::string("/tmp/") + prefix + "XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    throw std::runtime_error("mkdtemp(" + templ + "): " + errno_text(errno));
  }
  return templ;
}

std::vector<std::string> build_environment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    std::string key = eq == std::string::npos ? entry : entry.substr(0, eq);
    if (extra.count(key) != 0) continue;
    env.push_back(std::move(entry));
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

/// RAII wrappers around the posix_spawn attribute objects.
struct SpawnAttr {
  posix_spawnattr_t attr;
  SpawnAttr() { ::posix_spawnattr_init(&attr); }
  ~SpawnAttr() { ::posix_spawnattr_destroy(&attr); }
};
struct SpawnActions {
  posix_spawn_file_actions_t actions;
  SpawnActions() { ::posix_spawn_file_actions_init(&actions); }
  ~SpawnActions() { ::posix_spawn_file_actions_destroy(&actions); }
};

void check_spawn(int rc, const char* what) {
  if (rc != 0) throw std::runtime_error(std::string(what) + ": " + errno_text(rc));
}

}  // namespace

std::string daemon_binary() {
#ifdef CDC_BINARY
  return CDC_BINARY;
#else
  return "customer-cdc";
#endif
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll) {
  const auto deadline = Clock::now() + timeout;
  if (poll <= std::chrono::milliseconds(0)) poll = std::chrono::milliseconds(1);
  while (true) {
    if (pred()) return true;
    const auto now = Clock::now();
    if (now >= deadline) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    // +1 ms so that the last evaluation happens at/after the deadline.
    std::this_thread::sleep_for(std::min(poll, left + std::chrono::milliseconds(1)));
  }
}

std::string write_temp_file(const std::string& content, const std::string& suffix) {
  std::string templ = "/tmp/cdc-test-XXXXXX" + suffix;
  int fd = ::mkstemps(templ.data(), static_cast<int>(suffix.size()));
  if (fd < 0) throw std::runtime_error("mkstemps(" + templ + "): " + errno_text(errno));
  TempFileRegistry::instance().add(templ);
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      throw std::runtime_error("write(" + templ + "): " + errno_text(err));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  ::close(fd);
  return templ;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tail_lines(const std::string& text, std::size_t n) {
  if (n == 0 || text.empty()) return {};
  std::size_t pos = text.size();
  if (text.back() == '\n') --pos;
  std::size_t lines = 0;
  while (pos > 0) {
    if (text[pos - 1] == '\n' && ++lines == n) break;
    --pos;
  }
  return text.substr(pos);
}

bool current_test_failed() {
  // An exception propagating out of the test body is recorded as a failure
  // only after the stack (and thus PgCluster/DaemonProcess) is unwound.
  if (std::uncaught_exceptions() > 0) return true;
  auto* unit = ::testing::UnitTest::GetInstance();
  if (unit == nullptr || unit->current_test_info() == nullptr) return false;
  return ::testing::Test::HasFailure();
}

bool keep_test_artifacts() {
  const char* v = std::getenv("CDC_KEEP_TEST_CLUSTER");
  return v != nullptr && std::string(v) == "1";
}

// ---------------------------------------------------------------------------

DaemonProcess::DaemonProcess(std::vector<std::string> args,
                             std::map<std::string, std::string> extra_env, std::string program,
                             std::string cwd)
    : program_(program.empty() ? daemon_binary() : std::move(program)) {
  temp_dir_ = make_temp_dir("cdc-proc-");
  log_path_ = temp_dir_ + "/output.log";

  std::vector<std::string> argv_store;
  argv_store.reserve(args.size() + 1);
  argv_store.push_back(program_);
  for (auto& a : args) argv_store.push_back(std::move(a));
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_store = build_environment(extra_env);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);

  SpawnActions fa;
  check_spawn(::posix_spawn_file_actions_addopen(&fa.actions, 0, "/dev/null", O_RDONLY, 0),
              "posix_spawn_file_actions_addopen(stdin)");
  check_spawn(::posix_spawn_file_actions_addopen(&fa.actions, 1, log_path_.c_str(),
                                                 O_WRONLY | O_CREAT | O_APPEND, 0644),
              "posix_spawn_file_actions_addopen(stdout)");
  check_spawn(::posix_spawn_file_actions_adddup2(&fa.actions, 1, 2),
              "posix_spawn_file_actions_adddup2(stderr)");
  // Do not leak the test process's descriptors (libpq sockets, ...) into the child.
  check_spawn(::posix_spawn_file_actions_addclosefrom_np(&fa.actions, 3),
              "posix_spawn_file_actions_addclosefrom_np");
  if (!cwd.empty()) {
    check_spawn(::posix_spawn_file_actions_addchdir_np(&fa.actions, cwd.c_str()),
                "posix_spawn_file_actions_addchdir_np");
  }

  SpawnAttr sa;
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGALRM, SIGTERM, SIGUSR1, SIGUSR2, SIGCHLD,
                  SIGTSTP, SIGTTIN, SIGTTOU}) {
    sigaddset(&defaults, sig);
  }
  check_spawn(::posix_spawnattr_setflags(&sa.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                       POSIX_SPAWN_SETSIGDEF),
              "posix_spawnattr_setflags");
  check_spawn(::posix_spawnattr_setpgroup(&sa.attr, 0), "posix_spawnattr_setpgroup");
  check_spawn(::posix_spawnattr_setsigmask(&sa.attr, &empty_mask), "posix_spawnattr_setsigmask");
  check_spawn(::posix_spawnattr_setsigdefault(&sa.attr, &defaults),
              "posix_spawnattr_setsigdefault");

  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, program_.c_str(), &fa.actions, &sa.attr, argv.data(), envp.data());
  if (rc != 0) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
    throw std::runtime_error("cannot spawn " + program_ + ": " + errno_text(rc));
  }
  pid_ = pid;
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0 && !reaped_) {
    // Kill the child and anything it left behind in its process group. The
    // child is not reaped yet (at most a zombie), so its pid - and thus the
    // group id - cannot have been reused.
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    reap();
  }
  const bool keep = keep_on_failure_ && (keep_test_artifacts() || current_test_failed());
  if (keep) {
    std::cerr << "[DaemonProcess] " << program_ << " (pid " << pid_ << ") output kept in "
              << log_path_ << "\n";
    if (current_test_failed()) {
      std::cerr << "[DaemonProcess] last lines of output:\n"
                << tail_lines(log_text(), 40) << "[DaemonProcess] --- end of output ---\n";
    }
  } else if (!temp_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
}

std::string DaemonProcess::log_text() const { return read_text_file(log_path_); }

bool DaemonProcess::wait_for_output(const std::string& needle,
                                    std::chrono::milliseconds timeout) {
  return wait_until([&] { return log_text().find(needle) != std::string::npos; }, timeout);
}

bool DaemonProcess::poll_exit() {
  if (status_) return true;
  if (pid_ <= 0) return false;
  siginfo_t info;
  std::memset(&info, 0, sizeof(info));
  int rc;
  do {
    rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    // ECHILD: somebody else reaped it; treat as gone with unknown status.
    status_ = -1;
    reaped_ = true;
    return true;
  }
  if (info.si_pid == 0) return false;  // still running
  if (info.si_code == CLD_EXITED) {
    status_ = info.si_status;
  } else {
    status_ = 128 + info.si_status;  // CLD_KILLED / CLD_DUMPED
  }
  return true;
}

void DaemonProcess::reap() {
  if (reaped_ || pid_ <= 0) return;
  // Bounded: after SIGKILL the child dies promptly; give up after 10 s.
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (true) {
    int wstatus = 0;
    pid_t r = ::waitpid(pid_, &wstatus, WNOHANG);
    if (r == pid_) {
      if (!status_) {
        status_ = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
      }
      reaped_ = true;
      return;
    }
    if (r < 0 && errno != EINTR) {
      reaped_ = true;
      if (!status_) status_ = -1;
      return;
    }
    if (Clock::now() >= deadline) {
      std::cerr << "[DaemonProcess] pid " << pid_ << " did not die after SIGKILL\n";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void DaemonProcess::kill9() { signal(SIGKILL, /*group=*/true); }

void DaemonProcess::terminate() { signal(SIGTERM, /*group=*/false); }

void DaemonProcess::signal(int sig, bool group) {
  if (pid_ <= 0 || reaped_) return;
  // An exited-but-unreaped child is a zombie: signalling it is harmless and
  // the pid cannot have been reused.
  ::kill(group ? -pid_ : pid_, sig);
}

std::optional<int> DaemonProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (wait_until([this] { return poll_exit(); }, timeout, std::chrono::milliseconds(10))) {
    return status_;
  }
  return std::nullopt;
}

bool DaemonProcess::running() { return !poll_exit(); }

bool DaemonProcess::wait_handles_signal(int sig, std::chrono::milliseconds timeout) {
  const std::string status_path = "/proc/" + std::to_string(pid_) + "/status";
  return wait_until(
      [&] {
        if (!running()) return true;
        std::istringstream status(read_text_file(status_path));
        for (std::string line; std::getline(status, line);) {
          if (line.rfind("SigCgt:", 0) != 0) continue;
          const unsigned long long caught = std::stoull(line.substr(7), nullptr, 16);
          return (caught >> (sig - 1) & 1ULL) != 0;
        }
        return false;
      },
      timeout) && running();
}

std::optional<int> DaemonProcess::exit_status() {
  poll_exit();
  return status_;
}

RunResult DaemonProcess::run_to_completion(std::vector<std::string> args,
                                           std::map<std::string, std::string> env,
                                           std::chrono::milliseconds timeout,
                                           std::string program, std::string cwd) {
  RunResult result;
  DaemonProcess proc(std::move(args), std::move(env), std::move(program), std::move(cwd));
  proc.keep_on_failure_ = false;
  auto code = proc.wait_exit(timeout);
  if (!code) {
    result.timed_out = true;
    proc.kill9();
    code = proc.wait_exit(std::chrono::seconds(10));
  }
  result.exit_code = code.value_or(-1);
  // Remove stragglers the command left in its group before reading output.
  proc.kill9();
  proc.reap();
  result.output = proc.log_text();
  return result;
}

}  // namespace cdc::testing
