// StreamSpool: streamed transactions kept in files until their commit, with
// subtransaction and transaction aborts, interleaving, and I/O errors.
#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cdc/pipeline/stream_spool.hpp"

namespace cdc::pipeline {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class StreamSpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cdc-spool-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::permissions(dir_, fs::perms::owner_all, ignored);
    fs::remove_all(dir_, ignored);
  }

  /// "subxid@position:payload" of each message replayed for `xid`.
  static std::vector<std::string> replayed(StreamSpool& spool, std::uint32_t xid) {
    std::vector<std::string> out;
    spool.replay(xid, [&](const SpooledMessage& m) {
      out.push_back(std::to_string(m.subxid) + "@" + std::to_string(m.wal_position) + ":" + m.payload);
      return true;
    });
    return out;
  }

  std::size_t files() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()));
  }

  fs::path dir_;
};

TEST_F(StreamSpoolTest, CreatesTheDirectoryOwnerOnlyAndEmptiesOldSpoolFiles) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "17.spool") << "left by a killed session";
  std::ofstream(dir_ / "keep.txt") << "not ours";
  StreamSpool spool(dir_);
  EXPECT_FALSE(fs::exists(dir_ / "17.spool"));
  EXPECT_TRUE(fs::exists(dir_ / "keep.txt"));

  const fs::path fresh = dir_ / "a" / "b";
  StreamSpool nested(fresh);
  EXPECT_EQ(fs::status(fresh).permissions() & fs::perms::all, fs::perms::owner_all);
}

TEST_F(StreamSpoolTest, ReplaysInOrderAcrossInterleavedTransactionsAndDeletesTheFile) {
  StreamSpool spool(dir_);
  spool.append(10, 10, 0x100, "a1");
  spool.append(20, 20, 0x110, "b1");
  spool.append(10, 11, 0x120, std::string("a2\0binary", 9));
  spool.append(20, 20, 0x130, "");
  EXPECT_EQ(spool.open_transactions(), 2u);
  EXPECT_EQ(files(), 2u);
  EXPECT_EQ(replayed(spool, 10),
            (std::vector<std::string>{"10@256:a1", "11@288:" + std::string("a2\0binary", 9)}));
  EXPECT_EQ(spool.open_transactions(), 1u);
  EXPECT_EQ(replayed(spool, 20), (std::vector<std::string>{"20@272:b1", "20@304:"}));
  EXPECT_EQ(files(), 0u);
  EXPECT_TRUE(replayed(spool, 99).empty());  // a transaction that sent nothing
}

TEST_F(StreamSpoolTest, SubtransactionAbortSkipsItsMessagesOnly) {
  StreamSpool spool(dir_);
  spool.append(10, 10, 1, "top");
  spool.append(10, 11, 2, "sub 11");
  spool.append(10, 12, 3, "sub 12");
  spool.abort(10, 11);
  spool.append(10, 13, 4, "sub 13, after the rollback");
  spool.abort(10, 99);  // a subtransaction that sent nothing
  spool.abort(77, 78);  // a transaction never seen
  EXPECT_EQ(replayed(spool, 10),
            (std::vector<std::string>{"10@1:top", "12@3:sub 12", "13@4:sub 13, after the rollback"}));
}

TEST_F(StreamSpoolTest, TransactionAbortDeletesItsFile) {
  StreamSpool spool(dir_);
  spool.append(10, 10, 1, "x");
  spool.append(20, 20, 2, "y");
  spool.abort(10, 10);
  EXPECT_EQ(spool.open_transactions(), 1u);
  EXPECT_EQ(files(), 1u);
  EXPECT_TRUE(replayed(spool, 10).empty());
  EXPECT_EQ(replayed(spool, 20), (std::vector<std::string>{"20@2:y"}));
}

TEST_F(StreamSpoolTest, ReplayCanStopEarlyAndStillDeletesTheFile) {
  StreamSpool spool(dir_);
  for (int i = 0; i < 5; ++i) spool.append(10, 10, static_cast<Lsn>(i), "m");
  int seen = 0;
  spool.replay(10, [&](const SpooledMessage&) { return ++seen < 2; });
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(files(), 0u);
}

TEST_F(StreamSpoolTest, DestructorDeletesOpenTransactions) {
  {
    StreamSpool spool(dir_);
    spool.append(10, 10, 1, "x");
    EXPECT_EQ(files(), 1u);
  }
  EXPECT_EQ(files(), 0u);
}

TEST_F(StreamSpoolTest, LargeTransactionsStayOnDisk) {
  StreamSpool spool(dir_);
  const std::string row(1000, 'r');
  for (int i = 0; i < 10'000; ++i) spool.append(10, 10, static_cast<Lsn>(i), row);
  EXPECT_GT(fs::file_size(dir_ / "10.spool"), 10'000u * 1000u);
  std::size_t count = 0;
  spool.replay(10, [&](const SpooledMessage& m) {
    EXPECT_EQ(m.wal_position, count);
    ++count;
    return m.payload == row;
  });
  EXPECT_EQ(count, 10'000u);
}

TEST_F(StreamSpoolTest, UnwritableDirectoryIsAnErrorNamingThePathAndTheFix) {
  if (::geteuid() == 0) {
    // root writes anywhere: a path below a regular file cannot be created by anyone.
    fs::create_directories(dir_);
    std::ofstream(dir_ / "file") << "x";
    try {
      StreamSpool spool(dir_ / "file" / "spool");
      FAIL() << "no error";
    } catch (const SpoolError& e) {
      EXPECT_THAT(e.what(), HasSubstr((dir_ / "file" / "spool").string()));
      EXPECT_THAT(e.what(), HasSubstr("postgres.spool_dir"));
      EXPECT_THAT(e.what(), HasSubstr("postgres.streaming = false"));
    }
    return;
  }
  fs::create_directories(dir_);
  fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec);
  try {
    StreamSpool spool(dir_);
    FAIL() << "no error";
  } catch (const SpoolError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot write in the spool directory " + dir_.string()));
    EXPECT_THAT(e.what(), HasSubstr("give the daemon's user write access"));
  }
}

TEST_F(StreamSpoolTest, AFullDiskIsAnErrorNamingTheFile) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  StreamSpool spool(dir_);
  fs::create_symlink("/dev/full", dir_ / "10.spool");  // opened with "w+b": writes fail with ENOSPC
  try {
    for (int i = 0; i < 10'000; ++i) spool.append(10, 10, 1, std::string(1000, 'x'));
    spool.replay(10, [](const SpooledMessage&) { return true; });
    FAIL() << "no error";
  } catch (const SpoolError& e) {
    EXPECT_THAT(e.what(), HasSubstr("the spool file " + (dir_ / "10.spool").string()));
    EXPECT_THAT(e.what(), HasSubstr("No space left on device"));
  }
}

}  // namespace
}  // namespace cdc::pipeline
