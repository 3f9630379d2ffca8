#include "cdc/core/json_number.hpp"

#include <algorithm>

#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace cdc {
namespace {

bool is_number_char(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/// Cheap proof that two JSON texts are not equal as jsonb, for the common
/// case of a decremented counter: the texts agree byte for byte up to a
/// number (outside strings) whose value differs. The same structure before it
/// puts both numbers at the same place, so their canonical forms differ there
/// (a canonical number is always followed by , ] } or the end). False means
/// "not proven": the full comparison decides.
bool differ_in_a_number(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  std::size_t i = 0;
  bool in_string = false;
  while (i < n && a[i] == b[i]) {
    if (in_string) {
      if (a[i] == '\\') {
        if (i + 1 >= n || a[i + 1] != b[i + 1]) return false;
        ++i;
      } else if (a[i] == '"') {
        in_string = false;
      }
    } else if (a[i] == '"') {
      in_string = true;
    }
    ++i;
  }
  if (in_string || i >= n) return false;
  std::size_t start = i;
  while (start > 0 && is_number_char(a[start - 1])) --start;
  auto token = [start](std::string_view text) -> std::optional<std::string_view> {
    const char first = text[start];
    if (first != '-' && (first < '0' || first > '9')) return std::nullopt;
    std::size_t end = start;
    while (end < text.size() && is_number_char(text[end])) ++end;
    return text.substr(start, end - start);
  };
  const auto x = token(a);
  const auto y = token(b);
  if (!x || !y) return false;
  const auto cx = canonical_number(*x);
  const auto cy = canonical_number(*y);
  return cx && cy && *cx != *cy;
}

/// Re-serialises JSON with every number in canonical form, so that two jsonb
/// texts are equal exactly when the jsonb values are. Key order needs no work:
/// both texts come from jsonb's output function, which sorts keys.
struct CanonicalWriter : rapidjson::Writer<rapidjson::StringBuffer> {
  using Base = rapidjson::Writer<rapidjson::StringBuffer>;
  using Base::Base;
  bool RawNumber(const Ch* str, rapidjson::SizeType length, bool /*copy*/) {
    const auto canonical = canonical_number({str, length});
    if (!canonical) return false;
    return Base::RawValue(canonical->data(), canonical->size(), rapidjson::kNumberType);  // Writer::RawNumber would quote it
  }
};

std::optional<std::string> canonical_json(std::string_view text) {
  rapidjson::StringBuffer buffer;
  CanonicalWriter writer(buffer);
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(text.data(), text.size());
  if (!reader.Parse<rapidjson::kParseNumbersAsStringsFlag>(stream, writer)) return std::nullopt;
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

std::optional<std::string> canonical_number(std::string_view number) {
  std::size_t i = 0;
  bool negative = false;
  if (i < number.size() && (number[i] == '-' || number[i] == '+')) negative = number[i++] == '-';
  std::string digits;
  long long point = -1;  // digits before the decimal point
  bool any_digit = false;
  for (; i < number.size(); ++i) {
    const char c = number[i];
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
      any_digit = true;
    } else if (c == '.' && point < 0) {
      point = static_cast<long long>(digits.size());
    } else {
      break;
    }
  }
  if (!any_digit) return std::nullopt;
  if (point < 0) point = static_cast<long long>(digits.size());
  if (i < number.size()) {
    if (number[i] != 'e' && number[i] != 'E') return std::nullopt;
    ++i;
    bool exp_negative = false;
    if (i < number.size() && (number[i] == '-' || number[i] == '+')) exp_negative = number[i++] == '-';
    long long exponent = 0;
    bool exp_digit = false;
    for (; i < number.size(); ++i) {
      if (number[i] < '0' || number[i] > '9') return std::nullopt;
      exponent = std::min(exponent * 10 + (number[i] - '0'), 100000LL);
      exp_digit = true;
    }
    if (!exp_digit) return std::nullopt;
    point += exp_negative ? -exponent : exponent;
  }
  // digits with the decimal point after `point` digits; normalise.
  while (point <= 0) {
    digits.insert(digits.begin(), '0');
    ++point;
  }
  while (static_cast<long long>(digits.size()) < point) digits.push_back('0');
  std::string integer = digits.substr(0, static_cast<std::size_t>(point));
  std::string fraction = digits.substr(static_cast<std::size_t>(point));
  while (integer.size() > 1 && integer.front() == '0') integer.erase(integer.begin());
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  const bool zero = integer == "0" && fraction.empty();
  std::string out = (negative && !zero) ? "-" : "";
  out += integer;
  if (!fraction.empty()) out += "." + fraction;
  return out;
}

bool jsonb_equal(const std::optional<std::string_view>& a, const std::optional<std::string_view>& b) {
  if (!a || !b) return a.has_value() == b.has_value();
  if (*a == *b) return true;
  if (differ_in_a_number(*a, *b)) return false;
  const auto ca = canonical_json(*a);
  const auto cb = canonical_json(*b);
  return ca && cb && *ca == *cb;
}

}  // namespace cdc
