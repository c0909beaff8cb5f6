// Behaviour of the whole exported contract through the shared library, one case per rule:
// every function's success path and each error code it declares that this backend can
// produce. Models come from `python -m conformance.models DIR` (the ctest fixture).
//
//   test_ffi MODELS_DIR [name-filter]
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"
#include "worker_ffi.h"

namespace {

std::string g_models;

std::string model_path(const char* name) { return g_models + "/" + name + ".gguf"; }
std::string detail() { return cuda_last_error_detail(); }
bool detail_has(const std::string& needle) { return detail().find(needle) != std::string::npos; }

// A context with tiny.gguf loaded; destroyed (with everything in it) at scope exit.
struct Loaded {
  CudaContext* ctx = nullptr;
  CudaModel* model = nullptr;
  uint64_t vram = 0;
  explicit Loaded(const char* name = "tiny") {
    int err = -1;
    ctx = cuda_init(0, &err);
    CHECK_EQ(err, CUDA_SUCCESS);
    model = cuda_load_model(ctx, model_path(name).c_str(), &vram, &err);
    CHECK_EQ(err, CUDA_SUCCESS);
    CHECK(model != nullptr);
  }
  ~Loaded() { cuda_destroy(ctx); }
};

struct Stream {
  std::vector<std::string> pieces;
  std::vector<int> indices;
  int end_code = -1;
  std::string text() const {
    std::string all;
    for (const auto& p : pieces) all += p;
    return all;
  }
};

Stream drain(InferenceResult* r, int buffer = 256) {
  Stream s;
  std::vector<char> out(static_cast<std::size_t>(buffer));
  int index = -1;
  while (cuda_inference_next_token(r, out.data(), buffer, &index, &s.end_code)) {
    s.pieces.emplace_back(out.data());
    s.indices.push_back(index);
  }
  return s;
}

Stream generate(CudaModel* model, const char* prompt, int max_tokens, float temperature, uint64_t seed) {
  int err = -1;
  InferenceResult* r = cuda_inference_start(model, prompt, max_tokens, temperature, seed, &err);
  CHECK_EQ(err, CUDA_SUCCESS);
  if (r == nullptr) return {};
  Stream s = drain(r);
  cuda_inference_free(r);
  return s;
}

const std::string kReplacement = "\xEF\xBF\xBD";
std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// ------------------------------------------------------------------------ version, errors

TEST_CASE("version_and_hash") {
  CHECK_EQ(std::string(cuda_contract_version()), std::string(WORKER_FFI_VERSION_STRING));
  CHECK_EQ(std::string(cuda_contract_hash()), std::string(WORKER_FFI_CONTRACT_HASH));
  CHECK_EQ(std::string(cuda_contract_hash()).size(), 64u);
}

TEST_CASE("error_messages") {
  CHECK_EQ(std::string(cuda_error_message(CUDA_SUCCESS)), std::string("Success"));
  CHECK_EQ(std::string(cuda_error_message(CUDA_ERROR_CANCELLED)), std::string("Inference cancelled"));
  CHECK_EQ(std::string(cuda_error_message(-7)), std::string("Unrecognized error code"));
  CHECK_EQ(std::string(cuda_error_message(100)), std::string("Unrecognized error code"));
}

TEST_CASE("detail_cleared_by_next_successful_call") {
  int err = -1;
  CHECK(cuda_init(7, &err) == nullptr);
  CHECK(!detail().empty());
  CudaContext* ctx = cuda_init(0, &err);
  CHECK_EQ(err, CUDA_SUCCESS);
  CHECK_EQ(detail(), std::string());
  cuda_destroy(ctx);
}

// -------------------------------------------------------------------------------- context

TEST_CASE("init_and_destroy") {
  CHECK_EQ(cuda_get_device_count(), 1);
  const uint64_t handles = cuda_testing_live_handles();
  int err = -1;
  CudaContext* ctx = cuda_init(0, &err);
  CHECK(ctx != nullptr);
  CHECK_EQ(err, CUDA_SUCCESS);
  CHECK_EQ(cuda_testing_live_handles(), handles + 1);
  CHECK_EQ(cuda_get_process_vram_usage(ctx), uint64_t{0});
  cuda_destroy(ctx);
  cuda_destroy(ctx);      // double destroy: no-op
  cuda_destroy(nullptr);  // NULL: no-op
  CHECK_EQ(cuda_testing_live_handles(), handles);
  // A NULL error_code is tolerated.
  ctx = cuda_init(0, nullptr);
  CHECK(ctx != nullptr);
  cuda_destroy(ctx);
}

TEST_CASE("init_invalid_device") {
  for (int device : {-1, 1, 1000}) {
    int err = -1;
    CHECK(cuda_init(device, &err) == nullptr);
    CHECK_EQ(err, CUDA_ERROR_INVALID_DEVICE);
    CHECK(detail_has("gpu_device"));
  }
  CHECK(cuda_init(1, nullptr) == nullptr);
}

TEST_CASE("init_device_not_found") {
#ifndef WORKER_FFI_TEST_HOST_BACKEND
  return;  // only the host backend can simulate a machine without devices
#endif
  setenv("WORKER_FFI_HOST_DEVICE_COUNT", "0", 1);
  CHECK_EQ(cuda_get_device_count(), 0);
  int err = -1;
  CHECK(cuda_init(0, &err) == nullptr);
  CHECK_EQ(err, CUDA_ERROR_DEVICE_NOT_FOUND);
  unsetenv("WORKER_FFI_HOST_DEVICE_COUNT");
  CHECK_EQ(cuda_get_device_count(), 1);
}

TEST_CASE("init_out_of_memory") {
  const uint64_t handles = cuda_testing_live_handles();
  int err = -1;
  cuda_testing_fail_allocation(1, &err);
  CHECK_EQ(err, CUDA_SUCCESS);
  CHECK(cuda_init(0, &err) == nullptr);
  CHECK_EQ(err, CUDA_ERROR_OUT_OF_MEMORY);
  CHECK_EQ(cuda_testing_live_handles(), handles);
  CudaContext* ctx = cuda_init(0, &err);  // the fault fires once
  CHECK_EQ(err, CUDA_SUCCESS);
  cuda_destroy(ctx);
}

// ---------------------------------------------------------------------------------- model

TEST_CASE("load_model_accounting") {
  const uint64_t tracked = cuda_testing_tracked_bytes();
  {
    Loaded m;
    const uint64_t expected = 2ull * 32 * 275 * sizeof(float);  // two [32, 275] F32 tensors
    CHECK_EQ(m.vram, expected);
    CHECK_EQ(cuda_model_get_vram_usage(m.model), expected);
    CHECK_EQ(cuda_get_vram_usage(m.model), expected);
    CHECK_EQ(cuda_get_process_vram_usage(m.ctx), expected);
    CHECK_EQ(cuda_testing_tracked_bytes(), tracked + expected);
    int err = -1;
    uint64_t vram2 = 0;
    CudaModel* second = cuda_load_model(m.ctx, model_path("tiny").c_str(), &vram2, &err);
    CHECK_EQ(err, CUDA_SUCCESS);
    CHECK_EQ(cuda_get_process_vram_usage(m.ctx), 2 * expected);
    cuda_unload_model(second);
    cuda_unload_model(second);  // double unload: no-op
    cuda_unload_model(nullptr);
    CHECK_EQ(cuda_get_process_vram_usage(m.ctx), expected);
    CHECK_EQ(cuda_model_get_vram_usage(second), uint64_t{0});  // stale
    CHECK(detail_has("stale"));
  }
  CHECK_EQ(cuda_testing_tracked_bytes(), tracked);
}

TEST_CASE("load_model_invalid_parameters") {
  Loaded m;
  uint64_t vram = 12345;
  int err = -1;
  const std::string tiny = model_path("tiny");
  CHECK(cuda_load_model(nullptr, tiny.c_str(), &vram, &err) == nullptr);
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  CHECK(detail_has("ctx: NULL handle"));
  CHECK(cuda_load_model(m.ctx, nullptr, &vram, &err) == nullptr);
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  CHECK(cuda_load_model(m.ctx, "", &vram, &err) == nullptr);
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  CHECK(cuda_load_model(m.ctx, "/tmp/\xC3\x28.gguf", &vram, &err) == nullptr);
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  CHECK(cuda_load_model(m.ctx, tiny.c_str(), nullptr, &err) == nullptr);
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  // Forged and wrong-type handles are told apart from stale ones without dereferencing.
  CHECK(cuda_load_model(reinterpret_cast<CudaContext*>(0x1234), tiny.c_str(), &vram, &err) == nullptr);
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  CHECK(detail_has("not a live CudaContext handle"));
  CHECK(cuda_load_model(reinterpret_cast<CudaContext*>(m.model), tiny.c_str(), &vram, &err) == nullptr);
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  CudaContext* gone = cuda_init(0, nullptr);
  cuda_destroy(gone);
  CHECK(cuda_load_model(gone, tiny.c_str(), &vram, &err) == nullptr);
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  CHECK(detail_has("stale handle"));
  CHECK_EQ(vram, uint64_t{12345});  // written only on success
  CHECK(cuda_load_model(nullptr, tiny.c_str(), &vram, nullptr) == nullptr);  // NULL error_code
}

TEST_CASE("load_model_failures_name_the_problem") {
  Loaded m;
  const uint64_t process = cuda_get_process_vram_usage(m.ctx);
  const uint64_t handles = cuda_testing_live_handles();
  const std::pair<const char*, const char*> cases[] = {
      {"bad_magic", "bad magic"},
      {"bad_version", "version 2"},
      {"truncated_header", "truncated header"},
      {"truncated_data", "truncated data"},
      {"tensor_outside_file", "outside the file"},
      {"wrong_shape", "has shape"},
      {"missing_tensor", "missing tensor 'output.weight'"},
      {"absurd_counts", "absurd count"},
      {"unknown_arch", "unknown architecture 'llama'"},
      {"missing_byte_token", "<0x41>"},
      {"does_not_exist", "cannot open"},
  };
  for (const auto& [name, needle] : cases) {
    int err = -1;
    uint64_t vram = 0;
    CHECK(cuda_load_model(m.ctx, model_path(name).c_str(), &vram, &err) == nullptr);
    CHECK_EQ(err, CUDA_ERROR_MODEL_LOAD_FAILED);
    if (!detail_has(needle)) check::fail(__FILE__, __LINE__, std::string(name) + ": detail '" + detail() + "' lacks '" + needle + "'");
  }
  int err = -1;
  uint64_t vram = 0;
  CHECK(cuda_load_model(m.ctx, g_models.c_str(), &vram, &err) == nullptr);  // a directory
  CHECK_EQ(err, CUDA_ERROR_MODEL_LOAD_FAILED);
  CHECK_EQ(cuda_get_process_vram_usage(m.ctx), process);
  CHECK_EQ(cuda_testing_live_handles(), handles);
}

TEST_CASE("load_model_out_of_memory_leaks_nothing") {
  Loaded m;
  for (int nth : {1, 2}) {  // the first and the second weight allocation
    const uint64_t tracked = cuda_testing_tracked_bytes();
    const uint64_t handles = cuda_testing_live_handles();
    int err = -1;
    uint64_t vram = 0;
    cuda_testing_fail_allocation(nth, nullptr);
    CHECK(cuda_load_model(m.ctx, model_path("tiny").c_str(), &vram, &err) == nullptr);
    CHECK_EQ(err, CUDA_ERROR_OUT_OF_MEMORY);
    CHECK(detail_has("tensor '"));
    CHECK_EQ(cuda_testing_tracked_bytes(), tracked);
    CHECK_EQ(cuda_testing_live_handles(), handles);
  }
  int err = -1;
  cuda_testing_fail_allocation(5, nullptr);
  cuda_testing_fail_allocation(0, &err);  // disarm
  CHECK_EQ(err, CUDA_SUCCESS);
  uint64_t vram = 0;
  CudaModel* model = cuda_load_model(m.ctx, model_path("tiny").c_str(), &vram, &err);
  CHECK_EQ(err, CUDA_SUCCESS);
  cuda_unload_model(model);
}

TEST_CASE("load_model_residency_failure") {
  Loaded m;
  const uint64_t process = cuda_get_process_vram_usage(m.ctx);
  int err = -1;
  cuda_testing_inject_fault(m.ctx, CUDA_FAULT_EVICT_WEIGHTS, &err);
  CHECK_EQ(err, CUDA_SUCCESS);
  uint64_t vram = 0;
  CHECK(cuda_load_model(m.ctx, model_path("tiny").c_str(), &vram, &err) == nullptr);
  CHECK_EQ(err, CUDA_ERROR_VRAM_RESIDENCY_FAILED);
  CHECK(detail_has("output.weight"));
  CHECK_EQ(cuda_get_process_vram_usage(m.ctx), process);
  cuda_testing_inject_fault(m.ctx, CUDA_FAULT_NONE, &err);
  CudaModel* model = cuda_load_model(m.ctx, model_path("tiny").c_str(), &vram, &err);
  CHECK_EQ(err, CUDA_SUCCESS);
  cuda_unload_model(model);
}

// ------------------------------------------------------------------------------ inference

TEST_CASE("greedy_streams") {
  Loaded m;
  Stream s = generate(m.model, "Hello", 64, 0.0f, 0);
  const std::vector<std::string> expected = {" world", ",", " \xE6\x97\xA5\xE6\x9C\xAC", "\xE8\xAA\x9E",
                                             "\xE2\x82\xAC", "!", "\xF0\x9F\x98\x80", " caf\xC3\xA9"};
  CHECK(s.pieces == expected);
  CHECK_EQ(s.end_code, CUDA_SUCCESS);
  for (std::size_t i = 0; i < s.indices.size(); ++i) CHECK_EQ(s.indices[i], static_cast<int>(i));
  // Ill-formed bytes become U+FFFD by maximal subpart; a dangling lead byte at the end too.
  s = generate(m.model, "Hi", 64, 0.0f, 0);
  CHECK_EQ(s.text(), " there" + kReplacement + "?" + kReplacement + kReplacement);
  // A tie between " cat" and " dog": the lower id wins.
  CHECK_EQ(generate(m.model, "See the", 64, 0.0f, 0).text(), std::string(" cat sat"));
  // Temperature 0 ignores the seed.
  CHECK_EQ(generate(m.model, "Hello", 64, 0.0f, 987).text(), generate(m.model, "Hello", 64, 0.0f, 1).text());
}

TEST_CASE("long_piece_is_split_at_a_character_boundary") {
  Loaded m;
  Stream s = generate(m.model, "Long", 64, 0.0f, 0);
  CHECK_EQ(s.pieces.size(), 2u);
  if (s.pieces.size() == 2) {
    CHECK_EQ(s.pieces[0].size(), 254u);  // 127 two-byte characters fit 255 bytes
    CHECK_EQ(s.pieces[1].size(), 46u);
  }
  CHECK_EQ(s.text(), repeat("\xC3\xBC", 150));
}

TEST_CASE("max_tokens_cuts_a_character") {
  Loaded m;
  // Six tokens end inside "€" (E2 82 of E2 82 AC): the dangling bytes become one U+FFFD.
  Stream s = generate(m.model, "Hello", 6, 0.0f, 0);
  CHECK_EQ(s.text(), " world, \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E" + kReplacement);
  CHECK_EQ(s.end_code, CUDA_SUCCESS);
  CHECK_EQ(generate(m.model, "Hello", 1, 0.0f, 0).text(), std::string(" world"));
}

TEST_CASE("end_of_stream_is_sticky") {
  Loaded m;
  int err = -1;
  InferenceResult* r = cuda_inference_start(m.model, "See the", 64, 0.0f, 0, &err);
  drain(r);
  char out[16] = "unchanged";
  int index = -5;
  for (int k = 0; k < 3; ++k) {
    CHECK(!cuda_inference_next_token(r, out, sizeof out, &index, &err));
    CHECK_EQ(err, CUDA_SUCCESS);
  }
  CHECK_EQ(std::string(out), std::string("unchanged"));  // out-params untouched when false
  CHECK_EQ(index, -5);
  cuda_inference_free(r);
}

TEST_CASE("seeded_sampling_reproduces") {
  Loaded m;
  const std::string a = generate(m.model, "x", 100, 1.0f, 42).text();
  CHECK_EQ(generate(m.model, "x", 100, 1.0f, 42).text(), a);
  bool differs = false;
  for (uint64_t seed = 1; seed < 8; ++seed) differs |= generate(m.model, "x", 100, 1.0f, seed).text() != a;
  CHECK(differs);
  // At temperature 2 the fork after " the" goes both ways across seeds.
  bool cat = false, dog = false;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    const std::string t = generate(m.model, "See the", 1, 2.0f, seed).text();
    cat |= t == " cat";
    dog |= t == " dog";
  }
  CHECK(cat && dog);
}

