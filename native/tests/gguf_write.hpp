// A small GGUF v3 writer for the native tests: worker-tiny models whose vocabulary, metadata
// strings and sizes a test chooses (hostile vocabularies, non-UTF-8 names, large weights).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace testing_gguf {

struct Spec {
  std::string architecture = "worker-tiny";
  std::uint32_t d = 8;
  std::uint32_t context_length = 4096;
  std::vector<std::string> extra_tokens;  // after the 256 byte tokens and "</s>" (id 256)
  float fill = 0.25f;                     // every weight; the embedding adds a per-row ramp
};

inline std::vector<std::string> tokens_of(const Spec& spec) {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) {
    char text[8];
    std::snprintf(text, sizeof text, "<0x%02X>", b);
    tokens.emplace_back(text);
  }
  tokens.emplace_back("</s>");
  tokens.insert(tokens.end(), spec.extra_tokens.begin(), spec.extra_tokens.end());
  return tokens;
}

class Bytes {
 public:
  template <class T>
  void put(T v) {
    const auto* p = reinterpret_cast<const unsigned char*>(&v);
    data.insert(data.end(), p, p + sizeof v);
  }
  void str(const std::string& s) {
    put<std::uint64_t>(s.size());
    data.insert(data.end(), s.begin(), s.end());
  }
  std::vector<unsigned char> data;
};

// The whole file in memory.
inline std::vector<unsigned char> build(const Spec& spec) {
  const std::vector<std::string> tokens = tokens_of(spec);
  const std::uint64_t n_vocab = tokens.size();
  Bytes b;
  b.put<std::uint32_t>(0x46554747);  // "GGUF"
  b.put<std::uint32_t>(3);
  b.put<std::uint64_t>(2);  // tensors
  b.put<std::uint64_t>(6);  // metadata
  b.str("general.architecture");
  b.put<std::uint32_t>(8);
  b.str(spec.architecture);
  b.str("worker-tiny.embedding_length");
  b.put<std::uint32_t>(4);
  b.put<std::uint32_t>(spec.d);
  b.str("worker-tiny.context_length");
  b.put<std::uint32_t>(4);
  b.put<std::uint32_t>(spec.context_length);
  b.str("tokenizer.ggml.model");
  b.put<std::uint32_t>(8);
  b.str("worker-bytes");
  b.str("tokenizer.ggml.tokens");
  b.put<std::uint32_t>(9);
  b.put<std::uint32_t>(8);
  b.put<std::uint64_t>(n_vocab);
  for (const auto& t : tokens) b.str(t);
  b.str("tokenizer.ggml.eos_token_id");
  b.put<std::uint32_t>(4);
  b.put<std::uint32_t>(256);
  const std::uint64_t tensor_bytes = std::uint64_t{spec.d} * n_vocab * 4;
  const std::uint64_t aligned = (tensor_bytes + 31) / 32 * 32;
  const char* names[] = {"token_embd.weight", "output.weight"};
  for (int k = 0; k < 2; ++k) {
    b.str(names[k]);
    b.put<std::uint32_t>(2);
    b.put<std::uint64_t>(spec.d);
    b.put<std::uint64_t>(n_vocab);
    b.put<std::uint32_t>(0);  // F32
    b.put<std::uint64_t>(k * aligned);
  }
  while (b.data.size() % 32 != 0) b.data.push_back(0);
  for (int k = 0; k < 2; ++k) {
    for (std::uint64_t i = 0; i < std::uint64_t{spec.d} * n_vocab; ++i) {
      b.put<float>(k == 0 ? spec.fill + static_cast<float>(i % 7) * 0.125f : spec.fill);
    }
    while (b.data.size() % 32 != 0) b.data.push_back(0);
  }
  return b.data;
}

inline bool write(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

inline bool write(const std::string& path, const Spec& spec) { return write(path, build(spec)); }

}  // namespace testing_gguf
