#include "json_writer.hpp"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cdc::sinks {
namespace {

/// rapidjson::Writer's escape table: the letter after '\\', 'u' for \u00XX, 0 for none.
constexpr char kEscape[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',  // 00
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',  // 10
    0,   0,   '"', 0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,    // 20
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,    // 30
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,    // 40
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   '\\', 0,  0,   0,    // 50
};  // 60..FF: 0

/// The first character of [p, end) that needs an escape, or end.
const char* next_to_escape(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i below_space = _mm_set1_epi8(0x1F);
  // Unaligned loads that stay inside [p, end): no read past the text.
  for (; end - p >= 16; p += 16) {
    const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(block, below_space), below_space);  // byte < 0x20
    const __m128i hits =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(block, quote), _mm_cmpeq_epi8(block, backslash)), control);
    const int mask = _mm_movemask_epi8(hits);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
  }
#endif
  while (p != end && kEscape[static_cast<unsigned char>(*p)] == 0) ++p;
  return p;
}

}  // namespace

void append_json_string(rapidjson::StringBuffer& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  // Worst case: every byte as \u00XX, plus the quotes.
  char* const start = out.Push(text.size() * 6 + 2);
  char* d = start;
  *d++ = '"';
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p != end) {
    const char* const run_end = next_to_escape(p, end);
    std::memcpy(d, p, static_cast<std::size_t>(run_end - p));
    d += run_end - p;
    p = run_end;
    if (p == end) break;
    const unsigned char c = static_cast<unsigned char>(*p++);
    const char escape = kEscape[c];
    *d++ = '\\';
    *d++ = escape;
    if (escape == 'u') {
      *d++ = '0';
      *d++ = '0';
      *d++ = kHex[c >> 4];
      *d++ = kHex[c & 15];
    }
  }
  *d++ = '"';
  out.Pop(text.size() * 6 + 2 - static_cast<std::size_t>(d - start));
}

}  // namespace cdc::sinks
