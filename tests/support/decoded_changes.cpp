#include "support/decoded_changes.hpp"

#include <fstream>
#include <stdexcept>

namespace cdc::testing {

std::vector<decode::Change> decode_all(decode::Decoder& decoder, const std::vector<PluginMessage>& messages) {
  CollectedChanges out;
  for (const PluginMessage& message : messages) decoder.decode(message.payload, message.lsn, out);
  return {std::make_move_iterator(out.changes.begin()), std::make_move_iterator(out.changes.end())};
}

namespace {

std::string from_hex(const std::string& hex) {
  if (hex.size() % 2 != 0) throw std::runtime_error("odd hex length");
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

}  // namespace

std::vector<PluginMessage> load_plugin_messages(const std::string& path, bool hex) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<PluginMessage> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const auto space = line.find(' ');
    const auto lsn = parse_lsn(line.substr(0, space));
    if (space == std::string::npos || !lsn) throw std::runtime_error("bad fixture line in " + path + ": " + line);
    const std::string payload = line.substr(space + 1);
    out.push_back({*lsn, hex ? from_hex(payload) : payload});
  }
  return out;
}

std::vector<std::string> comparable(const std::vector<decode::Change>& changes) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const decode::Change& change = changes[i];
    if (change.action == decode::Action::Begin && i + 1 < changes.size() &&
        changes[i + 1].action == decode::Action::Commit) {
      ++i;  // an empty transaction
      continue;
    }
    std::string line = decode::describe_change(change);
    if (change.action != decode::Action::Begin) line += " next_lsn=" + format_lsn(change.next_lsn);
    if (change.action == decode::Action::Message) {
      line += std::string(" transactional=") + (change.transactional ? "1" : "0") + " prefix=" + change.prefix +
              " content=" + change.content;
    }
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace cdc::testing
