#pragma once
#include <string>

#include "cdc/core/pg.hpp"
#include "cdc/sinks/sink.hpp"

namespace cdc::sinks {

/// The INSERT into customer_cdc.dead_letter for `letter` of `txn`, with
/// $1..$7 = slot, WAL position, xid, commit time, reason, raw (base64), commit LSN.
extern const char* const kDeadLetterInsert;
pg::Params dead_letter_params(const std::string& slot, const TxnInfo& txn, const DeadLetter& letter);

}  // namespace cdc::sinks
