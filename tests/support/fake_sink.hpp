#pragma once
// A Sink that records every call, for tests of the pipeline without a database.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cdc/decode/change.hpp"
#include "cdc/sinks/sink.hpp"

namespace cdc::test {

using decode::Action;
using decode::Change;
using sinks::TxnInfo;

/// Records every call. Committed transactions become durable on flush() (or
/// immediately when durable_on_commit).
class FakeSink : public sinks::Sink {
 public:
  struct Call {
    std::string what;  // begin | change | commit | flush | abort
    TxnInfo txn;
    Action action = Action::Begin;
    Lsn change_lsn = 0;
  };

  explicit FakeSink(std::string name, Lsn resume = 0) : name_(std::move(name)), resume_(resume), durable_(resume) {}

  std::string name() const override { return name_; }
  Lsn resume_position() const override { return resume_; }

  void begin(const TxnInfo& txn) override {
    EXPECT_FALSE(open_) << name_ << ": begin inside a transaction";
    open_ = true;
    calls.push_back({"begin", txn});
  }
  void change(const TxnInfo& txn, const Change& change) override {
    EXPECT_TRUE(open_) << name_ << ": change outside a transaction";
    calls.push_back({"change", txn, change.action, change.lsn});
  }
  void commit(const TxnInfo& txn) override {
    EXPECT_TRUE(open_) << name_ << ": commit outside a transaction";
    open_ = false;
    calls.push_back({"commit", txn});
    pending_ = std::max(pending_, txn.end_lsn);
    if (durable_on_commit) durable_ = pending_;
  }
  std::optional<std::string> rejects(const Change& change) const override {
    if (reject_action && change.action == *reject_action) return "no column 'plan_id'";
    return std::nullopt;
  }
  void dead_letter(const TxnInfo& txn, const sinks::DeadLetter& letter) override {
    EXPECT_TRUE(open_) << name_ << ": dead letter outside a transaction";
    calls.push_back({"dead_letter", txn, Action::Message, letter.wal_position});
    letters.push_back(letter);
  }
  bool wants_flush() const override { return want_flush; }
  void flush() override {
    EXPECT_FALSE(open_) << name_ << ": flush inside a transaction";
    calls.push_back({"flush", {}});
    if (!confirms_nothing) durable_ = std::max(durable_, pending_);
  }
  void abort() override {
    calls.push_back({"abort", {}});
    open_ = false;
    pending_ = durable_;
  }
  Lsn durable_lsn() const override { return durable_; }

  std::vector<std::string> call_names() const {
    std::vector<std::string> names;
    for (const auto& call : calls) names.push_back(call.what);
    return names;
  }
  std::vector<std::uint32_t> committed_xids() const {
    std::vector<std::uint32_t> xids;
    for (const auto& call : calls) {
      if (call.what == "commit") xids.push_back(call.txn.xid);
    }
    return xids;
  }
  std::size_t count(const std::string& what) const {
    return static_cast<std::size_t>(std::count_if(calls.begin(), calls.end(), [&](const Call& c) { return c.what == what; }));
  }

  std::vector<Call> calls;
  std::vector<sinks::DeadLetter> letters;
  std::optional<Action> reject_action;  ///< rejects() refuses changes of this action
  bool want_flush = false;
  bool durable_on_commit = false;
  bool confirms_nothing = false;  ///< flush() makes nothing durable (a broker that never confirms)

 private:
  std::string name_;
  Lsn resume_;
  Lsn durable_;
  Lsn pending_ = 0;
  bool open_ = false;
};

}  // namespace cdc::test
