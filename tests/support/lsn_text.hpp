#pragma once
// An LSN the server printed (pg_lsn as text, wal2json's "lsn"), parsed with
// the product's cdc::parse_lsn; malformed text is a broken test setup, so it throws.

#include <stdexcept>
#include <string>

#include "cdc/core/lsn.hpp"

namespace cdc::testing {

inline Lsn lsn_of(const std::string& text) {
  const auto lsn = parse_lsn(text);
  if (!lsn) throw std::runtime_error("not an LSN: " + text);
  return *lsn;
}

}  // namespace cdc::testing
