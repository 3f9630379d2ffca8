#include "cdc/core/pg_time.hpp"
#include "cdc/decode/wal2json/wal2json.hpp"

// SSE2 is part of the x86-64 baseline; it lets RapidJSON scan strings and
// whitespace 16 bytes at a time (about a third fewer instructions per message).
// See kParseFlags for why this stays local to this file.
#if defined(__SSE2__) && !defined(RAPIDJSON_SSE2) && !defined(RAPIDJSON_SSE42)
#define RAPIDJSON_SSE2
#endif
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

namespace cdc::decode {

namespace {

constexpr std::string_view kPlugin = "wal2json";

/// RapidJSON parses nested containers recursively: a skipped value nested
/// deeper than this is rejected instead of exhausting the reader's stack.
constexpr unsigned kMaxSkipDepth = 64;

// ---------------------------------------------------------------------------
// SAX decoding
//
// A SAX handler (rather than a DOM) because kParseNumbersAsStringsFlag makes a
// DOM store numbers as ordinary strings, losing the number/string distinction
// that ValueKind needs; it also avoids building a tree we would copy out of.

enum class Kind : std::uint8_t { Null, Bool, Number, String, Object, Array };

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::Null: return "null";
    case Kind::Bool: return "boolean";
    case Kind::Number: return "number";
    case Kind::String: return "string";
    case Kind::Object: return "object";
    case Kind::Array: return "array";
  }
  return "?";
}

// Top-level fields; the enumerator value is the bit index in Handler::seen_.
enum class Field : std::uint8_t {
  Action,
  Xid,
  Timestamp,
  Lsn,
  NextLsn,
  Schema,
  Table,
  Columns,
  Identity,
  Transactional,
  Prefix,
  Content,
  Unknown,
};

constexpr const char* kFieldNames[] = {"action", "xid",      "timestamp",     "lsn",    "nextlsn",
                                       "schema", "table",    "columns",       "identity",
                                       "transactional",      "prefix",        "content"};

constexpr std::uint32_t bit(Field f) { return 1u << static_cast<unsigned>(f); }

Field lookup_field(std::string_view key) {
  switch (key.size()) {
    case 3:
      if (key == "xid") return Field::Xid;
      if (key == "lsn") return Field::Lsn;
      break;
    case 5:
      if (key == "table") return Field::Table;
      break;
    case 6:
      if (key == "action") return Field::Action;
      if (key == "schema") return Field::Schema;
      if (key == "prefix") return Field::Prefix;
      break;
    case 7:
      if (key == "nextlsn") return Field::NextLsn;
      if (key == "columns") return Field::Columns;
      if (key == "content") return Field::Content;
      break;
    case 8:
      if (key == "identity") return Field::Identity;
      break;
    case 9:
      if (key == "timestamp") return Field::Timestamp;
      break;
    case 13:
      if (key == "transactional") return Field::Transactional;
      break;
    default:
      break;
  }
  return Field::Unknown;
}

enum class ColField : std::uint8_t { Name, Type, Value, Unknown };
constexpr const char* kColFieldNames[] = {"name", "type", "value"};

ColField lookup_col_field(std::string_view key) {
  if (key == "name") return ColField::Name;
  if (key == "type") return ColField::Type;
  if (key == "value") return ColField::Value;
  return ColField::Unknown;
}

/// Short rendering of a scalar for error messages: `string "abc"`, `number 1.5`.
std::string describe(Kind kind, std::string_view text) {
  std::string out = kind_name(kind);
  if (kind == Kind::String || kind == Kind::Number) {
    constexpr std::size_t kMax = 40;
    out += ' ';
    if (kind == Kind::String) out += '"';
    out.append(text.substr(0, kMax));
    if (text.size() > kMax) out += "...";
    if (kind == Kind::String) out += '"';
  }
  return out;
}

/// JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view s) {
  std::size_t i = 0;
  auto digit = [&](std::size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '9'; };
  if (i < s.size() && s[i] == '-') ++i;
  if (!digit(i)) return false;
  if (s[i] == '0') {
    ++i;
  } else {
    while (digit(i)) ++i;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  return i == s.size();
}

class Handler {
 public:
  using Ch = char;

  Handler(Change& change, bool numbers_quoted) : change_(change), numbers_quoted_(numbers_quoted) {}

  const std::string& error() const { return error_; }
  struct Summary {
    std::uint32_t seen = 0;  ///< bit(Field) of every top-level field present
    bool xid_null = false;
    bool timestamp_null = false;
  };
  Summary summary() const { return {seen_, xid_null_, timestamp_null_}; }

