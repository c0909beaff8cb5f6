// One small program for the GPU run (bench/gpu/run_gpu.sh): timing probes, the stream driver
// of the host-vs-cuda differential, and the scenario that compute-sanitizer watches.
//
//   gpu_driver init-bare                       bare runtime context creation (seconds)
//   gpu_driver init-ffi LIB                    cuda_init(0) of LIB (seconds)
//   gpu_driver ceiling FILE THREADS REPS       parallel page cache -> pinned copy (GB/s)
//   gpu_driver pageable FILE REPS              the original design: 1 MiB pageable chunks (GB/s)
//   gpu_driver h2d BYTES REPS                  pinned -> device copy (GB/s)
//   gpu_driver load LIB FILE REPS [IDLE_MS]    cuda_load_model (GB/s per load); IDLE_MS: a pause
//                                              between cuda_init and the first load
//   gpu_driver streams LIB FILE CASES          one line per case: code and the stream in hex
//   gpu_driver tokens LIB FILE MAX REPS [T]    generation speed (pieces/s) at temperature T (0.8)
//   gpu_driver d2d BYTES REPS                  device -> device copy (GB/s of bytes copied)
//   gpu_driver pin BYTES                       seconds to page-lock BYTES: cudaHostAlloc in one
//                                              piece, in 2 MiB pieces, and anonymous memory with
//                                              huge pages + cudaHostRegister
//   gpu_driver scenario LIB DIR                every device path and bad input, checked
//
// The library is dlopen'ed by path, so one binary drives the host and the cuda builds; its
// loading is never inside a timed region. Results are single JSON lines on stdout.
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "worker_ffi.h"

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "gpu_driver: %s\n", why.c_str());
  std::exit(2);
}

void cuda_ok(cudaError_t status, const char* what) {
  if (status != cudaSuccess) die(std::string(what) + ": " + cudaGetErrorString(status));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

std::string json_list(const std::vector<double>& v) {
  std::ostringstream out;
  out << '[';
  for (std::size_t k = 0; k < v.size(); ++k) out << (k ? ", " : "") << v[k];
  out << ']';
  return out.str();
}

std::size_t file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) die("cannot stat " + path);
  return static_cast<std::size_t>(st.st_size);
}

// ------------------------------------------------------------------------ the library

// The contract's functions, looked up in a library opened by path.
struct Ffi {
#define WORKER_FFI_FN(name) decltype(&::name) name = nullptr;
  WORKER_FFI_FN(cuda_init)
  WORKER_FFI_FN(cuda_destroy)
  WORKER_FFI_FN(cuda_get_device_count)
  WORKER_FFI_FN(cuda_load_model)
  WORKER_FFI_FN(cuda_unload_model)
  WORKER_FFI_FN(cuda_inference_start)
  WORKER_FFI_FN(cuda_inference_next_token)
  WORKER_FFI_FN(cuda_inference_cancel)
  WORKER_FFI_FN(cuda_inference_free)
  WORKER_FFI_FN(cuda_check_vram_residency)
  WORKER_FFI_FN(cuda_get_process_vram_usage)
  WORKER_FFI_FN(cuda_check_device_health)
  WORKER_FFI_FN(cuda_last_error_detail)
  WORKER_FFI_FN(cuda_testing_fail_allocation)
  WORKER_FFI_FN(cuda_testing_inject_fault)
  WORKER_FFI_FN(cuda_testing_tracked_bytes)
  WORKER_FFI_FN(cuda_testing_live_handles)
#undef WORKER_FFI_FN

