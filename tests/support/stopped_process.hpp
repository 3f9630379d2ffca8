#pragma once
#include <signal.h>

namespace cdc::testing {

/// SIGSTOPs a process for its lifetime (what a hung server process looks like
/// to its clients): it is continued even when the test fails.
class StoppedProcess {
 public:
  explicit StoppedProcess(int pid) : pid_(pid) { ::kill(pid_, SIGSTOP); }
  ~StoppedProcess() { resume(); }
  StoppedProcess(const StoppedProcess&) = delete;
  StoppedProcess& operator=(const StoppedProcess&) = delete;
  void resume() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
    pid_ = 0;
  }

 private:
  int pid_;
};

}  // namespace cdc::testing
