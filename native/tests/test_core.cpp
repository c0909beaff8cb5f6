// Unit tests of the shared core's pieces, below the C ABI: UTF-8 decoding, the registry,
// the deterministic math, the tokenizer, and the GGUF parser under mutated input.
//
//   test_core MODELS_DIR [name-filter]
#include <chrono>
#include <cmath>
#include <unordered_map>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <span>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "check.hpp"
#include "core/error.hpp"
#include "core/gguf.hpp"
#include "core/math.hpp"
#include "core/registry.hpp"
#include "core/utf8.hpp"
#include "core/vocab.hpp"
#include "worker_ffi.h"

namespace {

using namespace worker;
std::string g_models;

std::string decode(const std::vector<std::string>& chunks) {
  core::utf8::Decoder decoder;
  std::string out;
  for (const auto& c : chunks) decoder.feed(c, out);
  decoder.finish(out);
  return out;
}

const std::string R = "\xEF\xBF\xBD";

TEST_CASE("utf8_matches_python_replace") {
  // Expected values are Python's bytes.decode("utf-8", errors="replace").
  CHECK_EQ(decode({"a\xE2\x82", "\xAC" "b"}), std::string("a\xE2\x82\xAC" "b"));
  CHECK_EQ(decode({"\xE2\x82", "!"}), R + "!");                       // maximal subpart: one U+FFFD
  CHECK_EQ(decode({"\xF0\x9F", "\x98", "\x80"}), std::string("\xF0\x9F\x98\x80"));
  CHECK_EQ(decode({"\xF0\x9F\x98"}), R);                              // dangling at end
  CHECK_EQ(decode({"\xC0\xAF"}), R + R);                              // overlong: two
  CHECK_EQ(decode({"\xED\xA0\x80"}), R + R + R);                      // surrogate: three
  CHECK_EQ(decode({"\xF4\x90\x80\x80"}), R + R + R + R);              // above U+10FFFF
  CHECK_EQ(decode({"\xE0\x80"}), R + R);                              // E0 needs A0..BF
  CHECK_EQ(decode({"\xFF", "a"}), R + "a");
  CHECK_EQ(decode({"\xE2", "\xE2\x82\xAC"}), R + "\xE2\x82\xAC");     // a new lead restarts
  CHECK_EQ(decode({std::string("a\0b", 3)}), "a" + R + "b");          // NUL cannot travel in a C string
}

TEST_CASE("utf8_validation_and_boundaries") {
  CHECK(core::is_valid_utf8("plain"));
  CHECK(core::is_valid_utf8("\xE6\x97\xA5\xF0\x9F\x98\x80"));
  CHECK(!core::is_valid_utf8("\xE6\x97"));
  CHECK(!core::is_valid_utf8("\xC0\xAF"));
  CHECK(!core::is_valid_utf8(nullptr));
  CHECK_EQ(core::utf8::boundary_prefix("\xC3\xBC\xC3\xBC", 3), std::size_t{2});
  CHECK_EQ(core::utf8::boundary_prefix("abc", 10), std::size_t{3});
}

TEST_CASE("registry_tells_null_stale_and_forged_apart") {
  core::Registry registry(core::HandleKind::model);
  int object = 0;
  core::Lookup status;
  const std::uint64_t h = registry.insert(&object);
  CHECK(registry.find(h, status) == &object);
  CHECK(status == core::Lookup::live);
  CHECK(registry.find(0, status) == nullptr && status == core::Lookup::null);
  CHECK(registry.find(h ^ 0xFF, status) == nullptr && status == core::Lookup::forged);      // wrong kind
  CHECK(registry.find(h + (1ull << 32), status) == nullptr && status == core::Lookup::forged);  // future generation
  CHECK(registry.find(h + (999ull << 8), status) == nullptr && status == core::Lookup::forged);  // unused slot
  registry.erase(h);
  CHECK(registry.find(h, status) == nullptr && status == core::Lookup::stale);
  const std::uint64_t reused = registry.insert(&object);  // same slot, next generation
  CHECK(reused != h);
  CHECK(registry.find(h, status) == nullptr && status == core::Lookup::stale);
  CHECK(registry.find(reused, status) == &object);
  CHECK_EQ(registry.live(), std::uint64_t{1});
  registry.erase(reused);
}

TEST_CASE("det_expf_is_accurate_and_monotone") {
  float previous = 0.0f;
  double worst = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.001953125f) {
    const float y = math::det_expf(x);
    const double rel = std::fabs(y - std::exp(static_cast<double>(x))) / std::exp(static_cast<double>(x));
    worst = std::max(worst, rel);
    CHECK(y >= previous);
    previous = y;
  }
  CHECK(worst < 3e-7);
  CHECK_EQ(math::det_expf(0.0f), 1.0f);
  CHECK_EQ(math::det_expf(-1000.0f), 0.0f);
  CHECK_EQ(math::det_expf(-INFINITY), 0.0f);
  CHECK(std::isinf(math::det_expf(100.0f)));
  CHECK(std::isnan(math::det_expf(NAN)));
}