  explicit Ffi(const std::string& path) {
    void* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) die("dlopen " + path + ": " + ::dlerror());
#define WORKER_FFI_BIND(name)                                              \
  name = reinterpret_cast<decltype(name)>(::dlsym(lib, #name));            \
  if (name == nullptr) die("symbol " #name " missing from " + path);
    WORKER_FFI_BIND(cuda_init)
    WORKER_FFI_BIND(cuda_destroy)
    WORKER_FFI_BIND(cuda_get_device_count)
    WORKER_FFI_BIND(cuda_load_model)
    WORKER_FFI_BIND(cuda_unload_model)
    WORKER_FFI_BIND(cuda_inference_start)
    WORKER_FFI_BIND(cuda_inference_next_token)
    WORKER_FFI_BIND(cuda_inference_cancel)
    WORKER_FFI_BIND(cuda_inference_free)
    WORKER_FFI_BIND(cuda_check_vram_residency)
    WORKER_FFI_BIND(cuda_get_process_vram_usage)
    WORKER_FFI_BIND(cuda_check_device_health)
    WORKER_FFI_BIND(cuda_last_error_detail)
    WORKER_FFI_BIND(cuda_testing_fail_allocation)
    WORKER_FFI_BIND(cuda_testing_inject_fault)
    WORKER_FFI_BIND(cuda_testing_tracked_bytes)
    WORKER_FFI_BIND(cuda_testing_live_handles)
#undef WORKER_FFI_BIND
  }

  std::string detail() const { return cuda_last_error_detail(); }
};

CudaContext* must_init(const Ffi& ffi) {
  int code = -1;
  CudaContext* ctx = ffi.cuda_init(0, &code);
  if (ctx == nullptr) die("cuda_init(0): code " + std::to_string(code) + ": " + ffi.detail());
  return ctx;
}

CudaModel* must_load(const Ffi& ffi, CudaContext* ctx, const std::string& path, std::uint64_t* bytes = nullptr) {
  int code = -1;
  std::uint64_t used = 0;
  CudaModel* model = ffi.cuda_load_model(ctx, path.c_str(), &used, &code);
  if (model == nullptr) die("cuda_load_model(" + path + "): code " + std::to_string(code) + ": " + ffi.detail());
  if (bytes != nullptr) *bytes = used;
  return model;
}

// Generates to the end; returns the code that ended it (0: the sequence ended normally).
int generate(const Ffi& ffi, CudaModel* model, const std::string& prompt, int max_tokens, float temperature,
             std::uint64_t seed, std::string& text, int* pieces = nullptr) {
  int code = -1;
  InferenceResult* run = ffi.cuda_inference_start(model, prompt.c_str(), max_tokens, temperature, seed, &code);
  if (run == nullptr) return code;
  char piece[256];
  int count = 0;
  while (ffi.cuda_inference_next_token(run, piece, sizeof piece, nullptr, &code)) {
    text += piece;
    ++count;
  }
  ffi.cuda_inference_free(run);
  if (pieces != nullptr) *pieces = count;
  return code;
}

// ------------------------------------------------------------------------ timing probes

int init_bare() {
  const auto t0 = Clock::now();
  cuda_ok(cudaSetDevice(0), "cudaSetDevice");
  cuda_ok(cudaFree(nullptr), "cudaFree(0)");  // the classic idiom: make sure the context exists
  const double s = seconds_since(t0);
  std::printf("{\"seconds\": %.6f}\n", s);
  return 0;
}

int init_ffi(const std::string& lib) {
  Ffi ffi(lib);
  const auto t0 = Clock::now();
  CudaContext* ctx = must_init(ffi);
  const double s = seconds_since(t0);
  ffi.cuda_destroy(ctx);
  std::printf("{\"seconds\": %.6f}\n", s);
  return 0;
}

// Reads [0, size) of `fd` with `threads` threads in 2 MiB chunks dealt round-robin. Each
// chunk goes to dst(thread, chunk index).
template <class Dst>
double parallel_read(int fd, std::size_t size, int threads, Dst dst) {
  constexpr std::size_t kChunk = std::size_t{2} << 20;
  const std::size_t chunks = (size + kChunk - 1) / kChunk;
  const auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (std::size_t c = t; c < chunks; c += threads) {
        const std::size_t len = std::min(kChunk, size - c * kChunk);
        std::size_t done = 0;
        while (done < len) {
          const ssize_t got = ::pread(fd, dst(t, c) + done, len - done, static_cast<off_t>(c * kChunk + done));
          if (got <= 0) die("pread failed");
          done += static_cast<std::size_t>(got);
        }
      }
    });
  }
  for (auto& thread : pool) thread.join();
  return seconds_since(t0);
}

