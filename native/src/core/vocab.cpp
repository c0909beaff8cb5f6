#include "core/vocab.hpp"

#include <algorithm>
#include <utility>

#include "core/error.hpp"
#include "worker_ffi.h"

namespace worker::core {
namespace {
constexpr std::uint32_t kNone = 0xFFFFFFFFu;

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The reversed-token trie while it is built; flattened into Vocab's arrays afterwards.
struct BuildNode {
  std::vector<std::pair<std::uint8_t, std::uint32_t>> edges;  // sorted by byte
  std::int32_t token = -1;
};
}  // namespace

int Vocab::byte_token_value(std::string_view text) noexcept {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  const int hi = hex_digit(text[3]);
  const int lo = hex_digit(text[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

void Vocab::check(const std::vector<std::string_view>& texts, std::uint32_t eos) {
  if (eos >= texts.size()) {
    throw Error(CUDA_ERROR_MODEL_LOAD_FAILED, "tokenizer.ggml.eos_token_id " + std::to_string(eos) +
                                                  " is not below the vocabulary size " +
                                                  std::to_string(texts.size()));
  }
  bool have_byte[256] = {};
  for (const std::string_view text : texts) {
    const int byte = byte_token_value(text);
    if (byte >= 0) have_byte[byte] = true;
  }
  for (int b = 0; b < 256; ++b) {
    if (!have_byte[b]) {
      static const char hex[] = "0123456789ABCDEF";
      throw Error(CUDA_ERROR_MODEL_LOAD_FAILED,
                  std::string("tokenizer.ggml.tokens lacks the byte token <0x") + hex[b >> 4] + hex[b & 15] + ">");
    }
  }
}

Vocab::Vocab(const std::vector<std::string_view>& texts, std::uint32_t eos)
    : eos_(static_cast<std::int32_t>(eos)) {
  check(texts, eos);
  pieces_.reserve(texts.size());
  std::vector<BuildNode> trie(1);
  for (std::size_t id = 0; id < texts.size(); ++id) {
    const int byte = byte_token_value(texts[id]);
    if (byte >= 0) {
      pieces_.emplace_back(1, static_cast<char>(byte));
    } else {
      pieces_.emplace_back(texts[id]);
    }
    const std::string& bytes = pieces_.back();
    if (bytes.empty()) continue;
    max_token_bytes_ = std::max(max_token_bytes_, bytes.size());
    // Insert the token's bytes last to first.
    std::uint32_t node = 0;
    for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) {
      const auto b = static_cast<std::uint8_t>(*it);
      auto& edges = trie[node].edges;
      const auto at = std::lower_bound(edges.begin(), edges.end(), b,
                                       [](const auto& e, std::uint8_t key) { return e.first < key; });
      if (at != edges.end() && at->first == b) {
        node = at->second;
      } else {
        const auto fresh = static_cast<std::uint32_t>(trie.size());
        edges.insert(at, {b, fresh});
        trie.emplace_back();  // invalidates `edges`, which is not used again
        node = fresh;
      }
    }
    if (trie[node].token < 0) trie[node].token = static_cast<std::int32_t>(id);  // ids in order: lowest wins
  }
  // Flatten in breadth-first order: a node's suffix link points to a shallower node, so one
  // pass in index order computes every link after the one it depends on.
  const std::size_t count = trie.size();
  first_edge_.assign(count + 1, 0);
  edge_byte_.reserve(count - 1);
  edge_child_.reserve(count - 1);
  token_.assign(count, -1);
  depth_.assign(count, 0);
  std::vector<std::uint32_t> order;  // BFS position -> build index
  order.reserve(count);
  order.push_back(0);
  for (std::size_t k = 0; k < order.size(); ++k) {
    BuildNode& node = trie[order[k]];
    first_edge_[k] = static_cast<std::uint32_t>(edge_byte_.size());
    token_[k] = node.token;
    for (const auto& [b, child] : node.edges) {
      edge_byte_.push_back(b);
      edge_child_.push_back(static_cast<std::uint32_t>(order.size()));
      depth_[order.size()] = depth_[k] + 1;
      order.push_back(child);
    }
    std::vector<std::pair<std::uint8_t, std::uint32_t>>().swap(node.edges);  // free as we go
  }
  first_edge_[count] = static_cast<std::uint32_t>(edge_byte_.size());
  std::vector<BuildNode>().swap(trie);
  std::vector<std::uint32_t>().swap(order);
  for (std::uint32_t e = first_edge_[0]; e < first_edge_[1]; ++e) root_child_[edge_byte_[e]] = edge_child_[e];

  fail_.assign(count, 0);
  best_.assign(count, 0);
  for (std::uint32_t u = 0; u < count; ++u) {
    best_[u] = token_[u] >= 0 ? u : best_[fail_[u]];  // fail_[u] < u: already final
    for (std::uint32_t e = first_edge_[u]; e < first_edge_[u + 1]; ++e) {
      const std::uint8_t b = edge_byte_[e];
      const std::uint32_t v = edge_child_[e];
      if (u == 0) {
        fail_[v] = 0;
        continue;
      }
      std::uint32_t z = fail_[u];
      for (;;) {
        const std::uint32_t w = child(z, b);
        if (w != kNone) {
          fail_[v] = w;
          break;
        }
        if (z == 0) {
          fail_[v] = 0;
          break;
        }
        z = fail_[z];
      }
    }
  }
}

std::uint32_t Vocab::child(std::uint32_t node, std::uint8_t byte) const noexcept {
  if (node == 0) return root_child_[byte];  // every byte is a token: always present
  const auto begin = edge_byte_.begin() + first_edge_[node];
  const auto end = edge_byte_.begin() + first_edge_[node + 1];
  const auto it = std::lower_bound(begin, end, byte);
  return it != end && *it == byte ? edge_child_[static_cast<std::size_t>(it - edge_byte_.begin())] : kNone;
}

std::vector<std::int32_t> Vocab::tokenize(std::string_view text, std::size_t limit) const {
  std::vector<std::int32_t> tokens;
  const std::size_t n = text.size();
  // Positions answered per window; the scan reads max_token_bytes_ - 1 further, so that the
  // longest token starting at any answered position lies inside what was scanned.
  const std::size_t window = std::max<std::size_t>(std::size_t{1} << 16, 4 * max_token_bytes_);
  std::vector<std::uint32_t> longest;  // per answered position: node of the longest token starting there
  std::size_t pos = 0;
  while (pos < n && tokens.size() < limit) {
    const std::size_t begin = pos;
    const std::size_t answered = std::min(n, begin + window);
    const std::size_t scanned = std::min(n, answered + max_token_bytes_ - 1);
    longest.resize(answered - begin);
    std::uint32_t state = 0;
    for (std::size_t q = scanned; q-- > begin;) {
      const auto b = static_cast<std::uint8_t>(text[q]);
      for (;;) {
        const std::uint32_t next = child(state, b);
        if (next != kNone) {
          state = next;
          break;
        }
        state = fail_[state];  // never the root here: the root has every byte
      }
      if (q < answered) longest[q - begin] = best_[state];
    }
    while (pos < answered && tokens.size() < limit) {
      const std::uint32_t node = longest[pos - begin];
      tokens.push_back(token_[node]);
      pos += depth_[node];
    }
  }
  return tokens;
}

}  // namespace worker::core