TEST_CASE("argmax_and_sampling") {
  const float tie[] = {1.0f, 3.0f, 3.0f, 2.0f};
  CHECK_EQ(math::argmax(tie, 4), 1);
  // Sampling over a certain outcome, and over a fair coin.
  const float certain[] = {0.0f, 200.0f, 0.0f};
  for (std::uint64_t step = 0; step < 100; ++step) CHECK_EQ(math::sample(certain, 3, 1.0f, math::random_unit(9, step)), 1);
  const float coin[] = {5.0f, 5.0f};
  int ones = 0;
  for (std::uint64_t step = 0; step < 10000; ++step) ones += math::sample(coin, 2, 1.0f, math::random_unit(9, step));
  CHECK(ones > 4700 && ones < 5300);
  CHECK_EQ(math::sample(coin, 2, 1.0f, 0.0f), 0);
  CHECK_EQ(math::sample(coin, 2, 1.0f, 0.99999994f), 1);
  // The first outputs of SplitMix64 seeded with 0 (reference values of the generator).
  CHECK_EQ(math::random_u64(0, 0), 0xE220A8397B1DCDAFull);
  CHECK_EQ(math::random_u64(0, 1), 0x6E789E6AA1B965F4ull);
}

TEST_CASE("tokenizer_greedy_longest_match") {
  std::vector<std::string> storage;
  for (int b = 0; b < 256; ++b) {
    char text[8];
    std::snprintf(text, sizeof text, "<0x%02X>", b);
    storage.emplace_back(text);
  }
  storage.insert(storage.end(), {"</s>", "ab", "abc", "b", "abc"});  // duplicate "abc": lowest id wins
  std::vector<std::string_view> texts(storage.begin(), storage.end());
  core::Vocab vocab(texts, 256);
  CHECK(vocab.tokenize("abcab") == (std::vector<std::int32_t>{258, 257}));
  CHECK(vocab.tokenize("abx") == (std::vector<std::int32_t>{257, 'x'}));
  CHECK(vocab.tokenize("b") == (std::vector<std::int32_t>{98}));  // text token "b" (259) and byte 0x62 (98): lower id wins
  CHECK_EQ(vocab.piece(0x41), std::string_view("A"));
  texts[0x41] = "A";  // byte token missing
  try {
    core::Vocab broken(texts, 256);
    CHECK(false);
  } catch (const core::Error& e) {
    CHECK_EQ(e.code(), CUDA_ERROR_MODEL_LOAD_FAILED);
  }
}

std::vector<std::uint8_t> read_file(const std::string& path);

// The tokenizer as it was first written: at each position, walk forward and keep the longest
// token seen (quadratic with long near-miss tokens). The reference for the differential test.
std::vector<std::int32_t> reference_tokenize(const std::vector<std::string>& pieces, std::string_view text) {
  std::unordered_map<std::string_view, std::int32_t> ids;  // bytes -> lowest id
  std::size_t longest = 1;
  for (std::size_t id = 0; id < pieces.size(); ++id) {
    if (pieces[id].empty()) continue;
    ids.emplace(pieces[id], static_cast<std::int32_t>(id));
    longest = std::max(longest, pieces[id].size());
  }
  std::vector<std::int32_t> out;
  for (std::size_t pos = 0; pos < text.size();) {
    for (std::size_t len = std::min(longest, text.size() - pos); len > 0; --len) {
      const auto it = ids.find(text.substr(pos, len));
      if (it != ids.end()) {
        out.push_back(it->second);
        pos += len;
        break;
      }
    }
  }
  return out;
}

std::vector<std::string> byte_tokens() {
  std::vector<std::string> texts;
  for (int b = 0; b < 256; ++b) {
    char text[8];
    std::snprintf(text, sizeof text, "<0x%02X>", b);
    texts.emplace_back(text);
  }
  return texts;
}

// Pieces as Vocab defines them (byte tokens stand for their byte).
std::vector<std::string> pieces_of(const std::vector<std::string>& texts) {
  std::vector<std::string> pieces;
  for (const auto& t : texts) {
    const int b = core::Vocab::byte_token_value(t);
    pieces.push_back(b >= 0 ? std::string(1, static_cast<char>(b)) : t);
  }
  return pieces;
}