// The host-side ceiling: the same file copied from the page cache into pinned memory by
// several threads, (a) into one file-sized pinned buffer and (b) into two reused 2 MiB pinned
// buffers per thread (what the loader does, so the destination can stay in the CPU caches).
int ceiling(const std::string& path, int threads, int reps) {
  const std::size_t size = file_size(path);
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) die("open " + path);
  char* whole = nullptr;
  cuda_ok(cudaHostAlloc(reinterpret_cast<void**>(&whole), size, cudaHostAllocDefault), "cudaHostAlloc(file)");
  std::memset(whole, 0, size);
  std::vector<char*> lanes(static_cast<std::size_t>(threads) * 2);
  for (auto& p : lanes) {
    cuda_ok(cudaHostAlloc(reinterpret_cast<void**>(&p), std::size_t{2} << 20, cudaHostAllocDefault), "cudaHostAlloc(lane)");
    std::memset(p, 0, std::size_t{2} << 20);
  }
  std::vector<double> whole_gbs, lanes_gbs;
  for (int r = 0; r < reps; ++r) {
    const double a = parallel_read(fd, size, threads, [&](int, std::size_t c) { return whole + c * (std::size_t{2} << 20); });
    const double b = parallel_read(fd, size, threads, [&](int t, std::size_t c) {
      return lanes[static_cast<std::size_t>(t) * 2 + (c / static_cast<std::size_t>(threads)) % 2];
    });
    whole_gbs.push_back(size / a / 1e9);
    lanes_gbs.push_back(size / b / 1e9);
  }
  std::printf("{\"threads\": %d, \"bytes\": %zu, \"to_file_sized_pinned_gbs\": %.3f, \"to_pinned_lanes_gbs\": %.3f, "
              "\"runs_file_sized\": %s, \"runs_lanes\": %s}\n",
              threads, size, median(whole_gbs), median(lanes_gbs), json_list(whole_gbs).c_str(), json_list(lanes_gbs).c_str());
  ::close(fd);
  return 0;
}

// The original design (reference facts: "chunked H2D copy (1 MB chunks)"): the file read in
// 1 MiB pieces into pageable memory, each followed by a synchronous cudaMemcpy.
int pageable(const std::string& path, int reps) {
  const std::size_t size = file_size(path);
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) die("open " + path);
  constexpr std::size_t kChunk = std::size_t{1} << 20;
  std::vector<char> buffer(kChunk);
  char* device = nullptr;
  cuda_ok(cudaMalloc(reinterpret_cast<void**>(&device), size), "cudaMalloc");
  std::vector<double> gbs;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    for (std::size_t at = 0; at < size; at += kChunk) {
      const std::size_t len = std::min(kChunk, size - at);
      if (::pread(fd, buffer.data(), len, static_cast<off_t>(at)) != static_cast<ssize_t>(len)) die("pread failed");
      cuda_ok(cudaMemcpy(device + at, buffer.data(), len, cudaMemcpyHostToDevice), "cudaMemcpy");
    }
    gbs.push_back(size / seconds_since(t0) / 1e9);
  }
  cuda_ok(cudaFree(device), "cudaFree");
  std::printf("{\"bytes\": %zu, \"gbs\": %.3f, \"runs\": %s}\n", size, median(gbs), json_list(gbs).c_str());
  return 0;
}