TEST_CASE("too_small_buffer_keeps_the_piece") {
  Loaded m;
  int err = -1;
  InferenceResult* r = cuda_inference_start(m.model, "Hello", 64, 0.0f, 0, &err);
  char small[4];
  int index = -1;
  CHECK(!cuda_inference_next_token(r, small, sizeof small, &index, &err));
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  CHECK(detail_has("token_out: piece needs 7 bytes, buffer has 4"));
  CHECK_EQ(index, -1);
  char big[7];
  CHECK(cuda_inference_next_token(r, big, sizeof big, &index, &err));  // exactly fits
  CHECK_EQ(std::string(big), std::string(" world"));
  CHECK_EQ(index, 0);
  CHECK(cuda_inference_next_token(r, big, sizeof big, nullptr, &err));  // token_index may be NULL
  CHECK_EQ(std::string(big), std::string(","));
  cuda_inference_free(r);
}

TEST_CASE("inference_invalid_parameters") {
  Loaded m;
  int err = -1;
  struct Bad {
    CudaModel* model;
    const char* prompt;
    int max_tokens;
    float temperature;
  };
  const Bad cases[] = {
      {nullptr, "Hello", 8, 0.0f},
      {reinterpret_cast<CudaModel*>(m.ctx), "Hello", 8, 0.0f},
      {m.model, nullptr, 8, 0.0f},
      {m.model, "", 8, 0.0f},
      {m.model, "\xFF", 8, 0.0f},
      {m.model, "Hello", 0, 0.0f},
      {m.model, "Hello", 2049, 0.0f},
      {m.model, "Hello", -3, 0.0f},
      {m.model, "Hello", 8, -0.5f},
      {m.model, "Hello", 8, 2.5f},
      {m.model, "Hello", 8, NAN},
      {m.model, "Hello", 8, INFINITY},
  };
  for (const auto& c : cases) {
    err = -1;
    CHECK(cuda_inference_start(c.model, c.prompt, c.max_tokens, c.temperature, 0, &err) == nullptr);
    CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  }
  // A prompt that fills the context length (4096 tokens) leaves no room to generate.
  const std::string huge(4096, 'a');
  CHECK(cuda_inference_start(m.model, huge.c_str(), 8, 0.0f, 0, &err) == nullptr);
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  CHECK(detail_has("context length"));

  InferenceResult* r = cuda_inference_start(m.model, "Hello", 8, 0.0f, 0, &err);
  char out[256];
  CHECK(!cuda_inference_next_token(nullptr, out, 256, nullptr, &err));
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  CHECK(!cuda_inference_next_token(r, nullptr, 256, nullptr, &err));
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  for (int size : {0, -1}) {
    CHECK(!cuda_inference_next_token(r, out, size, nullptr, &err));
    CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  }
  cuda_inference_cancel(nullptr, &err);
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  cuda_inference_free(r);
  CHECK(!cuda_inference_next_token(r, out, 256, nullptr, &err));  // stale
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  CHECK(detail_has("stale"));
  cuda_inference_cancel(r, &err);
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  cuda_inference_free(r);  // double free: no-op
  cuda_inference_free(nullptr);
}

