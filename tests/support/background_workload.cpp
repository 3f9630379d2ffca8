#include "support/background_workload.hpp"

namespace cdc::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kMaxErrors = 20;

/// Connection-level failures: server restart, terminated backend, refused connection.
bool is_connection_error(const std::exception& e, const PgConn& conn) {
  if (!conn.ok()) return true;
  const auto* pg_error = dynamic_cast<const PgError*>(&e);
  if (pg_error == nullptr) return false;
  const std::string& s = pg_error->sqlstate();
  return s.empty() || s.rfind("08", 0) == 0 || s == "57P01" || s == "57P02" || s == "57P03";
}

}  // namespace

BackgroundWorkload::BackgroundWorkload(const PgCluster& pg, WorkloadKnobs knobs, BackgroundWorkloadOptions options)
    : pg_(pg), options_(std::move(options)), workload_(std::move(knobs)) {
  open_connection();
  thread_ = std::thread([this] { run(); });
}

void BackgroundWorkload::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

std::string BackgroundWorkload::error() const {
  const std::lock_guard lock(mutex_);
  std::string out;
  for (const std::string& e : errors_) out += (out.empty() ? "" : "\n") + e;
  return out;
}

void BackgroundWorkload::note_error(const std::string& message) {
  const std::lock_guard lock(mutex_);
  if (errors_.size() < kMaxErrors) errors_.push_back(message);
}

void BackgroundWorkload::open_connection() {
  conn_ = std::make_unique<PgConn>(pg_.conninfo());
  conn_->set_timeout(options_.statement_timeout);
  workload_.load(*conn_);
}

bool BackgroundWorkload::reconnect() {
  try {
    open_connection();
    return true;
  } catch (const std::exception&) {
    conn_.reset();
    std::this_thread::sleep_for(200ms);
    return false;
  }
}

void BackgroundWorkload::run() {
  while (!stop_.load()) {
    if (!conn_ && !reconnect()) continue;
    try {
      const WorkloadTransaction tx =
          options_.next ? options_.next(workload_, transactions_.load()) : workload_.next();
      workload_.execute(*conn_, tx);
      if (tx.big) ++big_transactions_;
      ++transactions_;
    } catch (const std::exception& e) {
      if (!recover(e)) return;
    }
    if (options_.pause) std::this_thread::sleep_for(options_.pause(workload_));
  }
}

bool BackgroundWorkload::recover(const std::exception& e) {
  const bool lost_connection = is_connection_error(e, *conn_);
  if (lost_connection && options_.recovery != WorkloadRecovery::Stop) {
    ++interrupted_;
    conn_.reset();
    return true;
  }
  note_error(e.what());
  if (lost_connection || options_.recovery != WorkloadRecovery::Continue) return false;
  ++sql_errors_;
  try {
    conn_->exec("ROLLBACK");
    workload_.load(*conn_);
  } catch (const std::exception&) {
    conn_.reset();
  }
  return true;
}

}  // namespace cdc::testing