  /// Drops the columns of a recycled Change beyond those this message had.
  void trim_columns() {
    change_.columns.resize(column_count_);
    change_.identity.resize(identity_count_);
  }

  // --- scalars ------------------------------------------------------------
  bool Null() { return scalar(Kind::Null, {}); }
  bool Bool(bool b) { return scalar(Kind::Bool, b ? std::string_view("true") : std::string_view("false")); }
  bool RawNumber(const char* str, rapidjson::SizeType len, bool) {
    return scalar(Kind::Number, std::string_view(str, len));
  }
  bool String(const char* str, rapidjson::SizeType len, bool) {
    std::string_view text(str, len);
    // Fallback pass: numbers too large for RapidJSON were rewritten as
    // "\u0000<digits>". PostgreSQL text can never contain NUL, so the marker
    // cannot collide with a real value.
    if (numbers_quoted_ && !text.empty() && text.front() == '\0') {
      text.remove_prefix(1);
      if (!is_json_number(text)) return fail("invalid JSON number '" + std::string(text) + "'");
      return scalar(Kind::Number, text);
    }
    return scalar(Kind::String, text);
  }
  // Never called with kParseNumbersAsStringsFlag; defined for the Handler concept.
  bool Int(int) { return unexpected_number(); }
  bool Uint(unsigned) { return unexpected_number(); }
  bool Int64(std::int64_t) { return unexpected_number(); }
  bool Uint64(std::uint64_t) { return unexpected_number(); }
  bool Double(double) { return unexpected_number(); }

  // --- containers ---------------------------------------------------------
  bool StartObject() {
    if (skip_ > 0) return ++skip_ <= kMaxSkipDepth || fail("JSON nested more than 64 levels deep");
    switch (state_) {
      case State::Start:
        state_ = State::Root;
        return true;
      case State::Root:
        return container_in_root(Kind::Object);
      case State::Array:
        // Reuse the columns (and their strings' capacity) of a recycled Change.
        if (*count_ < cols_->size()) {
          Column& col = (*cols_)[*count_];
          col.name.clear();
          col.type.clear();
          col.kind = ValueKind::Null;
          col.text.clear();
        } else {
          cols_->emplace_back();
        }
        ++*count_;
        col_seen_ = 0;
        state_ = State::Column;
        return true;
      case State::Column:
        return container_in_column(Kind::Object);
      case State::End:
        break;
    }
    return fail("unexpected object");
  }

  bool EndObject(rapidjson::SizeType) {
    if (skip_ > 0) return --skip_, true;
    if (state_ == State::Column) {
      for (ColField f : {ColField::Name, ColField::Type, ColField::Value}) {
        if (!(col_seen_ & col_bit(f))) {
          return fail(column_where() + " has no '" + kColFieldNames[static_cast<int>(f)] + "'");
        }
      }
      state_ = State::Array;
      return true;
    }
    state_ = State::End;  // root object closed
    return true;
  }

  bool StartArray() {
    if (skip_ > 0) return ++skip_ <= kMaxSkipDepth || fail("JSON nested more than 64 levels deep");
    switch (state_) {
      case State::Start:
        return fail("message is not a JSON object but an array");
      case State::Root:
        if (field_ == Field::Columns || field_ == Field::Identity) {
          cols_ = field_ == Field::Columns ? &change_.columns : &change_.identity;
          count_ = field_ == Field::Columns ? &column_count_ : &identity_count_;
          // One allocation for typical tables instead of 1, 2, 4, 8, 16...
          cols_->reserve(std::max<std::size_t>(16, change_.columns.size()));
          state_ = State::Array;
          return true;
        }
        return container_in_root(Kind::Array);
      case State::Array:
        return fail("element #" + std::to_string(*count_ + 1) + " of '" + array_name() +
                    "' must be an object, got array");
      case State::Column:
        return container_in_column(Kind::Array);
      case State::End:
        break;
    }
    return fail("unexpected array");
  }

  bool EndArray(rapidjson::SizeType) {
    if (skip_ > 0) return --skip_, true;
    state_ = State::Root;  // only State::Array can see an EndArray here
    return true;
  }

  bool Key(const char* str, rapidjson::SizeType len, bool) {
    if (skip_ > 0) return true;
    const std::string_view key(str, len);
    if (state_ == State::Root) {
      field_ = lookup_field(key);
      if (field_ != Field::Unknown) {
        if (seen_ & bit(field_)) return fail("duplicate field '" + std::string(key) + "'");
        seen_ |= bit(field_);
      }
      return true;
    }
    // State::Column
    col_field_ = lookup_col_field(key);
    if (col_field_ != ColField::Unknown) {
      if (col_seen_ & col_bit(col_field_)) {
        return fail(column_where() + " has a duplicate '" + std::string(key) + "'");
      }
      col_seen_ |= col_bit(col_field_);
    }
    return true;
  }