TEST_CASE("inference_state_is_accounted") {
  Loaded m;
  const uint64_t before = cuda_get_process_vram_usage(m.ctx);
  int err = -1;
  InferenceResult* r = cuda_inference_start(m.model, "Hello", 100, 0.0f, 0, &err);
#ifdef WORKER_FFI_TEST_HOST_BACKEND
  CHECK_EQ(cuda_get_process_vram_usage(m.ctx), before + 100ull * 32 * sizeof(float));
#else  // a device backend adds its per-step scratch to the same accounted allocation
  CHECK(cuda_get_process_vram_usage(m.ctx) >= before + 100ull * 32 * sizeof(float));
#endif
  CHECK_EQ(cuda_model_get_vram_usage(m.model), m.vram);  // weights only
  cuda_inference_free(r);
  CHECK_EQ(cuda_get_process_vram_usage(m.ctx), before);
  // Out of memory for the state: NULL, nothing charged.
  cuda_testing_fail_allocation(1, nullptr);
  CHECK(cuda_inference_start(m.model, "Hello", 100, 0.0f, 0, &err) == nullptr);
  CHECK_EQ(err, CUDA_ERROR_OUT_OF_MEMORY);
  CHECK_EQ(cuda_get_process_vram_usage(m.ctx), before);
}

