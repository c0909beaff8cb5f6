// Loading a worker-tiny GGUF model into a context (Context::load_model).
//
// The file's header is read with pread (core::ModelFile; never mapped), parsed and validated
// completely before any device memory is touched; then the weights are allocated, read from
// the file into the device (Device::upload_file), checked against a file that changed while
// loading, and checked for residency. Any failure unwinds everything allocated so far (RAII),
// so a failed load leaks nothing.
#include <algorithm>
#include <future>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "core/error.hpp"
#include "core/gguf.hpp"
#include "core/model_file.hpp"
#include "core/objects.hpp"
#include "core/trace.hpp"
#include "core/utf8.hpp"

namespace worker::core {
namespace {

constexpr std::string_view kArchitecture = "worker-tiny";
constexpr std::string_view kTokenizer = "worker-bytes";
constexpr std::uint32_t kMaxEmbedding = 4096;
constexpr std::uint64_t kMaxVocab = std::uint64_t{1} << 24;
// The tokenizer's trie grows with the vocabulary's bytes; real vocabularies hold a few MiB
// of token text, so more is a corrupt or hostile file, not a model.
constexpr std::size_t kMaxTokenBytes = 1024;
constexpr std::size_t kMaxVocabBytes = std::size_t{16} << 20;

[[noreturn]] void fail(const std::string& why) { throw Error(CUDA_ERROR_MODEL_LOAD_FAILED, why); }

const gguf::Value& require(const gguf::File& file, const char* key, gguf::ValueType type) {
  const gguf::Value* value = file.find(key);
  if (value == nullptr) fail(std::string("missing metadata '") + key + "'");
  if (value->type != type) {
    fail(std::string("metadata '") + key + "' must be " + gguf::value_type_name(type) + ", found " +
         gguf::value_type_name(value->type));
  }
  return *value;
}

const gguf::TensorInfo& require_weight(const gguf::File& file, const char* name, std::uint32_t d, std::uint64_t n_vocab) {
  const gguf::TensorInfo* t = file.tensor(name);
  if (t == nullptr) fail(std::string("missing tensor '") + name + "'");
  if (t->type != gguf::kTensorF32) fail(std::string("tensor '") + name + "' has type " + std::to_string(t->type) + ", expected F32 (0)");
  if (t->n_dims != 2 || t->ne[0] != d || t->ne[1] != n_vocab) {
    std::string shape = "[";
    for (std::uint32_t k = 0; k < t->n_dims; ++k) shape += (k ? ", " : "") + std::to_string(t->ne[k]);
    fail(std::string("tensor '") + name + "' has shape " + shape + "], expected [d, n_vocab] = [" +
         std::to_string(d) + ", " + std::to_string(n_vocab) + "]");
  }
  return *t;
}

struct Parsed {
  Model::Shape shape;
  std::vector<std::string_view> tokens;
  std::uint32_t eos;
  std::uint64_t embedding_offset;  // in the file
  std::uint64_t output_offset;
};

Parsed validate(const gguf::File& file) {
  const auto& arch = require(file, "general.architecture", gguf::ValueType::string);
  if (arch.str != kArchitecture) {
    fail("unknown architecture '" + utf8::escaped(arch.str, 64) + "' (only 'worker-tiny' is supported)");
  }
  const auto& width = require(file, "worker-tiny.embedding_length", gguf::ValueType::u32);
  if (width.u < 1 || width.u > kMaxEmbedding) fail("worker-tiny.embedding_length " + std::to_string(width.u) + " is outside 1..4096");
  const auto& context = require(file, "worker-tiny.context_length", gguf::ValueType::u32);
  if (context.u < 2) fail("worker-tiny.context_length " + std::to_string(context.u) + " leaves no room to generate");
  const auto& model = require(file, "tokenizer.ggml.model", gguf::ValueType::string);
  if (model.str != kTokenizer) fail("tokenizer.ggml.model '" + utf8::escaped(model.str, 64) + "' is not 'worker-bytes'");
  const auto& tokens = require(file, "tokenizer.ggml.tokens", gguf::ValueType::array);
  if (tokens.elem_type != gguf::ValueType::string) fail("tokenizer.ggml.tokens must be an array of strings");
  if (tokens.count < 256 || tokens.count > kMaxVocab) {
    fail("tokenizer.ggml.tokens has " + std::to_string(tokens.count) + " entries (256..16777216 allowed)");
  }
  const auto& eos = require(file, "tokenizer.ggml.eos_token_id", gguf::ValueType::u32);

  Parsed parsed;
  parsed.shape = {static_cast<std::uint32_t>(width.u), static_cast<std::uint32_t>(tokens.count),
                  static_cast<std::uint32_t>(context.u)};
  parsed.tokens = file.strings(tokens);
  std::size_t vocab_bytes = 0;
  for (std::size_t id = 0; id < parsed.tokens.size(); ++id) {
    if (parsed.tokens[id].size() > kMaxTokenBytes) {
      fail("token " + std::to_string(id) + " is " + std::to_string(parsed.tokens[id].size()) +
           " bytes long (at most 1024 allowed)");
    }
    vocab_bytes += parsed.tokens[id].size();
  }
  if (vocab_bytes > kMaxVocabBytes) {
    fail("tokenizer.ggml.tokens holds " + std::to_string(vocab_bytes) + " bytes of text (at most 16 MiB allowed)");
  }
  parsed.eos = static_cast<std::uint32_t>(eos.u);
  const auto& embd = require_weight(file, "token_embd.weight", parsed.shape.d, tokens.count);
  const auto& out = require_weight(file, "output.weight", parsed.shape.d, tokens.count);
  // Offsets are multiples of the alignment (>= 1, a power of two) from an aligned data
  // section; require 4-byte alignment so the floats can be read in place.
  for (const auto* t : {&embd, &out}) {
    if ((file.data_offset() + t->offset) % alignof(float) != 0) {
      fail("tensor '" + utf8::escaped(t->name, 64) + "' data is not aligned to 4 bytes");
    }
  }
  parsed.embedding_offset = file.file_offset(embd);
  parsed.output_offset = file.file_offset(out);
  return parsed;
}

// Reads the start of the file and parses it, reading more while the header continues past
// what was read (NeedMore); the header of a real model is a few MiB at most.
gguf::File parse_header(const ModelFile& file, std::vector<std::uint8_t>& prefix) {
  constexpr std::uint64_t kFirstRead = std::uint64_t{1} << 20;
  std::uint64_t want = std::min(file.size(), kFirstRead);
  for (;;) {
    const std::size_t have = prefix.size();
    prefix.resize(static_cast<std::size_t>(want));
    file.read(prefix.data() + have, prefix.size() - have, have);
    try {
      return gguf::File::parse(prefix, file.size());
    } catch (const gguf::NeedMore& more) {
      // parse() only asks for bytes inside the file, so this always grows.
      want = std::min(file.size(), std::max(more.bytes, 2 * want));
    }
  }
}

}  // namespace

Model& Context::load_model(const std::string& path) {
  trace::Span whole("load: the whole");
  std::unique_ptr<Model> model;
  try {
    // Parse and validate everything before touching device memory.
    const ModelFile file(path);
    std::vector<std::uint8_t> prefix;
    std::optional<gguf::File> header;
    {
      trace::Span span("load: read and parse the header");
      header.emplace(parse_header(file, prefix));
    }
    std::optional<Parsed> checked;
    {
      trace::Span span("load: validate");
      checked.emplace(validate(*header));
      Vocab::check(checked->tokens, checked->eos);
    }
    const Parsed& parsed = *checked;
    model = std::make_unique<Model>(*this, parsed.shape);
    // The tokenizer (an automaton over the whole vocabulary: milliseconds for tens of
    // thousands of tokens) is built beside the weight upload, which needs no CPU of its own
    // beyond its lanes. `prefix`, which the token texts point into, outlives the task: a
    // future of std::async joins its task when destroyed, and it is declared after `prefix`.
    std::future<Vocab> vocab;
    try {
      vocab = std::async(std::launch::async, [&parsed] {
        trace::Span span("load: build the tokenizer (beside the upload)");
        return Vocab(parsed.tokens, parsed.eos);
      });
    } catch (const std::system_error&) {
      vocab = std::async(std::launch::deferred, [&parsed] { return Vocab(parsed.tokens, parsed.eos); });
    }
    model->upload_weights(file.fd(), parsed.embedding_offset, parsed.output_offset);
    {
      trace::Span span("load: wait for the tokenizer");
      model->adopt_vocab(vocab.get());
    }
    // A file rewritten in place (same size) cannot be caught by short reads.
    file.check_unchanged();
  } catch (const Error& e) {
    throw Error(e.code(), "'" + utf8::escaped(path) + "': " + e.what());
  }

  // Models loaded while EVICT_WEIGHTS is in force get a weight evicted too, and the check
  // below then reports it, as a real load would after the driver moved memory.
  if (evicting_) model->evict_one_weight();
  std::string problem;
  {
    trace::Span span("load: residency check");
    problem = model->residency_problem();
  }
  if (!problem.empty()) throw Error(CUDA_ERROR_VRAM_RESIDENCY_FAILED, "'" + utf8::escaped(path) + "': " + problem);

  model->register_handle();
  std::lock_guard<std::mutex> lock(models_mutex_);
  models_.push_back(std::move(model));
  return *models_.back();
}

}  // namespace worker::core
