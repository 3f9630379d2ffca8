#include "cdc/core/pg.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "cdc/core/array_literal.hpp"
#include "cdc/core/conninfo.hpp"

namespace cdc::pg {
namespace {

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

Connection::Connection(const std::string& conninfo,
                       const std::vector<std::pair<std::string, std::string>>& extra) {
  std::string parse_error;
  std::optional<ConninfoOptions> parsed = parse_conninfo(conninfo, &parse_error);
  if (!parsed) throw Error("invalid postgres.dsn: " + without_quoted_text(parse_error), "", false);
  ConninfoOptions& options = *parsed;
  bool has_application_name = false;
  for (const auto& key : options.keys) has_application_name |= key == "application_name";
  if (!has_application_name) {
    options.keys.emplace_back("application_name");
    options.values.emplace_back("customer-cdc");
  }
  for (const auto& [key, value] : extra) {
    const auto existing = std::find(options.keys.begin(), options.keys.end(), key);
    if (existing == options.keys.end()) {
      options.keys.push_back(key);
      options.values.push_back(value);
    } else if (key == "options") {
      // Server options from the DSN and ours both apply.
      options.values[static_cast<std::size_t>(existing - options.keys.begin())] += " " + value;
    } else {
      options.values[static_cast<std::size_t>(existing - options.keys.begin())] = value;
    }
  }
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (std::size_t i = 0; i < options.keys.size(); ++i) {
    keys.push_back(options.keys[i].c_str());
    values.push_back(options.values[i].c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectdbParams(keys.data(), values.data(), 0);
  if (conn_ == nullptr) throw Error("cannot connect to PostgreSQL: out of memory", "", true);
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string message = trim(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    throw Error(fmt::format("cannot connect to PostgreSQL at {}: {}", describe_conninfo(conninfo), message),
                "", true);
  }
}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

void Connection::fail(const std::string& context, PGresult* result) const {
  std::string sqlstate;
  std::string message;
  if (result != nullptr) {
    if (const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE)) sqlstate = state;
    message = trim(PQresultErrorMessage(result));
  }
  if (message.empty()) message = trim(PQerrorMessage(conn_));
  const bool lost = PQstatus(conn_) != CONNECTION_OK || sqlstate.starts_with("08") ||
                    sqlstate.starts_with("57P");
  throw Error(context + ": " + message, sqlstate, lost);
}

Result Connection::check(PGresult* result, const std::string& context, ExecStatusType expected,
                         ExecStatusType also) const {
  Result owned(result);
  if (result == nullptr) fail(context);
  const ExecStatusType status = PQresultStatus(result);
  if (status != expected && status != also) fail(context, result);
  return owned;
}

Result Connection::exec(const std::string& sql) {
  return check(PQexec(conn_, sql.c_str()), "query failed", PGRES_TUPLES_OK, PGRES_COMMAND_OK);
}

Result Connection::exec_params(const std::string& sql, const Params& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  return check(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                            nullptr, nullptr, 0),
               "query failed", PGRES_TUPLES_OK, PGRES_COMMAND_OK);
}

std::optional<Result> Connection::exec_with_deadline(const std::string& sql, std::chrono::milliseconds timeout) {
  if (PQsendQuery(conn_, sql.c_str()) == 0) fail("query failed");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  while (PQisBusy(conn_) != 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fd{PQsocket(conn_), POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) fail("poll failed");
    if (PQconsumeInput(conn_) == 0) fail("query failed");
  }
  if (timed_out) {
    if (PGcancel* cancel = PQgetCancel(conn_)) {
      char error[256];
      PQcancel(cancel, error, sizeof error);
      PQfreeCancel(cancel);
    }
    while (PGresult* r = PQgetResult(conn_)) PQclear(r);  // the cancelled command's error
    return std::nullopt;
  }
  PGresult* result = PQgetResult(conn_);
  while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
  return check(result, "query failed", PGRES_TUPLES_OK, PGRES_COMMAND_OK);
}

std::string Connection::quote_literal(std::string_view text) const {
  char* quoted = PQescapeLiteral(conn_, text.data(), text.size());
  if (quoted == nullptr) fail("cannot quote literal");
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

std::string Connection::quote_identifier(std::string_view text) const {
  char* quoted = PQescapeIdentifier(conn_, text.data(), text.size());
  if (quoted == nullptr) fail("cannot quote identifier");
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

std::pair<std::string, std::string> split_table_name(const std::string& table) {
  const auto dot = table.find('.');
  if (dot == std::string::npos) return {"public", table};
  return {table.substr(0, dot), table.substr(dot + 1)};
}

std::string array_literal(const std::vector<std::string>& values) {
  ArrayLiteral literal;
  for (const std::string& value : values) literal.add(value);
  return literal.take();
}

}  // namespace cdc::pg