TEST_CASE("cancel") {
  Loaded m;
  int err = -1;
  InferenceResult* r = cuda_inference_start(m.model, "Hello", 64, 0.0f, 0, &err);
  char out[256];
  CHECK(cuda_inference_next_token(r, out, 256, nullptr, &err));
  cuda_inference_cancel(r, &err);
  CHECK_EQ(err, CUDA_SUCCESS);
  cuda_inference_cancel(r, nullptr);  // idempotent
  for (int k = 0; k < 2; ++k) {
    CHECK(!cuda_inference_next_token(r, out, 256, nullptr, &err));
    CHECK_EQ(err, CUDA_ERROR_CANCELLED);
  }
  cuda_inference_free(r);
}

TEST_CASE("cancel_from_another_thread") {
  Loaded m;
  int err = -1;
  InferenceResult* r = cuda_inference_start(m.model, "x", 2048, 2.0f, 7, &err);
  std::atomic<int> produced{0};
  std::atomic<bool> done{false};
  std::thread canceller([&] {
    while (produced.load() < 5 && !done.load()) std::this_thread::yield();
    cuda_inference_cancel(r, nullptr);
  });
  char out[256];
  int code = -1;
  while (cuda_inference_next_token(r, out, 256, nullptr, &code)) produced.fetch_add(1);
  done.store(true);
  canceller.join();
  // Either the stream was cancelled, or (unlikely) it had already ended by EOS.
  CHECK(code == CUDA_ERROR_CANCELLED || (code == CUDA_SUCCESS && produced.load() < 2048));
  cuda_inference_free(r);
}