TEST_CASE("tokenizer_matches_the_reference_on_random_vocabularies") {
  std::mt19937_64 rng(20261201);
  int cases = 0;
  std::size_t tokens_compared = 0;
  for (int round = 0; round < 400; ++round) {
    // A small alphabet makes tokens overlap, share prefixes and suffixes, and nearly match.
    const std::string alphabet = std::string("ab") + (round % 3 == 0 ? "c" : "") + (round % 5 == 0 ? "\xC3\xA9" : "");
    const std::size_t max_len = round % 10 == 0 ? 200 : 1 + rng() % 12;
    std::vector<std::string> texts = byte_tokens();
    texts.emplace_back("</s>");
    const int extra = static_cast<int>(rng() % 120);
    for (int k = 0; k < extra; ++k) {
      std::string t;
      const std::size_t len = rng() % 8 == 0 ? 0 : 1 + rng() % max_len;
      for (std::size_t i = 0; i < len; ++i) t += alphabet[rng() % alphabet.size()];
      texts.push_back(t);
      if (rng() % 6 == 0) texts.push_back(t);  // duplicates: the lowest id must win
      if (rng() % 20 == 0) texts.push_back("<0x61>");  // a second byte token for 'a'
    }
    // Long near-misses: a run of one letter ending in another.
    if (round % 7 == 0) texts.push_back(std::string(max_len, 'a') + "b");
    std::vector<std::string_view> views(texts.begin(), texts.end());
    const core::Vocab vocab(views, 256);
    const std::vector<std::string> pieces = pieces_of(texts);
    for (int p = 0; p < 6; ++p) {
      std::string prompt;
      // Mostly short; some longer than the tokenizer's 64 KiB window, so tokens straddle it.
      const std::size_t len = p == 5 && round % 40 == 1 ? 70000 + rng() % 1000 : rng() % 400;
      for (std::size_t i = 0; i < len; ++i) {
        prompt += rng() % 50 == 0 ? static_cast<char>(rng()) : alphabet[rng() % alphabet.size()];
      }
      const auto expected = reference_tokenize(pieces, prompt);
      const auto got = vocab.tokenize(prompt);
      CHECK(got == expected);
      tokens_compared += expected.size();
      // Stopping early gives the first `limit` tokens.
      const std::size_t limit = rng() % (expected.size() + 2);
      const auto cut = vocab.tokenize(prompt, limit);
      CHECK(cut.size() == std::min(limit, expected.size()));
      CHECK(std::equal(cut.begin(), cut.end(), expected.begin()));
      ++cases;
    }
  }
  std::printf("tokenizer differential: %d prompts, %zu tokens identical to the reference\n", cases, tokens_compared);
}

TEST_CASE("tokenizer_is_linear_with_a_long_near_miss_token") {
  // A 1 KiB token of 'a's ending in 'b' and a 10 MiB prompt of 'a's: the old forward walk
  // read up to 1,023 bytes per token (seconds); the automaton reads each byte about twice.
  std::vector<std::string> texts = byte_tokens();
  texts.emplace_back("</s>");
  texts.push_back(std::string(1023, 'a') + "b");
  std::vector<std::string_view> views(texts.begin(), texts.end());
  const core::Vocab vocab(views, 256);
  const std::string prompt(std::size_t{10} << 20, 'a');
  const auto t0 = std::chrono::steady_clock::now();
  const auto tokens = vocab.tokenize(prompt);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK_EQ(tokens.size(), prompt.size());
  CHECK(std::all_of(tokens.begin(), tokens.end(), [](std::int32_t t) { return t == 'a'; }));
  // The near-miss token itself is found when it is there, across the window boundary too.
  std::string hit = std::string(65536 - 500, 'x') + std::string(1023, 'a') + "b";
  const auto found = vocab.tokenize(hit);
  CHECK_EQ(found.size(), std::size_t{65536 - 500 + 1});
  CHECK_EQ(found.back(), 257);
  // Generous: the quadratic version took tens of seconds; this takes a fraction of one
  // (figures in bench/). Sanitizer builds are several times slower, still far below.
  CHECK(seconds < 20.0);
  std::printf("10 MiB prompt with a 1 KiB near-miss token: %.3f s\n", seconds);
  // A prompt that needs more tokens than a limit is cut there, without the rest being read.
  CHECK_EQ(vocab.tokenize(prompt, 4096).size(), std::size_t{4096});
  CHECK_EQ(vocab.min_tokens(prompt.size()), (prompt.size() + 1023) / 1024);
}

