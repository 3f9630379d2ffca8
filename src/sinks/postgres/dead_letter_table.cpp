#include "cdc/sinks/postgres/dead_letter_table.hpp"

#include "cdc/core/pg_time.hpp"
#include "cdc/sinks/dead_letter.hpp"

namespace cdc::sinks {

const char* const kDeadLetterInsert =
    "INSERT INTO customer_cdc.dead_letter (slot_name, wal_lsn, source_xid, source_commit_time, reason, "
    "raw_message, commit_lsn) VALUES ($1, $2::pg_lsn, $3::bigint, $4::timestamptz, $5, decode($6, 'base64'), "
    "$7::pg_lsn) ON CONFLICT (slot_name, wal_lsn) DO NOTHING";

pg::Params dead_letter_params(const std::string& slot, const TxnInfo& txn, const DeadLetter& letter) {
  return {slot,
          format_lsn(letter.wal_position),
          std::to_string(txn.xid),
          format_timestamp_utc(txn.commit_time_us),
          printable_utf8(letter.reason),
          base64_encode(letter.raw),
          format_lsn(txn.commit_lsn)};
}

}  // namespace cdc::sinks
