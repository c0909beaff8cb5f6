#include "core/vocab.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "worker_ffi.h"

namespace worker::core {
namespace {
constexpr std::uint32_t kNone = 0;  // node 0 is the root, never anyone's child

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

int Vocab::byte_token_value(std::string_view text) noexcept {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  const int hi = hex_digit(text[3]);
  const int lo = hex_digit(text[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

Vocab::Vocab(const std::vector<std::string_view>& texts, std::uint32_t eos)
    : eos_(static_cast<std::int32_t>(eos)) {
  if (eos >= texts.size()) {
    throw Error(CUDA_ERROR_MODEL_LOAD_FAILED, "tokenizer.ggml.eos_token_id " + std::to_string(eos) +
                                                  " is not below the vocabulary size " +
                                                  std::to_string(texts.size()));
  }
  pieces_.reserve(texts.size());
  trie_.emplace_back();
  bool have_byte[256] = {};
  for (std::size_t id = 0; id < texts.size(); ++id) {
    const int byte = byte_token_value(texts[id]);
    if (byte >= 0) {
      have_byte[byte] = true;
      pieces_.emplace_back(1, static_cast<char>(byte));
    } else {
      pieces_.emplace_back(texts[id]);
    }
    if (!pieces_.back().empty()) insert(pieces_.back(), static_cast<std::int32_t>(id));
  }
  for (int b = 0; b < 256; ++b) {
    if (!have_byte[b]) {
      static const char hex[] = "0123456789ABCDEF";
      throw Error(CUDA_ERROR_MODEL_LOAD_FAILED,
                  std::string("tokenizer.ggml.tokens lacks the byte token <0x") + hex[b >> 4] + hex[b & 15] + ">");
    }
  }
}

std::uint32_t Vocab::child(std::uint32_t node, std::uint8_t byte) const noexcept {
  const auto& edges = trie_[node].edges;
  const auto it = std::lower_bound(edges.begin(), edges.end(), byte,
                                   [](const Edge& e, std::uint8_t b) { return e.byte < b; });
  return it != edges.end() && it->byte == byte ? it->child : kNone;
}

void Vocab::insert(std::string_view bytes, std::int32_t id) {
  std::uint32_t node = 0;
  for (char c : bytes) {
    const auto byte = static_cast<std::uint8_t>(c);
    std::uint32_t next = child(node, byte);
    if (next == kNone) {
      next = static_cast<std::uint32_t>(trie_.size());
      trie_.emplace_back();  // may reallocate: look the parent up again below
      auto& edges = trie_[node].edges;
      const auto at = std::lower_bound(edges.begin(), edges.end(), byte,
                                       [](const Edge& e, std::uint8_t b) { return e.byte < b; });
      edges.insert(at, Edge{byte, next});
    }
    node = next;
  }
  if (trie_[node].token < 0) trie_[node].token = id;  // ids arrive in order: lowest wins
}

std::vector<std::int32_t> Vocab::tokenize(std::string_view text) const {
  std::vector<std::int32_t> tokens;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::int32_t best = -1;
    std::size_t best_len = 0;
    std::uint32_t node = 0;
    for (std::size_t k = pos; k < text.size(); ++k) {
      node = child(node, static_cast<std::uint8_t>(text[k]));
      if (node == kNone) break;
      if (trie_[node].token >= 0) {
        best = trie_[node].token;
        best_len = k - pos + 1;
      }
    }
    // Every single byte is a token (checked at construction), so best is always found.
    tokens.push_back(best);
    pos += best_len;
  }
  return tokens;
}

}  // namespace worker::core
