#pragma once
// Hand-built pgoutput messages, big-endian as the server writes them, for the
// decoder's unit tests.
#include <cstdint>
#include <string>
#include <string_view>

namespace cdc::testing {

/// The WAL position the tests decode their messages at.
inline constexpr std::uint64_t kPosition = 0x16B374D848;
/// PostgreSQL timestamps count microseconds from 2000-01-01 00:00 UTC.
inline constexpr std::int64_t kUnixUsAt2000 = 946'684'800'000'000;
inline constexpr std::uint32_t kCustomer = 16411;
inline constexpr std::uint32_t kPlans = 16400;
inline constexpr const char* kUuid = "6f1c1d3e-2b4a-4c8e-9f10-3a5b7c9d1e2f";

/// Builds a pgoutput message, big-endian as the server writes it.
class Msg {
 public:
  explicit Msg(char type) { bytes_ += type; }
  Msg& u8(std::uint8_t v) { return bytes_ += static_cast<char>(v), *this; }
  Msg& i16(std::int16_t v) { return be(static_cast<std::uint16_t>(v), 2); }
  Msg& i32(std::int32_t v) { return be(static_cast<std::uint32_t>(v), 4); }
  Msg& i64(std::int64_t v) { return be(static_cast<std::uint64_t>(v), 8); }
  Msg& str(std::string_view s) { return bytes_.append(s), bytes_ += '\0', *this; }
  Msg& raw(std::string_view s) { return bytes_.append(s), *this; }
  Msg& text(std::string_view value) { return u8('t').i32(static_cast<std::int32_t>(value.size())).raw(value); }
  Msg& binary(std::string_view value) { return u8('b').i32(static_cast<std::int32_t>(value.size())).raw(value); }
  Msg& null() { return u8('n'); }
  Msg& unchanged() { return u8('u'); }
  /// A TupleData of customer_relation(): uuid, email, plan_id 2, remaining_resources.
  Msg& customer_row(std::string_view email, std::string_view resources) {
    return i16(4).text(kUuid).text(email).text("2").text(resources);
  }
  operator std::string() const { return bytes_; }

 private:
  Msg& be(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) bytes_ += static_cast<char>((v >> (8 * i)) & 0xFF);
    return *this;
  }
  std::string bytes_;
};

/// public.customer reduced to four columns: uuid (key), email varchar(255),
/// plan_id bigint, remaining_resources jsonb; replica identity `identity`.
inline std::string customer_relation(char identity = 'f', bool with_note = false) {
  const std::uint8_t key_of_others = identity == 'f' ? 1 : 0;
  Msg m('R');
  m.i32(kCustomer).str("public").str("customer").u8(static_cast<std::uint8_t>(identity)).i16(with_note ? 5 : 4);
  m.u8(1).str("uuid").i32(2950).i32(-1);
  m.u8(key_of_others).str("email").i32(1043).i32(259);
  m.u8(key_of_others).str("plan_id").i32(20).i32(-1);
  m.u8(key_of_others).str("remaining_resources").i32(3802).i32(-1);
  if (with_note) m.u8(key_of_others).str("note").i32(25).i32(-1);
  return m;
}

}  // namespace cdc::testing
