// The worker-bytes tokenizer: a vocabulary of byte strings, greedy longest-match
// tokenisation over the prompt's bytes, and each token's piece for decoding.
//
// A token whose text is `<0xHH>` (two upper-case hex digits) stands for that single raw
// byte; every other token stands for its text. All 256 byte tokens must exist, so every
// byte string tokenises. When several tokens have the same bytes the lowest id wins.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace worker::core {

class Vocab {
 public:
  // Throws core::Error(MODEL_LOAD_FAILED) when a byte token is missing or eos is out of range.
  Vocab(const std::vector<std::string_view>& texts, std::uint32_t eos);

  std::vector<std::int32_t> tokenize(std::string_view text) const;
  std::string_view piece(std::int32_t id) const noexcept { return pieces_[static_cast<std::size_t>(id)]; }
  std::int32_t size() const noexcept { return static_cast<std::int32_t>(pieces_.size()); }
  std::int32_t eos() const noexcept { return eos_; }

  // `<0xHH>` → HH, else -1.
  static int byte_token_value(std::string_view text) noexcept;

 private:
  struct Edge {
    std::uint8_t byte;
    std::uint32_t child;
  };
  struct Node {
    std::vector<Edge> edges;  // sorted by byte
    std::int32_t token = -1;  // token whose bytes end here, lowest id
  };

  std::uint32_t child(std::uint32_t node, std::uint8_t byte) const noexcept;
  void insert(std::string_view bytes, std::int32_t id);

  std::vector<std::string> pieces_;
  std::vector<Node> trie_;
  std::int32_t eos_;
};

}  // namespace worker::core
