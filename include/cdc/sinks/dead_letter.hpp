#pragma once
#include <string>
#include <string_view>

#include "cdc/sinks/sink.hpp"

namespace cdc::sinks {

/// Standard base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view bytes);

/// `text` with every byte that is not part of valid UTF-8 (and NUL) replaced by '?'.
std::string printable_utf8(std::string_view text);

/// The Kafka message value for <prefix>.dead_letter: {"lsn","commitLsn","txId",
/// "ts_ms","db","reason","raw"} with "raw" as a string when the message is
/// valid UTF-8, else "raw_base64".
std::string dead_letter_message(const TxnInfo& txn, const DeadLetter& letter, const std::string& db);

}  // namespace cdc::sinks