int h2d(std::size_t bytes, int reps) {
  char* host = nullptr;
  char* device = nullptr;
  cuda_ok(cudaHostAlloc(reinterpret_cast<void**>(&host), bytes, cudaHostAllocDefault), "cudaHostAlloc");
  std::memset(host, 1, bytes);
  cuda_ok(cudaMalloc(reinterpret_cast<void**>(&device), bytes), "cudaMalloc");
  std::vector<double> gbs;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    cuda_ok(cudaMemcpy(device, host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
    gbs.push_back(bytes / seconds_since(t0) / 1e9);
  }
  std::printf("{\"bytes\": %zu, \"gbs\": %.3f, \"runs\": %s}\n", bytes, median(gbs), json_list(gbs).c_str());
  return 0;
}

int load(const std::string& lib, const std::string& path, int reps, int idle_ms = 0) {
  Ffi ffi(lib);
  const std::size_t size = file_size(path);
  CudaContext* ctx = must_init(ffi);
  if (idle_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(idle_ms));
  std::vector<double> gbs;
  std::uint64_t weights = 0;
  bool resident = true;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    CudaModel* model = must_load(ffi, ctx, path, &weights);
    gbs.push_back(size / seconds_since(t0) / 1e9);
    int code = -1;
    resident = resident && ffi.cuda_check_vram_residency(model, &code) && code == 0;
    ffi.cuda_unload_model(model);
  }
  const std::uint64_t left = ffi.cuda_testing_tracked_bytes();
  ffi.cuda_destroy(ctx);
  std::vector<double> steady(gbs.begin() + (gbs.size() > 1 ? 1 : 0), gbs.end());
  std::printf("{\"file_bytes\": %zu, \"weight_bytes\": %llu, \"first_gbs\": %.3f, \"steady_gbs\": %.3f, \"runs\": %s, "
              "\"resident\": %s, \"tracked_bytes_after_unload\": %llu}\n",
              size, static_cast<unsigned long long>(weights), gbs.front(), median(steady), json_list(gbs).c_str(),
              resident ? "true" : "false", static_cast<unsigned long long>(left));
  return resident && left == 0 ? 0 : 1;
}

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// CASES: lines "TEMPERATURE SEED MAX_TOKENS PROMPT..." (the prompt runs to the end of the
// line). Output: one line per case, "<code> <hex of the concatenated stream>", so two
// libraries' outputs can be compared with cmp.
int streams(const std::string& lib, const std::string& path, const std::string& cases) {
  Ffi ffi(lib);
  CudaContext* ctx = must_init(ffi);
  CudaModel* model = must_load(ffi, ctx, path);
  std::ifstream in(cases);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    float temperature = 0;
    unsigned long long seed = 0;
    int max_tokens = 0;
    if (!(fields >> temperature >> seed >> max_tokens)) continue;
    std::string prompt;
    std::getline(fields >> std::ws, prompt);
    std::string text;
    const int code = generate(ffi, model, prompt, max_tokens, temperature, seed, text);
    std::printf("%d %s\n", code, hex(text).c_str());
  }
  ffi.cuda_unload_model(model);
  ffi.cuda_destroy(ctx);
  return 0;
}

int d2d(std::size_t bytes, int reps) {
  char* a = nullptr;
  char* b = nullptr;
  cuda_ok(cudaMalloc(reinterpret_cast<void**>(&a), bytes), "cudaMalloc");
  cuda_ok(cudaMalloc(reinterpret_cast<void**>(&b), bytes), "cudaMalloc");
  cuda_ok(cudaMemset(a, 1, bytes), "cudaMemset");
  cuda_ok(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice), "warm-up copy");
  cuda_ok(cudaDeviceSynchronize(), "sync");
  std::vector<double> gbs;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    cuda_ok(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice), "cudaMemcpy D2D");
    cuda_ok(cudaDeviceSynchronize(), "sync");
    gbs.push_back(bytes / seconds_since(t0) / 1e9);
  }
  cuda_ok(cudaFree(a), "cudaFree");
  cuda_ok(cudaFree(b), "cudaFree");
  std::printf("{\"bytes\": %zu, \"gbs\": %.3f, \"runs\": %s}\n", bytes, median(gbs), json_list(gbs).c_str());
  return 0;
}

