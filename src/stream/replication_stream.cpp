#include "cdc/stream/replication_stream.hpp"

#include <poll.h>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

namespace cdc::stream {

void CopyBufferDeleter::operator()(char* p) const { PQfreemem(p); }

namespace {

std::string quote_option_value(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace

std::string start_replication_command(const std::string& slot, Lsn start, const PluginOptions& options) {
  std::string command = fmt::format("START_REPLICATION SLOT \"{}\" LOGICAL {}", slot, format_lsn(start));
  if (!options.empty()) {
    command += " (";
    for (std::size_t i = 0; i < options.size(); ++i) {
      if (i > 0) command += ", ";
      command += fmt::format("\"{}\" {}", options[i].first, quote_option_value(options[i].second));
    }
    command += ")";
  }
  return command;
}

ReplicationStream::ReplicationStream(const std::string& dsn)
    // Text output plugins print timestamps in the walsender's DateStyle and
    // TimeZone; pin both so the decoders always see ISO text in UTC.
    : conn_(dsn, {{"replication", "database"}, {"options", "-c DateStyle=ISO -c TimeZone=UTC"}}) {}

std::string slot_state_query(pg::Connection& conn, const std::string& slot) {
  return fmt::format(
      "SELECT slot_name, coalesce(plugin, ''), slot_type, coalesce(database::text, ''), active, active_pid, "
      "coalesce(restart_lsn, '0/0'), coalesce(confirmed_flush_lsn, '0/0'), "
      "CASE WHEN restart_lsn IS NULL THEN NULL ELSE pg_current_wal_lsn() - restart_lsn END, "
      "coalesce(wal_status, '') FROM pg_catalog.pg_replication_slots WHERE slot_name = {}",
      conn.quote_literal(slot));
}

std::optional<SlotState> slot_state_from(const pg::Result& result) {
  if (result.rows() == 0) return std::nullopt;
  SlotState state;
  state.name = result.value(0, 0);
  state.plugin = result.value(0, 1);
  state.slot_type = result.value(0, 2);
  state.database = result.value(0, 3);
  state.active = result.value(0, 4) == "t";
  if (!result.is_null(0, 5)) state.active_pid = std::stoi(std::string(result.value(0, 5)));
  state.restart_lsn = parse_lsn(result.value(0, 6)).value_or(0);
  state.confirmed_flush_lsn = parse_lsn(result.value(0, 7)).value_or(0);
  if (!result.is_null(0, 8)) state.retained_wal_bytes = std::stoll(std::string(result.value(0, 8)));
  state.wal_status = result.value(0, 9);
  return state;
}

std::optional<SlotState> ReplicationStream::slot_state(const std::string& slot) {
  // Replication connections accept only the simple query protocol.
  return slot_state_from(conn_.exec(slot_state_query(conn_, slot)));
}

std::string create_slot_command(const std::string& slot, const std::string& plugin, const SlotOptions& options,
                                int server_version) {
  std::string snapshot;
  if (server_version >= 150000) {
    static constexpr const char* kModes[] = {"(SNAPSHOT 'nothing')", "(SNAPSHOT 'export')", "(SNAPSHOT 'use')"};
    snapshot = kModes[static_cast<int>(options.snapshot)];
  } else {
    static constexpr const char* kModes[] = {"NOEXPORT_SNAPSHOT", "EXPORT_SNAPSHOT", "USE_SNAPSHOT"};
    snapshot = kModes[static_cast<int>(options.snapshot)];
  }
  return fmt::format("CREATE_REPLICATION_SLOT \"{}\" {}LOGICAL {} {}", slot, options.temporary ? "TEMPORARY " : "",
                     plugin, snapshot);
}

namespace {

CreatedSlot created_slot(const pg::Result& result) {
  if (result.rows() != 1 || result.columns() < 3) {
    throw pg::Error("CREATE_REPLICATION_SLOT returned an unexpected result", "", false);
  }
  CreatedSlot created;
  created.consistent_point = parse_lsn(result.value(0, 1)).value_or(0);
  if (!result.is_null(0, 2)) created.snapshot_name = result.value(0, 2);
  return created;
}

}  // namespace

CreatedSlot ReplicationStream::create_slot(const std::string& slot, const std::string& plugin,
                                           const SlotOptions& options) {
  return created_slot(conn_.exec(create_slot_command(slot, plugin, options, PQserverVersion(conn_.get()))));
}

std::optional<CreatedSlot> ReplicationStream::create_slot_within(const std::string& slot, const std::string& plugin,
                                                                 const SlotOptions& options,
                                                                 std::chrono::milliseconds timeout) {
  const std::optional<pg::Result> result =
      conn_.exec_with_deadline(create_slot_command(slot, plugin, options, PQserverVersion(conn_.get())), timeout);
  if (!result) return std::nullopt;
  return created_slot(*result);
}

void ReplicationStream::drop_slot(const std::string& slot) {
  conn_.exec(fmt::format("DROP_REPLICATION_SLOT \"{}\"", slot));
}

void ReplicationStream::start(const std::string& slot, Lsn start, const PluginOptions& options) {
  const std::string command = start_replication_command(slot, start, options);
  conn_.check(PQexec(conn_.get(), command.c_str()), "START_REPLICATION failed", PGRES_COPY_BOTH);
  streaming_ = true;
}

std::optional<Received> ReplicationStream::next(std::chrono::milliseconds timeout) {
  PGconn* conn = conn_.get();
  for (int attempt = 0; attempt < 2; ++attempt) {
    char* raw = nullptr;
    const int length = PQgetCopyData(conn, &raw, 1);
    if (length > 0) {
      Received received{CopyBuffer(raw), Keepalive{}};
      received.message = parse_copy_message(std::string_view(raw, static_cast<std::size_t>(length)));
      return received;
    }
    if (length == -1) {
      streaming_ = false;
      const pg::Result result(PQgetResult(conn));
      conn_.fail("the server ended the replication stream", result.get());
    }
    if (length == -2) conn_.fail("replication stream failed");
    if (attempt == 1) break;
    pollfd fd{PQsocket(conn), POLLIN, 0};
    const int ready = ::poll(&fd, 1, static_cast<int>(timeout.count()));
    if (ready < 0 && errno != EINTR) conn_.fail("poll on the replication socket failed");
    if (ready <= 0) return std::nullopt;
    if (PQconsumeInput(conn) == 0) conn_.fail("replication stream read failed");
  }
  return std::nullopt;
}

void ReplicationStream::flush_output() {
  PGconn* conn = conn_.get();
  for (;;) {
    const int rc = PQflush(conn);
    if (rc == 0) return;
    if (rc < 0) conn_.fail("cannot send to the server");
    pollfd fd{PQsocket(conn), POLLOUT, 0};
    ::poll(&fd, 1, 1000);
  }
}

void ReplicationStream::send_status(Lsn written, Lsn flushed, bool reply_requested) {
  const std::string message = build_status_update(written, flushed, flushed, pg_now_us(), reply_requested);
  if (PQputCopyData(conn_.get(), message.data(), static_cast<int>(message.size())) <= 0) {
    conn_.fail("cannot send standby status update");
  }
  flush_output();
}

void ReplicationStream::finish() {
  if (!streaming_) return;
  streaming_ = false;
  PGconn* conn = conn_.get();
  if (PQputCopyEnd(conn, nullptr) <= 0) return;
  flush_output();
  // Drain what the server still sends until it ends the COPY too. The backlog in
  // flight can be any number of messages, so the drain is bounded by time, not by
  // count; and while the COPY is open PQgetResult never returns NULL, so on
  // timeout give up on the connection (the final status was already sent).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    char* raw = nullptr;
    const int length = PQgetCopyData(conn, &raw, 1);
    if (raw != nullptr) PQfreemem(raw);
    if (length == -1) break;  // the server ended the COPY
    if (length == -2) return;
    if (length > 0) continue;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd fd{PQsocket(conn), POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(std::min<long long>(left.count(), 100))) > 0 && PQconsumeInput(conn) == 0) return;
  }
  while (PGresult* result = PQgetResult(conn)) {
    const ExecStatusType status = PQresultStatus(result);
    PQclear(result);
    if (status == PGRES_COPY_BOTH || status == PGRES_COPY_OUT || status == PGRES_COPY_IN) break;
  }
}

}  // namespace cdc::stream
