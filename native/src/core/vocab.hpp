// The worker-bytes tokenizer: a vocabulary of byte strings, greedy longest-match
// tokenisation over the prompt's bytes, and each token's piece for decoding.
//
// A token whose text is `<0xHH>` (two upper-case hex digits) stands for that single raw
// byte; every other token stands for its text. All 256 byte tokens must exist, so every
// byte string tokenises. When several tokens have the same bytes the lowest id wins.
//
// Tokenisation is linear in the prompt whatever the vocabulary. Greedy longest match needs,
// at each position p where a token starts, the longest token that is a prefix of text[p..].
// Walking a trie forward from every such p costs up to the longest token's length per
// position when the vocabulary holds long near-miss tokens (quadratic in effect). Instead an
// Aho-Corasick automaton over the *reversed* tokens scans the text backwards: its state at
// position p stands for the longest reversed-token prefix that ends at p in the reversed
// text, and a precomputed link per state names the longest token that is a suffix of that
// string, i.e. the longest token starting at p. The backward scan runs over windows of the
// prompt (each window overlaps the next by the longest token's length, so every answer in
// it is exact), which bounds memory and lets a caller stop at the context length.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace worker::core {

class Vocab {
 public:
  // Throws core::Error(MODEL_LOAD_FAILED) when a byte token is missing or eos is out of range.
  Vocab(const std::vector<std::string_view>& texts, std::uint32_t eos);
  // The checks of the constructor alone (cheap), so a file is refused before its weights
  // are read while the tokenizer itself is built beside the upload.
  static void check(const std::vector<std::string_view>& texts, std::uint32_t eos);

  // Greedy longest match over all of `text`.
  std::vector<std::int32_t> tokenize(std::string_view text) const { return tokenize(text, SIZE_MAX); }
  // The same, stopping once `limit` tokens were produced: a result of `limit` tokens means
  // "at least limit". The work done is proportional to the bytes those tokens cover.
  std::vector<std::int32_t> tokenize(std::string_view text, std::size_t limit) const;
  // A lower bound of the token count of `text` (every token is at most max_token_bytes()).
  std::size_t min_tokens(std::size_t text_bytes) const noexcept {
    return (text_bytes + max_token_bytes_ - 1) / max_token_bytes_;
  }
  std::size_t max_token_bytes() const noexcept { return max_token_bytes_; }

  std::string_view piece(std::int32_t id) const noexcept { return pieces_[static_cast<std::size_t>(id)]; }
  std::int32_t size() const noexcept { return static_cast<std::int32_t>(pieces_.size()); }
  std::int32_t eos() const noexcept { return eos_; }

  // `<0xHH>` → HH, else -1.
  static int byte_token_value(std::string_view text) noexcept;

 private:
  // The automaton over reversed tokens, in flat arrays (node 0 is the root).
  std::uint32_t child(std::uint32_t node, std::uint8_t byte) const noexcept;

  std::vector<std::string> pieces_;
  std::int32_t eos_;
  std::size_t max_token_bytes_ = 1;
  std::vector<std::uint32_t> first_edge_;  // node -> its edges [first_edge_[n], first_edge_[n + 1])
  std::vector<std::uint8_t> edge_byte_;    // sorted by byte within a node
  std::vector<std::uint32_t> edge_child_;
  std::vector<std::uint32_t> fail_;        // longest proper suffix that is a node
  std::vector<std::uint32_t> best_;        // the longest token that is a suffix of the node's string: its node
  std::vector<std::int32_t> token_;        // token whose (reversed) bytes end at the node, lowest id; -1 if none
  std::vector<std::uint32_t> depth_;       // bytes of the node's string
  std::uint32_t root_child_[256] = {};     // the root's edges, looked up directly
};

}  // namespace worker::core
