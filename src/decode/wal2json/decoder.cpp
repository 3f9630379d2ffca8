#include "cdc/decode/wal2json/wal2json.hpp"

namespace cdc::decode {
namespace {

std::string escape_table_name(const std::string& table) {
  // wal2json's add-tables separates with commas; a literal comma is escaped with a backslash.
  std::string out;
  for (char c : table) {
    if (c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

/// wal2json v2 writes "action" first: {"action":"I",...
constexpr std::string_view kActionPrefix = R"({"action":")";

bool is_row_action(std::string_view payload) {
  if (payload.size() <= kActionPrefix.size() || payload.substr(0, kActionPrefix.size()) != kActionPrefix) {
    return false;
  }
  const char action = payload[kActionPrefix.size()];
  return action == 'I' || action == 'U' || action == 'D';
}

}  // namespace

PluginOptions wal2json_options(const std::vector<std::string>& tables) {
  std::string add_tables;
  for (const auto& table : tables) {
    if (!add_tables.empty()) add_tables += ',';
    add_tables += escape_table_name(table);
  }
  return {{"format-version", "2"}, {"include-xids", "1"},      {"include-timestamp", "1"},
          {"include-lsn", "1"},    {"include-transaction", "1"}, {"add-tables", add_tables}};
}

// A garbled commit that is not recognised stops at the next begin instead.
bool is_transaction_frame(std::string_view payload) {
  const auto at = payload.find("\"action\"");
  if (at == std::string_view::npos || at > 8) return false;
  const std::string_view rest = payload.substr(at + 8, 8);
  const auto quote = rest.find('"');
  if (quote == std::string_view::npos || quote + 1 >= rest.size()) return false;
  const char action = rest[quote + 1];
  return action == 'B' || action == 'C';
}

PluginOptions Wal2jsonDecoder::start_options(const std::vector<std::string>& tables) const {
  return wal2json_options(tables);
}

void Wal2jsonDecoder::decode(std::string_view payload, Lsn wal_position, ChangeOutput& out) {
  decode_wal2json(payload, wal_position, out.next_change(is_row_action(payload)));
}

bool Wal2jsonDecoder::bounds_transaction(std::string_view payload) const { return is_transaction_frame(payload); }

std::string Wal2jsonDecoder::describe(const Change& change) const { return describe_change(change); }

}  // namespace cdc::decode