TEST_CASE("escaped_detail_text_is_valid_utf8") {
  CHECK_EQ(core::utf8::escaped("w\xE9rker-tiny"), std::string("w\\xe9rker-tiny"));
  CHECK_EQ(core::utf8::escaped("caf\xC3\xA9"), std::string("caf\xC3\xA9"));  // well-formed text is kept
  CHECK_EQ(core::utf8::escaped(std::string("a\nb\x7F\\", 5)), std::string("a\\x0ab\\x7f\\\\"));
  CHECK_EQ(core::utf8::escaped(std::string(100, 'z'), 64), std::string(64, 'z') + "...");
  CHECK_EQ(core::utf8::sanitized("ok \xFF\xFE"), std::string("ok \\xff\\xfe"));
  CHECK_EQ(core::utf8::sanitized("line\nkept"), std::string("line\nkept"));
  std::mt19937_64 rng(7);
  for (int n = 0; n < 2000; ++n) {
    std::string bytes(rng() % 40, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    CHECK(core::utf8::valid_prefix_length(core::utf8::escaped(bytes, 16)) == core::utf8::npos);
    CHECK(core::utf8::valid_prefix_length(core::utf8::sanitized(bytes)) == core::utf8::npos);
  }
}

TEST_CASE("gguf_parses_from_a_prefix_and_asks_for_more") {
  const auto bytes = read_file(g_models + "/tiny.gguf");
  std::size_t asked = 0;
  for (std::size_t have = 0; have <= bytes.size(); have += 97) {
    try {
      const std::span<const std::uint8_t> prefix(bytes.data(), have);
      const auto file = core::gguf::File::parse(prefix, bytes.size());
      CHECK_EQ(file.strings(*file.find("tokenizer.ggml.tokens")).size(), std::size_t{275});
      break;
    } catch (const core::gguf::NeedMore& more) {
      CHECK(more.bytes > have && more.bytes <= bytes.size());
      ++asked;
    }
  }
  CHECK(asked > 0);
}

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Parses `bytes`; any failure must be a MODEL_LOAD_FAILED core::Error (never a crash, never
// another exception). Returns whether it parsed.
bool parse_ok(const std::vector<std::uint8_t>& bytes) {
  try {
    const auto file = core::gguf::File::parse(bytes);
    for (const auto& t : file.tensors()) CHECK(file.file_offset(t) + t.bytes <= bytes.size());
    if (const auto* tokens = file.find("tokenizer.ggml.tokens")) (void)file.strings(*tokens);
    return true;
  } catch (const core::Error& e) {
    if (e.code() != CUDA_ERROR_MODEL_LOAD_FAILED) check::fail(__FILE__, __LINE__, e.what());
    return false;
  }
}

TEST_CASE("gguf_parses_the_tiny_model") {
  const auto bytes = read_file(g_models + "/tiny.gguf");
  const auto file = core::gguf::File::parse(bytes);
  CHECK_EQ(file.alignment(), 32u);
  CHECK(file.tensor("token_embd.weight") != nullptr);
  CHECK_EQ(file.tensor("output.weight")->ne[0], std::uint64_t{32});
  CHECK_EQ(file.strings(*file.find("tokenizer.ggml.tokens")).size(), std::size_t{275});
}

TEST_CASE("gguf_fuzz_mutations_never_crash") {
  const auto valid = read_file(g_models + "/tiny.gguf");
  CHECK(parse_ok(valid));
  std::mt19937_64 rng(12345);
  int parsed = 0;
  constexpr int kCases = 20000;
  for (int n = 0; n < kCases; ++n) {
    std::vector<std::uint8_t> bytes = valid;
    switch (n % 4) {
      case 0:  // flip a few bytes in the header region, where the structure lives
        for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) bytes[rng() % 4600] = static_cast<std::uint8_t>(rng());
        break;
      case 1:  // truncate anywhere
        bytes.resize(rng() % bytes.size());
        break;
      case 2: {  // overwrite an aligned 8-byte field with an extreme value
        const std::uint64_t extremes[] = {0, 1, 0xFFFFFFFFull, 0x7FFFFFFFFFFFFFFFull, ~0ull, rng()};
        const std::size_t at = (rng() % 570) * 8;
        const std::uint64_t v = extremes[rng() % 6];
        std::memcpy(bytes.data() + at, &v, 8);
        break;
      }
      default:  // random garbage after a valid magic and version
        bytes.resize(8 + rng() % 512);
        for (std::size_t k = 8; k < bytes.size(); ++k) bytes[k] = static_cast<std::uint8_t>(rng());
        break;
    }
    parsed += parse_ok(bytes);
  }
  CHECK(parsed < kCases);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODELS_DIR [filter]\n", argv[0]);
    return 2;
  }
  g_models = argv[1];
  return check::run(argc > 2 ? argv[2] : nullptr);
}