int pin(std::size_t bytes) {
  cuda_ok(cudaFree(nullptr), "context");
  auto t0 = Clock::now();
  void* one = nullptr;
  cuda_ok(cudaHostAlloc(&one, bytes, cudaHostAllocDefault), "cudaHostAlloc");
  const double whole = seconds_since(t0);
  constexpr std::size_t kPiece = std::size_t{2} << 20;
  std::vector<void*> pieces(bytes / kPiece);
  t0 = Clock::now();
  for (auto& p : pieces) cuda_ok(cudaHostAlloc(&p, kPiece, cudaHostAllocDefault), "cudaHostAlloc piece");
  const double split = seconds_since(t0);
  t0 = Clock::now();
  void* map = ::mmap(nullptr, bytes + kPiece, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  auto* aligned = reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(map) + kPiece - 1) & ~(kPiece - 1));
  (void)::madvise(aligned, bytes, MADV_HUGEPAGE);
  std::memset(aligned, 0, bytes);
  const cudaError_t reg = cudaHostRegister(aligned, bytes, cudaHostRegisterDefault);
  const double registered = seconds_since(t0);
  std::printf("{\"bytes\": %zu, \"hostalloc_one_s\": %.6f, \"hostalloc_2mib_pieces_s\": %.6f, "
              "\"thp_register_s\": %.6f, \"register_ok\": %s}\n",
              bytes, whole, split, registered, reg == cudaSuccess ? "true" : "false");
  return 0;
}

int tokens(const std::string& lib, const std::string& path, int max_tokens, int reps, float temperature = 0.8f) {
  Ffi ffi(lib);
  CudaContext* ctx = must_init(ffi);
  CudaModel* model = must_load(ffi, ctx, path);
  std::vector<double> rates;
  int pieces = 0;
  for (int r = 0; r < reps + 1; ++r) {  // the first run warms up (module load, pinned buffers)
    std::string text;
    const auto t0 = Clock::now();
    const int code = generate(ffi, model, "bench", max_tokens, temperature, 1234, text, &pieces);
    const double s = seconds_since(t0);
    if (code != 0) die("generation failed: code " + std::to_string(code) + ": " + ffi.detail());
    if (r > 0) rates.push_back(pieces / s);
  }
  ffi.cuda_unload_model(model);
  ffi.cuda_destroy(ctx);
  std::printf("{\"pieces\": %d, \"pieces_per_s\": %.1f, \"temperature\": %g, \"runs\": %s}\n", pieces, median(rates),
              static_cast<double>(temperature), json_list(rates).c_str());
  return 0;
}

// ------------------------------------------------------------------------ the scenario

int failures = 0;
void expect(bool ok, const std::string& what, const Ffi& ffi) {
  std::printf("%s %s%s\n", ok ? "ok  " : "FAIL", what.c_str(), ok ? "" : ("  [detail: " + ffi.detail() + "]").c_str());
  std::fflush(stdout);
  if (!ok) ++failures;
}

