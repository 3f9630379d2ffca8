#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdc::pg {

/// The keywords a libpq connection string ("host=... dbname=..." or a
/// postgresql:// URI) sets, in libpq's keyword order; unset ones are left out.
struct ConninfoOptions {
  std::vector<std::string> keys;
  std::vector<std::string> values;  ///< values[i] belongs to keys[i]

  /// The value set for `key`, or nullopt.
  std::optional<std::string> find(std::string_view key) const;
};

/// nullopt when libpq cannot parse `conninfo`; `libpq_error` then gets
/// libpq's message, which may quote pieces of the conninfo (the password):
/// show it only through without_quoted_text.
std::optional<ConninfoOptions> parse_conninfo(const std::string& conninfo, std::string* libpq_error = nullptr);

/// A libpq parse error with each quoted piece replaced by "...".
std::string without_quoted_text(const std::string& message);

/// Why libpq cannot parse a conninfo (never quoting it), or nullopt when it can.
std::optional<std::string> conninfo_problem(const std::string& conninfo);

/// Host, port and database named by a conninfo, for log lines (never the password).
std::string describe_conninfo(const std::string& conninfo);

}  // namespace cdc::pg
