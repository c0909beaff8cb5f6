#include "core/utf8.hpp"

namespace worker::core::utf8 {
namespace {

// Well-formed UTF-8 (Unicode Table 3-7): the lead byte fixes the length and the range of the
// second byte; later bytes are always 80..BF.
struct Lead {
  std::uint8_t length;  // 0: never valid as a lead byte
  std::uint8_t lo, hi;  // range of the second byte
};

constexpr Lead classify(std::uint8_t b) noexcept {
  if (b < 0x80) return {1, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};  // excludes surrogates
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};  // nothing above U+10FFFF
  return {0, 0, 0};
}

}  // namespace

std::size_t valid_prefix_length(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const Lead lead = classify(p[i]);
    if (lead.length == 0) return i;
    if (lead.length > 1) {
      if (n - i < lead.length) return i;
      if (p[i + 1] < lead.lo || p[i + 1] > lead.hi) return i;
      for (std::size_t k = 2; k < lead.length; ++k) {
        if ((p[i + k] & 0xC0) != 0x80) return i;
      }
    }
    i += lead.length;
  }
  return npos;
}

std::size_t valid_prefix_length(const char* s) noexcept {
  if (s == nullptr) return 0;
  return valid_prefix_length(std::string_view(s));
}

namespace {
void append_hex(std::string& out, std::uint8_t b) {
  static const char hex[] = "0123456789abcdef";
  out += "\\x";
  out += hex[b >> 4];
  out += hex[b & 15];
}

// Appends bytes[0..n) with every ill-formed byte as \xHH; `escape_ascii` also escapes control
// characters, DEL and the backslash.
void append_escaped(std::string& out, std::string_view bytes, bool escape_ascii) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    const std::string_view rest = bytes.substr(i);
    std::size_t good = valid_prefix_length(rest);
    if (good == npos) good = rest.size();
    for (std::size_t k = 0; k < good; ++k) {
      const auto b = static_cast<std::uint8_t>(rest[k]);
      if (escape_ascii && (b < 0x20 || b == 0x7F)) {
        append_hex(out, b);
      } else if (escape_ascii && b == '\\') {
        out += "\\\\";
      } else {
        out.push_back(static_cast<char>(b));
      }
    }
    i += good;
    if (i < bytes.size()) append_hex(out, static_cast<std::uint8_t>(bytes[i++]));  // one ill-formed byte
  }
}
}  // namespace

std::string escaped(std::string_view bytes, std::size_t max_bytes) {
  std::string out;
  const bool cut = bytes.size() > max_bytes;
  if (cut) {
    // Cut on a character boundary of the valid prefix where possible.
    std::size_t keep = max_bytes;
    while (keep > 0 && keep < bytes.size() && (static_cast<std::uint8_t>(bytes[keep]) & 0xC0) == 0x80) --keep;
    if (keep == 0) keep = max_bytes;
    bytes = bytes.substr(0, keep);
  }
  append_escaped(out, bytes, true);
  if (cut) out += "...";
  return out;
}

std::string sanitized(std::string_view bytes) {
  if (valid_prefix_length(bytes) == npos) return std::string(bytes);
  std::string out;
  append_escaped(out, bytes, false);
  return out;
}

void Decoder::feed(std::string_view bytes, std::string& out) {
  for (char c : bytes) feed_byte(static_cast<std::uint8_t>(c), out);
}

void Decoder::feed_byte(std::uint8_t b, std::string& out) {
  if (held_len_ != 0) {
    const bool fits = held_len_ == 1 ? (b >= second_lo_ && b <= second_hi_) : (b & 0xC0) == 0x80;
    if (fits) {
      held_[held_len_++] = b;
      if (held_len_ == need_) {
        out.append(reinterpret_cast<const char*>(held_), held_len_);
        held_len_ = 0;
      }
      return;
    }
    // The held bytes are a maximal subpart of an ill-formed sequence: one U+FFFD for all of
    // them, then `b` starts afresh.
    out.append(kReplacement);
    held_len_ = 0;
  }
  const Lead lead = classify(b);
  if (lead.length == 1 && b != 0) {
    out.push_back(static_cast<char>(b));
  } else if (lead.length == 0 || b == 0) {
    // A NUL cannot travel in a NUL-terminated piece: it is replaced like ill-formed input.
    out.append(kReplacement);
  } else {
    held_[0] = b;
    held_len_ = 1;
    need_ = lead.length;
    second_lo_ = lead.lo;
    second_hi_ = lead.hi;
  }
}

void Decoder::finish(std::string& out) {
  if (held_len_ != 0) {
    out.append(kReplacement);
    held_len_ = 0;
  }
}

std::size_t boundary_prefix(std::string_view text, std::size_t max_bytes) noexcept {
  if (text.size() <= max_bytes) return text.size();
  std::size_t n = max_bytes;
  // Step back over continuation bytes so the cut never splits a character.
  while (n > 0 && (static_cast<std::uint8_t>(text[n]) & 0xC0) == 0x80) --n;
  return n;
}

}  // namespace worker::core::utf8