TEST_CASE("inference_failed_on_overflowing_logits") {
  Loaded m("overflow");
  int err = -1;
  InferenceResult* r = cuda_inference_start(m.model, "Hello", 8, 0.0f, 0, &err);
  CHECK_EQ(err, CUDA_SUCCESS);
  char out[256];
  CHECK(!cuda_inference_next_token(r, out, 256, nullptr, &err));
  CHECK_EQ(err, CUDA_ERROR_INFERENCE_FAILED);
  CHECK(detail_has("not finite"));
  cuda_inference_free(r);
}

TEST_CASE("device_lost") {
  Loaded m;
  int err = -1;
  CHECK(cuda_check_device_health(m.ctx, &err));
  CHECK_EQ(err, CUDA_SUCCESS);
  InferenceResult* r = cuda_inference_start(m.model, "Hello", 64, 0.0f, 0, &err);
  cuda_testing_inject_fault(m.ctx, CUDA_FAULT_DEVICE_LOST, &err);
  CHECK_EQ(err, CUDA_SUCCESS);
  CHECK(!cuda_check_device_health(m.ctx, &err));
  CHECK_EQ(err, CUDA_SUCCESS);  // false with code 0: the device is unhealthy
  CHECK(detail_has("device lost"));
  char out[256];
  CHECK(!cuda_inference_next_token(r, out, 256, nullptr, &err));
  CHECK_EQ(err, CUDA_ERROR_KERNEL_LAUNCH_FAILED);
  CHECK(cuda_inference_start(m.model, "Hello", 8, 0.0f, 0, &err) == nullptr);
  CHECK_EQ(err, CUDA_ERROR_KERNEL_LAUNCH_FAILED);
  uint64_t vram = 0;
  CHECK(cuda_load_model(m.ctx, model_path("tiny").c_str(), &vram, &err) == nullptr);
  CHECK_EQ(err, CUDA_ERROR_MODEL_LOAD_FAILED);
  // Clearing the fault: the failed step is retried and the stream is unchanged.
  cuda_testing_inject_fault(m.ctx, CUDA_FAULT_NONE, &err);
  CHECK(cuda_check_device_health(m.ctx, &err));
  CHECK_EQ(drain(r).text(), " world, \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE2\x82\xAC!\xF0\x9F\x98\x80 caf\xC3\xA9");
  cuda_inference_free(r);
}

