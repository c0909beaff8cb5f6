// Native micro-benchmarks of libworker_ffi (host backend), linked statically so the
// validated export and the unvalidated core can be timed in one process.
//
//   bench_native MODEL.gguf [--tokens N] [--lib path/to/libworker_ffi.so]
//
// 1. Handle validation: median ns per call of the exported getter cuda_model_get_vram_usage
//    (boundary + registry lookup + work) against the same work called directly on the
//    resolved object (no boundary, no lookup). The difference is what validation costs.
//    With --lib, the same getter is also timed through the shared library (dlopen, as the
//    bindings call it, TLS through __tls_get_addr) against cuda_contract_version, an export
//    with no boundary and no handle, called the same way.
// 2. Token throughput: end-to-end cuda_inference_next_token at temperature 0 and 1, and the
//    per-token cost of each stage (logits kernel, finiteness check + argmax / sampling,
//    embedding gather, UTF-8 decoding) measured on the same model.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/handles.hpp"
#include "core/math.hpp"
#include "core/objects.hpp"
#include "core/utf8.hpp"
#include "generated/ffi_impl.hpp"
#include "worker_ffi.h"

namespace {

using Clock = std::chrono::steady_clock;

template <class T>
void keep(const T& value) {
  asm volatile("" : : "r,m"(value) : "memory");  // the optimiser must assume the value is used
}

// Median over `rounds` of the mean ns per call in a batch of `batch` calls.
template <class F>
double median_ns(F&& body, int rounds = 301, int batch = 2000) {
  std::vector<double> samples;
  samples.reserve(rounds);
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = Clock::now();
    for (int i = 0; i < batch; ++i) body();
    const auto t1 = Clock::now();
    samples.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / batch);
  }
  std::nth_element(samples.begin(), samples.begin() + rounds / 2, samples.end());
  return samples[rounds / 2];
}

[[gnu::noinline]] uint64_t unvalidated_getter(worker::core::Model& model) {
  return worker::impl::cuda_model_get_vram_usage(model);
}

[[gnu::noinline]] worker::core::Model* resolve_only(CudaModel* handle) {
  return &worker::core::resolve<CudaModel>(handle, "model");
}

// The getter through a dlopen'ed copy of the product library.
void bench_shared_library(const char* path, const char* model_path) {
  void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    std::printf("  dlopen failed: %s\n", dlerror());
    return;
  }
  auto sym = [&](const char* name) { return dlsym(lib, name); };
  auto init = reinterpret_cast<CudaContext* (*)(int, int*)>(sym("cuda_init"));
  auto load = reinterpret_cast<CudaModel* (*)(CudaContext*, const char*, uint64_t*, int*)>(sym("cuda_load_model"));
  auto getter = reinterpret_cast<uint64_t (*)(CudaModel*)>(sym("cuda_model_get_vram_usage"));
  auto version = reinterpret_cast<const char* (*)()>(sym("cuda_contract_version"));
  auto destroy = reinterpret_cast<void (*)(CudaContext*)>(sym("cuda_destroy"));
  int err = 0;
  uint64_t vram = 0;
  CudaContext* ctx = init(0, &err);
  CudaModel* model = load(ctx, model_path, &vram, &err);
  if (model == nullptr) {
    std::printf("  load through %s failed\n", path);
  } else {
    const double validated = median_ns([&] { keep(getter(model)); });
    const double plain = median_ns([&] { keep(version()); });
    std::printf("  shared library: cuda_model_get_vram_usage %.2f, cuda_contract_version %.2f, added %.2f\n",
                validated, plain, validated - plain);
  }
  destroy(ctx);
  dlclose(lib);
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void bench_validation(CudaModel* handle) {
  worker::core::Model& model = *worker::core::resolve_or_null<CudaModel>(handle);
  const double exported = median_ns([&] { keep(cuda_model_get_vram_usage(handle)); });
  const double direct = median_ns([&] { keep(unvalidated_getter(model)); });
  const double lookup = median_ns([&] { keep(resolve_only(handle)); });
  int err = 0;
  const double residency = median_ns([&] { keep(cuda_check_vram_residency(handle, &err)); }, 101, 500);
  std::printf("handle validation (median ns/call)\n");
  std::printf("  exported cuda_model_get_vram_usage   %7.2f\n", exported);
  std::printf("  unvalidated direct call (baseline)   %7.2f\n", direct);
  std::printf("  added by boundary + validation       %7.2f\n", exported - direct);
  std::printf("  registry resolve alone               %7.2f\n", lookup);
  std::printf("  cuda_check_vram_residency (for scale)%7.2f\n", residency);
}