 private:
  enum class State : std::uint8_t { Start, Root, Array, Column, End };

  static constexpr std::uint8_t col_bit(ColField f) {
    return static_cast<std::uint8_t>(1u << static_cast<unsigned>(f));
  }

  bool fail(std::string reason) {
    error_ = std::move(reason);
    return false;
  }

  bool unexpected_number() { return fail("internal error: number not delivered as text"); }

  std::string field_name() const { return kFieldNames[static_cast<int>(field_)]; }
  std::string array_name() const { return cols_ == &change_.columns ? "columns" : "identity"; }

  std::string column_where() const {
    const Column& col = (*cols_)[*count_ - 1];
    std::string where = "column #" + std::to_string(*count_);
    if (!col.name.empty()) where += " ('" + col.name + "')";
    return where + " of '" + array_name() + "'";
  }

  bool type_error(const char* expected, Kind got, std::string_view text) {
    return fail("field '" + field_name() + "' must be " + expected + ", got " + describe(got, text));
  }

  bool container_in_root(Kind kind) {
    if (field_ == Field::Unknown) {
      skip_ = 1;
      return true;
    }
    return root_scalar_type_error(kind, {});
  }

  bool container_in_column(Kind kind) {
    if (col_field_ == ColField::Unknown) {
      skip_ = 1;
      return true;
    }
    return column_type_error(kind, {});
  }

  bool column_type_error(Kind got, std::string_view text) {
    const char* expected =
        col_field_ == ColField::Value ? "null, boolean, number or string" : "a string";
    return fail(column_where() + ": '" + kColFieldNames[static_cast<int>(col_field_)] + "' must be " +
                expected + ", got " + describe(got, text));
  }

  bool root_scalar_type_error(Kind got, std::string_view text) {
    switch (field_) {
      case Field::Xid: return type_error("an unsigned 32-bit integer", got, text);
      case Field::Transactional: return type_error("a boolean", got, text);
      case Field::Timestamp: return type_error("a timestamp string", got, text);
      case Field::Lsn:
      case Field::NextLsn: return type_error("an LSN string", got, text);
      case Field::Columns:
      case Field::Identity: return type_error("an array", got, text);
      default: return type_error("a string", got, text);
    }
  }

  bool scalar(Kind kind, std::string_view text) {
    if (skip_ > 0) return true;
    switch (state_) {
      case State::Root: return root_scalar(kind, text);
      case State::Column: return column_scalar(kind, text);
      case State::Array:
        return fail("element #" + std::to_string(*count_ + 1) + " of '" + array_name() +
                    "' must be an object, got " + describe(kind, text));
      case State::Start:
      case State::End: break;
    }
    return fail("message is not a JSON object but " + describe(kind, text));
  }

  bool column_scalar(Kind kind, std::string_view text) {
    Column& col = (*cols_)[*count_ - 1];
    switch (col_field_) {
      case ColField::Name:
        if (kind != Kind::String) return column_type_error(kind, text);
        col.name.assign(text);
        return true;
      case ColField::Type:
        if (kind != Kind::String) return column_type_error(kind, text);
        col.type.assign(text);
        return true;
      case ColField::Value:
        switch (kind) {
          case Kind::Null: col.kind = ValueKind::Null; break;
          case Kind::Bool: col.kind = ValueKind::Bool; break;
          case Kind::Number: col.kind = ValueKind::Number; break;
          default: col.kind = ValueKind::String; break;
        }
        col.text.assign(text);
        return true;
      case ColField::Unknown:
        return true;
    }
    return true;
  }