// --------------------------------------------------------------------------------- health

TEST_CASE("residency") {
  Loaded m;
  int err = -1;
  CHECK(cuda_check_vram_residency(m.model, &err));
  CHECK_EQ(err, CUDA_SUCCESS);
  const uint64_t process = cuda_get_process_vram_usage(m.ctx);
  cuda_testing_inject_fault(m.ctx, CUDA_FAULT_EVICT_WEIGHTS, &err);
  CHECK(!cuda_check_vram_residency(m.model, &err));
  CHECK_EQ(err, CUDA_SUCCESS);
  CHECK(detail_has("tensor 'output.weight'"));
  CHECK_EQ(cuda_get_process_vram_usage(m.ctx), process);  // moved, not freed
  // Inference still reads the evicted weights correctly.
  CHECK_EQ(generate(m.model, "See the", 64, 0.0f, 0).text(), std::string(" cat sat"));
  cuda_testing_inject_fault(m.ctx, CUDA_FAULT_NONE, &err);
  CHECK(cuda_check_vram_residency(m.model, &err));
  CHECK(!cuda_check_vram_residency(nullptr, &err));
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  CHECK(!cuda_check_device_health(nullptr, &err));
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
}

TEST_CASE("getters_without_error_channel") {
  CHECK_EQ(cuda_model_get_vram_usage(nullptr), uint64_t{0});
  CHECK(detail_has("model: NULL handle"));
  CHECK_EQ(cuda_get_vram_usage(reinterpret_cast<CudaModel*>(0xDEADBEEF)), uint64_t{0});
  CHECK(detail_has("not a live CudaModel handle"));
  CHECK_EQ(cuda_get_process_vram_usage(nullptr), uint64_t{0});
  CHECK(detail_has("ctx: NULL handle"));
}

