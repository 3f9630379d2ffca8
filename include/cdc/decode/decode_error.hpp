#pragma once
#include <string>
#include <string_view>

#include "cdc/core/errors.hpp"
#include "cdc/core/lsn.hpp"

namespace cdc::decode {

/// A message of the output plugin that cannot be decoded. what() names the
/// plugin and the WAL position and quotes the start of the raw message.
class DecodeError : public CategorizedError<ErrorCategory::Poison> {
 public:
  DecodeError(std::string_view plugin, const std::string& reason, Lsn wal_position, std::string_view raw);
  const std::string& reason() const { return reason_; }
  Lsn wal_position() const { return wal_position_; }

 private:
  std::string reason_;
  Lsn wal_position_;
};

/// The first ~200 bytes of a raw message for a log line: cut on a UTF-8
/// boundary, control characters (and bytes of a binary message) shown as spaces.
std::string quote_raw(std::string_view raw);

}  // namespace cdc::decode
