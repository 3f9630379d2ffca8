#pragma once
#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cdc/core/errors.hpp"

namespace cdc::pg {

/// A libpq failure. sqlstate() is empty when the server gave none (e.g. the
/// connection broke); connection_lost() tells transient network failures apart.
/// Fatal for SQLSTATE classes no reconnect fixes (bad data, constraint
/// violations, missing tables or privileges: schema not migrated), else retryable.
class Error : public cdc::Error {
 public:
  Error(const std::string& message, std::string sqlstate, bool connection_lost)
      : cdc::Error(category_of(sqlstate), message),
        sqlstate_(std::move(sqlstate)),
        connection_lost_(connection_lost) {}
  const std::string& sqlstate() const { return sqlstate_; }
  bool connection_lost() const { return connection_lost_; }
  std::string log_message() const override {
    if (category() != ErrorCategory::Fatal) return what();
    return std::string(what()) + " (SQLSTATE " + sqlstate_ + "; is the schema applied? run `customer-cdc migrate`)";
  }

  static ErrorCategory category_of(const std::string& sqlstate) {
    const bool fatal = sqlstate.starts_with("22") || sqlstate.starts_with("23") || sqlstate.starts_with("42");
    return fatal ? ErrorCategory::Fatal : ErrorCategory::Retryable;
  }

 private:
  std::string sqlstate_;
  bool connection_lost_;
};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};

/// Owning PGresult with typed access.
class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  int rows() const { return PQntuples(r_.get()); }
  int columns() const { return PQnfields(r_.get()); }
  bool is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string_view value(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col), static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
  }
  std::optional<std::string> optional_value(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return std::string(value(row, col));
  }
  PGresult* get() const { return r_.get(); }

 private:
  std::unique_ptr<PGresult, ResultDeleter> r_;
};

using Params = std::vector<std::optional<std::string>>;

/// One libpq connection. The conninfo (which may hold a password) is never
/// put into error messages.
class Connection {
 public:
  /// extra: keyword/value pairs added to (and overriding) the parsed conninfo,
  /// e.g. {"replication", "database"}.
  explicit Connection(const std::string& conninfo,
                      const std::vector<std::pair<std::string, std::string>>& extra = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  PGconn* get() const { return conn_; }
  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }

  /// Runs SQL (several statements allowed); throws Error unless it succeeds.
  Result exec(const std::string& sql);
  /// Runs one statement with text parameters; throws Error unless it succeeds.
  Result exec_params(const std::string& sql, const Params& params);
  /// exec that gives up after `timeout`: the command is cancelled and nullopt returned.
  std::optional<Result> exec_with_deadline(const std::string& sql, std::chrono::milliseconds timeout);
  std::string quote_literal(std::string_view text) const;
  std::string quote_identifier(std::string_view text) const;

  /// Throws Error describing the connection's last failure.
  [[noreturn]] void fail(const std::string& context, PGresult* result = nullptr) const;
  /// Throws unless the result status is one of the expected ones.
  Result check(PGresult* result, const std::string& context, ExecStatusType expected,
               ExecStatusType also = PGRES_COMMAND_OK) const;

 private:
  PGconn* conn_ = nullptr;
};

/// "schema.table" as (schema, table); a name without a schema is in public.
std::pair<std::string, std::string> split_table_name(const std::string& table);

/// Postgres array literal ({"a","b"}) of the given texts.
std::string array_literal(const std::vector<std::string>& values);

}  // namespace cdc::pg