// -------------------------------------------------------------------------------- testing

TEST_CASE("testing_hooks_reject_bad_arguments") {
  int err = -1;
  cuda_testing_fail_allocation(-1, &err);
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  Loaded m;
  for (int fault : {-1, 3}) {
    cuda_testing_inject_fault(m.ctx, fault, &err);
    CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  }
  cuda_testing_inject_fault(nullptr, CUDA_FAULT_NONE, &err);
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
}

// ------------------------------------------------------------------------------ lifecycle

TEST_CASE("destroying_a_parent_destroys_children") {
  const uint64_t tracked = cuda_testing_tracked_bytes();
  const uint64_t handles = cuda_testing_live_handles();
  int err = -1;
  CudaContext* ctx = cuda_init(0, &err);
  uint64_t vram = 0;
  CudaModel* a = cuda_load_model(ctx, model_path("tiny").c_str(), &vram, &err);
  CudaModel* b = cuda_load_model(ctx, model_path("tiny").c_str(), &vram, &err);
  InferenceResult* ra = cuda_inference_start(a, "Hello", 16, 0.0f, 0, &err);
  InferenceResult* rb = cuda_inference_start(b, "Hello", 16, 0.0f, 0, &err);
  CHECK_EQ(cuda_testing_live_handles(), handles + 5);
  cuda_unload_model(a);  // takes ra with it
  char out[256];
  CHECK(!cuda_inference_next_token(ra, out, 256, nullptr, &err));
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  CHECK(cuda_inference_next_token(rb, out, 256, nullptr, &err));
  cuda_destroy(ctx);  // takes b and rb
  CHECK(!cuda_inference_next_token(rb, out, 256, nullptr, &err));
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  CHECK(!cuda_check_vram_residency(b, &err));
  CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
  cuda_inference_free(rb);
  cuda_unload_model(b);
  cuda_destroy(ctx);
  CHECK_EQ(cuda_testing_live_handles(), handles);
  CHECK_EQ(cuda_testing_tracked_bytes(), tracked);
}