// Every device path of the backend once, with the outcome the contract declares; run under
// compute-sanitizer (memcheck, racecheck) and on its own. DIR holds tiny.gguf (small
// tensors, direct copies), medium.gguf (staged upload), absurd.gguf (sparse, far larger than
// any GPU) and corrupt.gguf.
int scenario(const std::string& lib, const std::string& dir) {
  Ffi ffi(lib);
  int code = -1;
  const int count = ffi.cuda_get_device_count();
  expect(count >= 1, "cuda_get_device_count() = " + std::to_string(count), ffi);
  for (int bad : {-1, count, 999}) {
    CudaContext* none = ffi.cuda_init(bad, &code);
    expect(none == nullptr && code == CUDA_ERROR_INVALID_DEVICE, "cuda_init(" + std::to_string(bad) + ") -> INVALID_DEVICE", ffi);
  }
  CudaContext* ctx = must_init(ffi);
  expect(ffi.cuda_check_device_health(ctx, &code) && code == 0, "fresh context is healthy", ffi);

  for (const char* name : {"tiny.gguf", "medium.gguf"}) {
    const std::string path = dir + "/" + name;
    std::uint64_t weights = 0;
    CudaModel* model = must_load(ffi, ctx, path, &weights);
    expect(ffi.cuda_check_vram_residency(model, &code) && code == 0, std::string(name) + ": weights resident", ffi);
    expect(ffi.cuda_get_process_vram_usage(ctx) >= weights, std::string(name) + ": usage counts the weights", ffi);
    std::string greedy1, greedy2, sampled1, sampled2;
    expect(generate(ffi, model, "Hello", 64, 0.0f, 1, greedy1) == 0, std::string(name) + ": greedy generation", ffi);
    expect(generate(ffi, model, "Hello", 64, 0.0f, 99, greedy2) == 0 && greedy1 == greedy2, std::string(name) + ": greedy ignores the seed", ffi);
    expect(generate(ffi, model, "Hello", 64, 1.3f, 7, sampled1) == 0, std::string(name) + ": sampled generation", ffi);
    expect(generate(ffi, model, "Hello", 64, 1.3f, 7, sampled2) == 0 && sampled1 == sampled2, std::string(name) + ": seeded runs reproduce", ffi);

    // Eviction (test fault): residency fails and names the weight; generation still works
    // (the weight is readable pinned memory) and gives the same stream; clearing restores.
    ffi.cuda_testing_inject_fault(ctx, CUDA_FAULT_EVICT_WEIGHTS, &code);
    expect(code == 0 && !ffi.cuda_check_vram_residency(model, &code) && code == 0, std::string(name) + ": evicted weight found", ffi);
    std::string evicted;
    expect(generate(ffi, model, "Hello", 64, 1.3f, 7, evicted) == 0 && evicted == sampled1, std::string(name) + ": same stream from evicted weights", ffi);
    ffi.cuda_testing_inject_fault(ctx, CUDA_FAULT_NONE, &code);
    expect(code == 0 && ffi.cuda_check_vram_residency(model, &code), std::string(name) + ": restored weights resident", ffi);

    // Cancel mid-stream.
    InferenceResult* run = ffi.cuda_inference_start(model, "Hello", 64, 1.0f, 3, &code);
    char piece[256];
    ffi.cuda_inference_next_token(run, piece, sizeof piece, nullptr, &code);
    ffi.cuda_inference_cancel(run, &code);
    expect(!ffi.cuda_inference_next_token(run, piece, sizeof piece, nullptr, &code) && code == CUDA_ERROR_CANCELLED,
           std::string(name) + ": cancel ends the stream with CANCELLED", ffi);
    ffi.cuda_inference_free(run);
    ffi.cuda_unload_model(model);
  }
  expect(ffi.cuda_testing_tracked_bytes() == 0, "no tracked bytes after unloading", ffi);

  // Device lost (test fault): unhealthy, kernels fail with the declared code, then recovery.
  CudaModel* model = must_load(ffi, ctx, dir + "/tiny.gguf");
  InferenceResult* run = ffi.cuda_inference_start(model, "Hello", 16, 0.0f, 0, &code);
  ffi.cuda_testing_inject_fault(ctx, CUDA_FAULT_DEVICE_LOST, &code);
  expect(!ffi.cuda_check_device_health(ctx, &code) && code == 0, "DEVICE_LOST: unhealthy", ffi);
  char piece[256];
  expect(!ffi.cuda_inference_next_token(run, piece, sizeof piece, nullptr, &code) && code == CUDA_ERROR_KERNEL_LAUNCH_FAILED,
         "DEVICE_LOST: next_token -> KERNEL_LAUNCH_FAILED", ffi);
  ffi.cuda_testing_inject_fault(ctx, CUDA_FAULT_NONE, &code);
  expect(ffi.cuda_check_device_health(ctx, &code), "cleared: healthy again", ffi);
  expect(ffi.cuda_inference_next_token(run, piece, sizeof piece, nullptr, &code) && code == 0, "cleared: the stream continues", ffi);
  ffi.cuda_inference_free(run);
  ffi.cuda_unload_model(model);

  // Allocation failures: injected (each of the load's allocations) and real (a model far
  // larger than the device): VRAM_OOM, nothing leaked.
  for (int nth = 1; nth <= 2; ++nth) {
    ffi.cuda_testing_fail_allocation(nth, &code);
    std::uint64_t used = 0;
    CudaModel* none = ffi.cuda_load_model(ctx, (dir + "/medium.gguf").c_str(), &used, &code);
    expect(none == nullptr && code == CUDA_ERROR_OUT_OF_MEMORY && ffi.cuda_testing_tracked_bytes() == 0,
           "allocation " + std::to_string(nth) + " of a load fails -> VRAM_OOM, nothing leaked", ffi);
    ffi.cuda_testing_fail_allocation(0, &code);
  }
  std::uint64_t used = 0;
  CudaModel* absurd = ffi.cuda_load_model(ctx, (dir + "/absurd.gguf").c_str(), &used, &code);
  expect(absurd == nullptr && code == CUDA_ERROR_OUT_OF_MEMORY && ffi.cuda_testing_tracked_bytes() == 0,
         "absurd model -> VRAM_OOM, nothing leaked", ffi);
  CudaModel* corrupt = ffi.cuda_load_model(ctx, (dir + "/corrupt.gguf").c_str(), &used, &code);
  expect(corrupt == nullptr && code == CUDA_ERROR_MODEL_LOAD_FAILED && ffi.cuda_testing_tracked_bytes() == 0,
         "corrupt model -> MODEL_LOAD_FAILED", ffi);
  expect(ffi.cuda_check_device_health(ctx, &code), "healthy after the failures", ffi);

  // Contexts are independent: destroying one leaves another's model working (the original
  // design's cudaDeviceReset in the destructor would have freed it).
  CudaContext* other = must_init(ffi);
  CudaModel* kept = must_load(ffi, other, dir + "/tiny.gguf");
  std::string before, after;
  generate(ffi, kept, "Hello", 32, 0.0f, 0, before);
  ffi.cuda_destroy(ctx);
  expect(generate(ffi, kept, "Hello", 32, 0.0f, 0, after) == 0 && after == before && ffi.cuda_check_vram_residency(kept, &code),
         "destroying one context leaves another's model working", ffi);
  ffi.cuda_destroy(other);
  expect(ffi.cuda_testing_tracked_bytes() == 0 && ffi.cuda_testing_live_handles() == 0, "everything released", ffi);
  std::printf("%s: %d failure(s)\n", failures == 0 ? "PASS" : "FAIL", failures);
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  const auto need = [&](std::size_t n) {
    if (a.size() < n + 1) die("usage: see the comment at the top of bench/gpu/gpu_driver.cpp");
  };
  need(0);
  const std::string& cmd = a[0];
  if (cmd == "init-bare") return init_bare();
  if (cmd == "init-ffi") return need(1), init_ffi(a[1]);
  if (cmd == "ceiling") return need(3), ceiling(a[1], std::stoi(a[2]), std::stoi(a[3]));
  if (cmd == "pageable") return need(2), pageable(a[1], std::stoi(a[2]));
  if (cmd == "h2d") return need(2), h2d(std::stoull(a[1]), std::stoi(a[2]));
  if (cmd == "load") return need(3), load(a[1], a[2], std::stoi(a[3]), a.size() > 4 ? std::stoi(a[4]) : 0);
  if (cmd == "streams") return need(3), streams(a[1], a[2], a[3]);
  if (cmd == "tokens") return need(4), tokens(a[1], a[2], std::stoi(a[3]), std::stoi(a[4]), a.size() > 5 ? std::stof(a[5]) : 0.8f);
  if (cmd == "d2d") return need(2), d2d(std::stoull(a[1]), std::stoi(a[2]));
  if (cmd == "pin") return need(1), pin(std::stoull(a[1]));
  if (cmd == "scenario") return need(2), scenario(a[1], a[2]);
  die("unknown command '" + cmd + "'");
}
