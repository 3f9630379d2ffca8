#pragma once
// Child-process helpers for black-box tests of the customer-cdc daemon.
//
//   DaemonProcess d({"run", "--config", cfg});       // runs CDC_BINARY
//   ASSERT_TRUE(d.wait_for_output("streaming", 10s));
//   d.terminate();
//   EXPECT_EQ(d.wait_exit(10s), 0);
//
//   auto r = DaemonProcess::run_to_completion({"--help"});
//   EXPECT_EQ(r.exit_code, 0);
//
// Every wait is bounded by an explicit timeout.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cdc::testing {

using namespace std::chrono_literals;

/// Path of the built daemon (the CDC_BINARY compile definition).
std::string daemon_binary();

/// Polls `pred` every `poll` until it returns true (-> true) or `timeout` has
/// passed (-> false). `pred` is always evaluated at least once, and once more
/// after the deadline.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = 50ms);

/// Writes `content` to a fresh file /tmp/cdc-test-XXXXXX<suffix> (mode 0600)
/// and returns its path. The file is removed when the test process exits
/// (unless CDC_KEEP_TEST_CLUSTER=1).
std::string write_temp_file(const std::string& content, const std::string& suffix = "");

/// Whole content of a file; "" if it cannot be read.
std::string read_text_file(const std::string& path);

/// Last `n` lines of `text`.
std::string tail_lines(const std::string& text, std::size_t n);

/// True if a GoogleTest test is running and has (fatally or not) failed, or
/// an exception is propagating (it will fail the test once caught).
bool current_test_failed();

/// CDC_KEEP_TEST_CLUSTER=1 in the environment.
bool keep_test_artifacts();

/// Exit status as reported by DaemonProcess: exit code, or 128+signal.
struct RunResult {
  int exit_code = -1;
  std::string output;      ///< stdout and stderr, interleaved
  bool timed_out = false;  ///< the process was SIGKILLed after the timeout
};

class DaemonProcess {
 public:
  /// Spawns `program` (default: the customer-cdc daemon, CDC_BINARY) with
  /// `args` (argv[1..]); the environment is the test process's environment
  /// with `extra_env` added/overridden. stdin is /dev/null, stdout and stderr
  /// are appended to log_path(). The child leads its own process group.
  /// `cwd` empty = inherit. Throws std::runtime_error if the spawn fails.
  explicit DaemonProcess(std::vector<std::string> args,
                         std::map<std::string, std::string> extra_env = {},
                         std::string program = "", std::string cwd = "");
  /// SIGKILLs the whole process group if the child (or anything it left in
  /// its group) is still alive, reaps it and removes the temp dir (kept and
  /// printed, with the output's tail, if the current test failed or
  /// CDC_KEEP_TEST_CLUSTER=1).
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& program() const { return program_; }
  const std::string& log_path() const { return log_path_; }
  /// Everything the child wrote so far (stdout+stderr).
  std::string log_text() const;
  /// Polls log_text() until it contains `needle`.
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout);

  /// SIGKILL to the whole process group (no-op once the group is gone).
  void kill9();
  /// SIGTERM to the child only.
  void terminate();
  /// Sends `sig` to the child (group=false) or its whole process group.
  void signal(int sig, bool group = false);
  /// Polls /proc/<pid>/status until the child has a handler for `sig`
  /// (SigCgt), i.e. the signal no longer takes its default action. False on
  /// timeout or once the child has exited.
  bool wait_handles_signal(int sig, std::chrono::milliseconds timeout);

  /// Exit code (or 128+signal) once the child has exited, nullopt on timeout.
  /// May be called repeatedly; returns the same status once known.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running();
  /// Exit status if already known/available, without waiting.
  std::optional<int> exit_status();

  /// Runs a short command to completion: spawn, wait up to `timeout`, on
  /// timeout SIGKILL (exit_code 137, timed_out=true).
  static RunResult run_to_completion(std::vector<std::string> args,
                                     std::map<std::string, std::string> env = {},
                                     std::chrono::milliseconds timeout = 60s,
                                     std::string program = "", std::string cwd = "");

 private:
  bool poll_exit();  // non-blocking; records status_, does not reap
  void reap();

  std::string program_;
  std::string temp_dir_;
  std::string log_path_;
  pid_t pid_ = -1;
  std::optional<int> status_;
  bool reaped_ = false;
  bool keep_on_failure_ = true;  // false for run_to_completion (output returned)
};

}  // namespace cdc::testing