void bench_tokens(CudaModel* handle, int tokens) {
  worker::core::Model& model = *worker::core::resolve_or_null<CudaModel>(handle);
  const auto& shape = model.shape();
  std::printf("token throughput: d=%u n_vocab=%u weights=%.1f MiB, %d tokens per run\n", shape.d, shape.n_vocab,
              model.weight_bytes() / 1048576.0, tokens);

  for (float temperature : {0.0f, 1.0f}) {
    int err = 0;
    // A prompt whose chain never ends on the tiny model at temperature 0 would stop at EOS;
    // count what was produced and report per generated token.
    InferenceResult* r = cuda_inference_start(handle, "x", tokens, temperature, 1, &err);
    if (r == nullptr) {
      std::printf("  start failed: %s\n", cuda_last_error_detail());
      return;
    }
    char out[256];
    int pieces = 0;
    const auto t0 = Clock::now();
    while (cuda_inference_next_token(r, out, sizeof out, nullptr, &err)) ++pieces;
    const double s = seconds_since(t0);
    cuda_inference_free(r);
    std::printf("  end to end, temperature %.1f: %d pieces in %.3f s = %.0f pieces/s (%.2f us/piece)\n",
                temperature, pieces, s, pieces / s, 1e6 * s / std::max(pieces, 1));
  }

  // Stage costs on the same model, each over `tokens` steps.
  worker::core::Ledger ledger;
  worker::core::DeviceBuffer state(model.context().device(), ledger, shape.d * sizeof(float), "bench state");
  std::vector<float> logits(shape.n_vocab);
  model.embed(state.floats(), 'x');
  const int n = static_cast<int>(shape.n_vocab);

  auto t0 = Clock::now();
  for (int i = 0; i < tokens; ++i) model.logits(state.floats(), logits.data());
  const double logits_us = 1e6 * seconds_since(t0) / tokens;

  t0 = Clock::now();
  int sink = 0;
  for (int i = 0; i < tokens; ++i) {
    for (int v = 0; v < n; ++v) sink += worker::math::is_finite(logits[v]);
    sink += worker::math::argmax(logits.data(), n);
  }
  const double argmax_us = 1e6 * seconds_since(t0) / tokens;

  t0 = Clock::now();
  for (int i = 0; i < tokens; ++i) sink += worker::math::sample(logits.data(), n, 1.0f, worker::math::random_unit(1, i));
  const double sample_us = 1e6 * seconds_since(t0) / tokens;

  t0 = Clock::now();
  for (int i = 0; i < tokens; ++i) model.embed(state.floats(), i % n);
  const double embed_us = 1e6 * seconds_since(t0) / tokens;

  t0 = Clock::now();
  worker::core::utf8::Decoder decoder;
  std::string pending;
  for (int i = 0; i < tokens; ++i) {
    decoder.feed(model.vocab().piece(i % n), pending);
    if (pending.size() > 4096) pending.clear();
  }
  const double decode_us = 1e6 * seconds_since(t0) / tokens;
  keep(sink);

  std::printf("  per-token stages (us): logits %.2f | finite+argmax %.2f | sample (T=1) %.2f | embed %.2f | utf8 %.3f\n",
              logits_us, argmax_us, sample_us, embed_us, decode_us);
  std::printf("  logits bandwidth: %.2f GB/s of weights read\n",
              shape.d * static_cast<double>(shape.n_vocab) * sizeof(float) / (logits_us * 1e3));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.gguf [--tokens N]\n", argv[0]);
    return 2;
  }
  int tokens = 2048;
  const char* shared_library = nullptr;
  for (int i = 2; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--tokens") == 0) tokens = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--lib") == 0) shared_library = argv[i + 1];
  }
  tokens = std::clamp(tokens, 1, 2048);
  int err = 0;
  CudaContext* ctx = cuda_init(0, &err);
  uint64_t vram = 0;
  CudaModel* model = cuda_load_model(ctx, argv[1], &vram, &err);
  if (model == nullptr) {
    std::fprintf(stderr, "load failed: %s\n", cuda_last_error_detail());
    return 1;
  }
  bench_validation(model);
  if (shared_library != nullptr) bench_shared_library(shared_library, argv[1]);
  bench_tokens(model, tokens);
  cuda_destroy(ctx);
  return 0;
}
