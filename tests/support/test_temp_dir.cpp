#include "support/test_temp_dir.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "support/daemon_process.hpp"

namespace cdc::testing {
namespace {

/// The directories of the running test; gtest owns the one instance (a listener).
class TestTempDirs : public ::testing::EmptyTestEventListener {
 public:
  static TestTempDirs& instance() {
    static TestTempDirs* dirs = [] {
      auto* listener = new TestTempDirs;
      ::testing::UnitTest::GetInstance()->listeners().Append(listener);
      return listener;
    }();
    return *dirs;
  }

  void add(const std::string& path) {
    const std::lock_guard lock(mutex_);
    paths_.push_back(path);
  }

  void OnTestEnd(const ::testing::TestInfo& test) override {
    const std::lock_guard lock(mutex_);
    const bool keep = test.result()->Failed() || keep_test_artifacts();
    for (const std::string& path : paths_) {
      std::error_code ec;
      if (keep) {
        std::cerr << "[test_temp_dir] kept: " << path << "\n";
      } else if (std::filesystem::remove_all(path, ec); ec) {
        std::cerr << "[test_temp_dir] cannot remove " << path << ": " << ec.message() << "\n";
      }
    }
    paths_.clear();
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> paths_;
};

}  // namespace

std::string make_test_temp_dir(const std::string& prefix) {
  if (::testing::UnitTest::GetInstance()->current_test_info() == nullptr) {
    throw std::logic_error("make_test_temp_dir outside a test");
  }
  std::string path = "/tmp/" + prefix + "XXXXXX";
  if (::mkdtemp(path.data()) == nullptr) throw std::runtime_error("mkdtemp(" + path + "): " + std::strerror(errno));
  TestTempDirs::instance().add(path);
  return path;
}

}  // namespace cdc::testing
