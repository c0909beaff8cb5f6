// UTF-8 validation and the incremental decoder behind cuda_inference_next_token.
//
// Token pieces are raw bytes and may split a character. The decoder holds the bytes of an
// incomplete character until it completes and replaces every ill-formed sequence with U+FFFD
// using the Unicode "maximal subpart" practice, which is exactly what Python's
// bytes.decode("utf-8", errors="replace") does. So the concatenated output of a stream equals
// that decode of all its bytes, whatever the token boundaries. One deliberate difference: a
// NUL byte also becomes U+FFFD, since pieces are NUL-terminated C strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace worker::core::utf8 {

inline constexpr std::size_t npos = static_cast<std::size_t>(-1);
inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Offset of the first byte of the first ill-formed sequence of the NUL-terminated string `s`,
// or npos when all of it is well-formed.
std::size_t valid_prefix_length(const char* s) noexcept;

// Same for a byte range (may contain NUL bytes).
std::size_t valid_prefix_length(std::string_view bytes) noexcept;

class Decoder {
 public:
  // Decodes `bytes`, appending every completed character (or U+FFFD) to `out`; the bytes of a
  // trailing incomplete character stay held.
  void feed(std::string_view bytes, std::string& out);
  // End of stream: a held incomplete character becomes one U+FFFD.
  void finish(std::string& out);

 private:
  void feed_byte(std::uint8_t b, std::string& out);

  std::uint8_t held_[4] = {};
  std::uint8_t held_len_ = 0;
  std::uint8_t need_ = 0;              // total length of the character being held
  std::uint8_t second_lo_ = 0x80;      // allowed range of the 2nd byte, lead-byte dependent
  std::uint8_t second_hi_ = 0xBF;
};

// `bytes` as printable, valid UTF-8 for a detail message: well-formed characters are kept,
// every byte of an ill-formed sequence, every control character and DEL become `\xHH`
// (lower-case hex) and a backslash becomes `\\`, so the text says unambiguously which
// bytes were there. At most `max_bytes` input bytes are shown, then "...".
std::string escaped(std::string_view bytes, std::size_t max_bytes = npos);
// Only ill-formed bytes become `\xHH`; everything else is kept as it is. For a whole detail
// message, as the last line of defence (every string built from untrusted data is escaped()).
std::string sanitized(std::string_view bytes);

// Length of the longest prefix of the valid UTF-8 `text` that is at most `max_bytes` long and
// ends on a character boundary.
std::size_t boundary_prefix(std::string_view text, std::size_t max_bytes) noexcept;

}  // namespace worker::core::utf8
