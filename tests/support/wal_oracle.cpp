#include "support/wal_oracle.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <optional>
#include <stdexcept>

#include "cdc/core/pg_time.hpp"
#include "support/lsn_text.hpp"

namespace cdc::testing {
namespace {

constexpr int kChunk = 20000;

/// wal2json options: every change of the captured tables with its xid, LSN
/// and commit timestamp, framed by its transaction.
const std::string kOptions =
    "'format-version', '2', 'include-xids', '1', 'include-lsn', '1', 'include-timestamp', '1', "
    "'include-transaction', '1', 'add-tables', 'public.customer,public.plans'";

}  // namespace

void create_oracle_slot(PgCluster& pg, const std::string& slot) {
  pg.exec("SELECT 'x' FROM pg_create_logical_replication_slot('" + slot + "', 'wal2json')");
}

void WalOracle::peek(PgConn& conn) {
  const Rows rows = conn.query("SELECT data FROM pg_logical_slot_peek_changes($1, NULL, NULL, " + kOptions + ")",
                               {slot_});
  Lsn upto = 0;
  take(rows, upto);
}

bool WalOracle::drain(PgConn& conn) {
  try {
    for (;;) {
      const Rows rows = conn.query("SELECT data FROM pg_logical_slot_peek_changes($1, NULL, " +
                                       std::to_string(kChunk) + ", " + kOptions + ")",
                                   {slot_});
      if (rows.empty()) return true;
      Lsn upto = 0;
      take(rows, upto);
      if (upto == 0) return true;
      conn.query("SELECT 1 FROM pg_replication_slot_advance($1, $2::pg_lsn)", {slot_, format_lsn(upto)});
      if (rows.size() < static_cast<std::size_t>(kChunk)) return true;
    }
  } catch (const std::exception& e) {
    last_error_ = e.what();
    return false;
  }
}

void WalOracle::take(const Rows& rows, Lsn& upto) {
  std::optional<WalTxn> open;
  std::vector<WalChange> pending;
  for (const Row& row : rows) {
    if (!row[0]) continue;
    rapidjson::Document doc;
    doc.Parse(row[0]->c_str(), row[0]->size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("action")) {
      throw std::runtime_error("oracle: bad wal2json line " + row[0]->substr(0, 200));
    }
    const std::string action = doc["action"].GetString();
    if (action == "B") {
      open = WalTxn{};
      open->xid = doc["xid"].GetUint();
      const auto us = doc.HasMember("timestamp") && doc["timestamp"].IsString()
                          ? parse_pg_timestamp(doc["timestamp"].GetString())
                          : std::nullopt;
      open->commit_ms = us ? *us / 1000 : 0;
      pending.clear();
    } else if (action == "C") {
      if (!open) throw std::runtime_error("oracle: C without B");
      open->commit_lsn = lsn_of(doc["lsn"].GetString());
      open->end_lsn = lsn_of(doc["nextlsn"].GetString());
      upto = std::max(upto, open->end_lsn);
      const bool read_before = open->end_lsn <= last_end_;
      if (!read_before) last_end_ = open->end_lsn;
      if (!read_before && !pending.empty()) {
        txns_.push_back(*open);
        for (auto& change : pending) {
          change.txn = txns_.size() - 1;
          by_key_[{change.table, change.key}].push_back(ExpectedChange{change.lsn, change.op});
          changes_.push_back(std::move(change));
        }
      }
      open.reset();
    } else if (action == "I" || action == "U" || action == "D") {
      WalChange change;
      change.table = doc["table"].GetString();
      change.op = action == "I" ? 'c' : action == "U" ? 'u' : 'd';
      change.lsn = lsn_of(doc["lsn"].GetString());
      change.xid = doc["xid"].GetUint();
      const char* tuple = action == "D" ? "identity" : "columns";
      const std::string key_column = change.table == "customer" ? "uuid" : "id";
      for (const auto& column : doc[tuple].GetArray()) {
        if (key_column != column["name"].GetString()) continue;
        const rapidjson::Value& v = column["value"];
        change.key = v.IsString() ? v.GetString() : std::to_string(v.GetInt64());
      }
      pending.push_back(std::move(change));
    }
  }
}

}  // namespace cdc::testing
