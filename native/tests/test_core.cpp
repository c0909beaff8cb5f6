// Unit tests of the shared core's pieces, below the C ABI: UTF-8 decoding, the registry,
// the deterministic math, the tokenizer, and the GGUF parser under mutated input.
//
//   test_core MODELS_DIR [name-filter]
#include <cmath>
#include <cstdint>
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

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Parses `bytes`; any failure must be a MODEL_LOAD_FAILED core::Error (never a crash, never
// another exception). Returns whether it parsed.
bool parse_ok(const std::vector<std::uint8_t>& bytes) {
  try {
    const auto file = core::gguf::File::parse(bytes);
    for (const auto& t : file.tensors()) (void)file.tensor_data(t);
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