  bool root_scalar(Kind kind, std::string_view text) {
    switch (field_) {
      case Field::Action:
        if (kind != Kind::String) return type_error("a string", kind, text);
        if (text.size() == 1) {
          switch (text[0]) {
            case 'B': case 'C': case 'I': case 'U': case 'D': case 'T': case 'M':
              change_.action = static_cast<Action>(text[0]);
              return true;
            default: break;
          }
        }
        return fail("unknown action '" + std::string(text.substr(0, 40)) + "'");
      case Field::Xid: {
        if (kind == Kind::Null) {
          xid_null_ = true;
          return true;
        }
        std::uint32_t xid = 0;
        const char* end = text.data() + text.size();
        if (kind == Kind::Number) {
          auto [ptr, ec] = std::from_chars(text.data(), end, xid);
          if (ec == std::errc() && ptr == end) {
            change_.xid = xid;
            return true;
          }
        }
        return type_error("an unsigned 32-bit integer", kind, text);
      }
      case Field::Timestamp: {
        if (kind == Kind::Null) {
          timestamp_null_ = true;
          return true;
        }
        if (kind != Kind::String) return type_error("a timestamp string", kind, text);
        const auto us = parse_pg_timestamp(text);
        if (!us) return fail("field 'timestamp' is not a valid timestamp: \"" + std::string(text.substr(0, 60)) + '"');
        change_.timestamp_us = *us;
        return true;
      }
      case Field::Lsn:
      case Field::NextLsn: {
        if (kind != Kind::String) return type_error("an LSN string", kind, text);
        const auto lsn = parse_lsn(text);
        if (!lsn) return fail("field '" + field_name() + "' is not a valid LSN: \"" + std::string(text.substr(0, 40)) + '"');
        (field_ == Field::Lsn ? change_.lsn : change_.next_lsn) = *lsn;
        return true;
      }
      case Field::Schema:
      case Field::Table:
      case Field::Prefix:
      case Field::Content: {
        if (kind != Kind::String) return type_error("a string", kind, text);
        std::string& target = field_ == Field::Schema   ? change_.schema
                              : field_ == Field::Table  ? change_.table
                              : field_ == Field::Prefix ? change_.prefix
                                                        : change_.content;
        target.assign(text);
        return true;
      }
      case Field::Transactional:
        if (kind != Kind::Bool) return type_error("a boolean", kind, text);
        change_.transactional = text == "true";
        return true;
      case Field::Columns:
      case Field::Identity:
        return type_error("an array", kind, text);
      case Field::Unknown:
        return true;
    }
    return true;
  }

  Change& change_;
  bool numbers_quoted_;
  State state_ = State::Start;
  Field field_ = Field::Unknown;
  ColField col_field_ = ColField::Unknown;
  std::vector<Column>* cols_ = nullptr;
  std::size_t* count_ = nullptr;   ///< columns decoded so far into *cols_
  std::size_t column_count_ = 0;
  std::size_t identity_count_ = 0;
  unsigned skip_ = 0;
  std::uint32_t seen_ = 0;
  std::uint8_t col_seen_ = 0;
  bool xid_null_ = false;
  bool timestamp_null_ = false;
  std::string error_;
};

/// Rewrites every number outside strings as the string "\u0000<number>" so that
/// RapidJSON 1.1 (which rejects integers beyond double range even with
/// kParseNumbersAsStringsFlag, e.g. numeric 1e400 printed as 401 digits) can
/// parse it; Handler turns such strings back into numbers.
std::string quote_numbers(std::string_view json) {
  auto is_number_char = [](char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
  };
  std::string out;
  out.reserve(json.size() + json.size() / 8 + 16);
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < json.size()) {
        out += json[++i];
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
      out += c;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t j = i;
      while (j < json.size() && is_number_char(json[j])) ++j;
      out += "\"\\u0000";
      out.append(json.substr(i, j - i));
      out += '"';
      i = j - 1;
    } else {
      out += c;
    }
  }
  return out;
}

// In-situ: strings are unescaped inside our copy of the message instead of
// being pushed through the reader's stack. The extra bit is not a RapidJSON
// flag (RapidJSON ignores unknown bits); it only makes our template
// instantiations distinct from any other file's, so defining RAPIDJSON_SSE2
// here cannot lead to two different bodies of one inline function (ODR).
constexpr unsigned kPrivateInstantiationBit = 1u << 24;
constexpr unsigned kParseFlags =
    rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseInsituFlag | kPrivateInstantiationBit;

/// Runs the SAX parse; returns an empty string on success, else the reason.
/// Sets too_big when RapidJSON gave up on a number's magnitude.
std::string run_parse(std::string_view json, Handler& handler, bool& too_big) {
  // The reader and the in-situ buffer are reused between calls, except for
  // unusually large messages, so one huge TOAST value does not pin memory for
  // the life of the thread.
  struct Scratch {
    rapidjson::Reader reader;
    std::string buffer;
  };
  constexpr std::size_t kReuseLimit = 1 << 20;
  thread_local Scratch cached;
  std::optional<Scratch> oversized;
  Scratch& scratch = json.size() <= kReuseLimit ? cached : oversized.emplace();

  // The SSE2 scanners load aligned 16-byte blocks, so they may read up to 15
  // bytes past the terminating NUL: keep that slack inside the allocation.
  scratch.buffer.reserve(json.size() + 16);
  scratch.buffer.assign(json.data(), json.size());  // NUL-terminated by std::string
  rapidjson::InsituStringStream stream(scratch.buffer.data());
  const rapidjson::ParseResult result = scratch.reader.Parse<kParseFlags>(stream, handler);

  too_big = false;
  if (!result.IsError()) return {};
  if (result.Code() == rapidjson::kParseErrorTermination && !handler.error().empty()) {
    return handler.error();
  }
  if (result.Code() == rapidjson::kParseErrorNumberTooBig) too_big = true;
  return "invalid JSON at offset " + std::to_string(result.Offset()) + ": " +
         rapidjson::GetParseError_En(result.Code());
}