TEST_CASE("threads_create_use_and_destroy_contexts") {
  const uint64_t tracked = cuda_testing_tracked_bytes();
  const uint64_t handles = cuda_testing_live_handles();
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        int err = -1;
        CudaContext* ctx = cuda_init(0, &err);
        uint64_t vram = 0;
        CudaModel* model = cuda_load_model(ctx, model_path("tiny").c_str(), &vram, &err);
        if (model == nullptr) {
          wrong.fetch_add(1);
        } else {
          const char* prompt = (t + round) % 2 ? "Hello" : "See the";
          const std::string want = (t + round) % 2 ? " world, \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE2\x82\xAC!\xF0\x9F\x98\x80 caf\xC3\xA9" : " cat sat";
          if (generate(model, prompt, 64, 0.0f, 0).text() != want) wrong.fetch_add(1);
          if (cuda_model_get_vram_usage(model) != vram) wrong.fetch_add(1);
        }
        cuda_destroy(ctx);
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK_EQ(wrong.load(), 0);
  CHECK_EQ(cuda_testing_live_handles(), handles);
  CHECK_EQ(cuda_testing_tracked_bytes(), tracked);
}

TEST_CASE("safe_functions_from_many_threads") {
  Loaded m;
  int err = -1;
  InferenceResult* r = cuda_inference_start(m.model, "x", 2048, 1.0f, 3, &err);
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        int code = -1;
        if (cuda_model_get_vram_usage(m.model) != m.vram) wrong.fetch_add(1);
        if (!cuda_check_vram_residency(m.model, &code) || code != 0) wrong.fetch_add(1);
        if (!cuda_check_device_health(m.ctx, &code) || code != 0) wrong.fetch_add(1);
        if (cuda_get_process_vram_usage(m.ctx) < m.vram) wrong.fetch_add(1);
        if (cuda_get_device_count() != 1) wrong.fetch_add(1);
        (void)cuda_testing_tracked_bytes();
        (void)cuda_testing_live_handles();
      }
    });
  }
  char out[256];
  for (int k = 0; k < 200 && cuda_inference_next_token(r, out, 256, nullptr, &err); ++k) {
  }
  stop.store(true);
  for (auto& th : readers) th.join();
  CHECK_EQ(wrong.load(), 0);
  cuda_inference_free(r);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODELS_DIR [filter]\n(write the models with: python -m conformance.models MODELS_DIR)\n", argv[0]);
    return 2;
  }
  g_models = argv[1];
  return check::run(argc > 2 ? argv[2] : nullptr);
}