std::uint32_t required_fields(Action action) {
  constexpr std::uint32_t common = bit(Field::Xid) | bit(Field::Timestamp) | bit(Field::Lsn);
  constexpr std::uint32_t relation = common | bit(Field::Schema) | bit(Field::Table);
  switch (action) {
    case Action::Begin:
    case Action::Commit: return common | bit(Field::NextLsn);
    case Action::Insert:
    case Action::Update: return relation | bit(Field::Columns);
    case Action::Delete: return relation | bit(Field::Identity);
    case Action::Truncate: return relation;
    case Action::Message:
      return bit(Field::Timestamp) | bit(Field::Lsn) | bit(Field::Transactional) |
             bit(Field::Prefix) | bit(Field::Content);
    case Action::Read: break;  // snapshot reads only, never a wal2json action
  }
  return 0;
}

}  // namespace

Change decode_wal2json(std::string_view json, Lsn wal_position) {
  Change change;
  decode_wal2json(json, wal_position, change);
  return change;
}

namespace {

/// Resets every field of a recycled Change except the column vectors, whose
/// elements (and their strings' capacity) the handler reuses and then trims.
void reset_keeping_capacity(Change& change) {
  change.action = Action::Begin;
  change.xid = 0;
  change.lsn = 0;
  change.next_lsn = 0;
  change.timestamp_us = 0;
  change.clear_relation_and_message();
}

}  // namespace

void decode_wal2json(std::string_view json, Lsn wal_position, Change& change) {
  // RapidJSON treats NUL as the end of input; wal2json never emits one, so a
  // NUL means a damaged message whose tail would otherwise be ignored.
  if (const void* nul = std::memchr(json.data(), '\0', json.size())) {
    const auto offset = static_cast<const char*>(nul) - json.data();
    throw DecodeError(kPlugin, "message contains a NUL byte at offset " + std::to_string(offset), wal_position, json);
  }

  reset_keeping_capacity(change);
  Handler handler(change, false);
  bool too_big = false;
  std::string error = run_parse(json, handler, too_big);
  handler.trim_columns();
  Handler::Summary summary = handler.summary();
  if (too_big) {
    // Rare: a numeric beyond double range. Re-parse a copy with numbers quoted.
    change = Change{};
    const std::string quoted = quote_numbers(json);
    Handler retry(change, true);
    error = run_parse(quoted, retry, too_big);
    retry.trim_columns();
    summary = retry.summary();
  }
  if (!error.empty()) throw DecodeError(kPlugin, error, wal_position, json);

  const std::uint32_t seen = summary.seen;
  if (!(seen & bit(Field::Action))) throw DecodeError(kPlugin, "missing field 'action'", wal_position, json);

  const bool non_transactional_message = change.action == Action::Message &&
                                         (seen & bit(Field::Transactional)) && !change.transactional;
  std::uint32_t required = required_fields(change.action);
  if (change.action == Action::Message && !non_transactional_message) required |= bit(Field::Xid);
  for (unsigned f = 0; f < static_cast<unsigned>(Field::Unknown); ++f) {
    if ((required & (1u << f)) && !(seen & (1u << f))) {
      throw DecodeError(kPlugin, std::string("missing field '") + kFieldNames[f] + "' for action '" +
                            static_cast<char>(change.action) + "'",
                        wal_position, json);
    }
  }
  if (!non_transactional_message) {
    if (summary.xid_null) {
      throw DecodeError(kPlugin, "field 'xid' must be an unsigned 32-bit integer, got null", wal_position, json);
    }
    if (summary.timestamp_null) {
      throw DecodeError(kPlugin, "field 'timestamp' must be a timestamp string, got null", wal_position, json);
    }
  }

  if (change.action == Action::Update && !change.identity.empty()) fill_unchanged_toast(change);
}

}  // namespace cdc::decode
