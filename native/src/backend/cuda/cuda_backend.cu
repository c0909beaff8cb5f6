// The CUDA backend: real devices, plain device allocations, staged uploads and the kernels
// of worker-tiny.
//
// Rules this file keeps (issue 8, reference facts §3):
// - Device memory comes only from cudaMalloc: never managed memory, never host-mapped memory
//   for weights. The residency check asks the runtime (cudaPointerGetAttributes) instead of
//   trusting that rule, so a violation is found, not assumed.
// - Contexts are independent. Nothing here calls cudaDeviceReset: it would free the memory
//   of every other context (and every other library) in the process.
// - Every runtime call and kernel launch is checked; failures become core::Error with the
//   contract code the seam asks for and the runtime's own text in the detail.
// - The float arithmetic of the kernels is math.hpp's, in the same order, with explicitly
//   rounded operations (__fmul_rn/__fadd_rn cannot be contracted into an FMA even if
//   --fmad=false were dropped), so host and CUDA produce identical token streams.
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "backend/backend.hpp"
#include "backend/cuda/staging.hpp"
#include "core/trace.hpp"
#include "core/error.hpp"
#include "core/model_file.hpp"
#include "worker_ffi.h"

namespace worker::backend {
namespace {

// Logits kernel geometry: one thread owns one vocabulary row and sums it sequentially
// (math::dot_in_order, the model's definition, which is what makes host and CUDA streams
// identical). Each warp owns 32 rows and walks them in kTile-column tiles: its lanes load a
// tile with coalesced 128-byte reads into registers, park it in the warp's shared-memory
// slice, issue the loads of the *next* tile, and only then sum the current one, so the memory
// system always has a tile per warp in flight while the serial sums run. Warps synchronise
// only with themselves (__syncwarp); there is no block-wide barrier per tile.
constexpr int kRowsPerBlock = 128;
constexpr int kWarps = kRowsPerBlock / 32;
constexpr int kTile = 64;

// Uploads below this size go straight from pageable memory (the driver stages them); the
// pinned staging lanes are for real weight files.
constexpr std::size_t kDirectUploadLimit = std::size_t{8} << 20;

__global__ void __launch_bounds__(kRowsPerBlock)
    logits_kernel(const float* __restrict__ w, const float* __restrict__ x, std::uint32_t d,
                  std::uint32_t n_vocab, float* __restrict__ out) {
  __shared__ float tile[kWarps][32][kTile + 1];  // +1: row r and r+1 fall in different banks
  __shared__ float xs[kWarps][kTile];
  const unsigned lane = threadIdx.x % 32;
  const unsigned warp = threadIdx.x / 32;
  const std::uint32_t row0 = blockIdx.x * kRowsPerBlock + warp * 32;
  if (row0 >= n_vocab) return;  // the whole warp: nothing below waits for it
  const std::uint32_t rows = min(32u, n_vocab - row0);
  // next[r * 2 + h] = w[row0 + r][i0 + h * 32 + lane]: fully unrolled, so it stays in registers.
  float next[64];
  auto load = [&](std::uint32_t i0) {
#pragma unroll
    for (int r = 0; r < 32; ++r) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const std::uint32_t col = i0 + h * 32 + lane;
        next[r * 2 + h] = static_cast<std::uint32_t>(r) < rows && col < d ? w[static_cast<std::size_t>(row0 + r) * d + col] : 0.0f;
      }
    }
  };
  float acc = 0.0f;
  load(0);
  for (std::uint32_t i0 = 0; i0 < d; i0 += kTile) {
    const std::uint32_t width = min(static_cast<std::uint32_t>(kTile), d - i0);
#pragma unroll
    for (int r = 0; r < 32; ++r) {
#pragma unroll
      for (int h = 0; h < 2; ++h) tile[warp][r][h * 32 + lane] = next[r * 2 + h];
    }
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const std::uint32_t col = i0 + h * 32 + lane;
      xs[warp][h * 32 + lane] = col < d ? x[col] : 0.0f;
    }
    __syncwarp();
    if (i0 + kTile < d) load(i0 + kTile);  // in flight while the sums below run
    if (lane < rows) {
      // acc = acc + w[v][i] * x[i] for i in order: math::dot_in_order, bit for bit.
      for (std::uint32_t c = 0; c < width; ++c) acc = __fadd_rn(acc, __fmul_rn(tile[warp][lane][c], xs[warp][c]));
    }
    __syncwarp();  // the slice is rewritten by the next tile
  }
  if (lane < rows) out[row0 + lane] = acc;
}

// The token pick of one step, math.hpp's argmax and sample on the device, in one block.
// Bit-identical to the host because every float operation is the host's, in the host's
// order: the reductions below only compare values or indices (no float arithmetic), and the
// one sum whose order matters (the cumulative weights) is run by a single thread in index
// order. That serial chain of n dependent additions is the step's critical path at T > 0, so
// everything around it is kept off it: when the n weights fit in the block's shared memory
// (`capacity` floats of dynamic shared memory; 32,768 weights take 128 KiB, within the opt-in
// limit of every device since Volta) they are computed, summed and searched there, with one
// barrier before and one after the chain; larger vocabularies go through shared memory in
// chunks of `capacity` floats, the running sums written back over logits[0..n).
constexpr unsigned kPickThreads = 1024;
constexpr std::uint32_t kNone = 0xFFFFFFFFu;
// Dynamic shared memory the pick kernel uses when the device grants no more (the default
// per-block limit is 48 KiB).
constexpr std::size_t kPickDefaultSharedBytes = std::size_t{32} << 10;

// (value, index) order of math::argmax: the larger value; on ties the lower index.
__device__ inline bool ranks_before(float a, std::uint32_t ia, float b, std::uint32_t ib) {
  return a > b || (a == b && ia < ib);
}

// a[i] = running + a[0] + ... + a[i] for i < len, left to right (the host's additions in the
// host's order); returns the final running sum. `a` is 16-byte aligned shared memory. The
// loads of the next four quads are issued before the current four are summed, so the loop
// runs at the latency of the additions alone.
__device__ inline float serial_prefix(float* a, std::uint32_t len, float running) {
  constexpr std::uint32_t kBatch = 4;
  auto* q = reinterpret_cast<float4*>(a);
  const std::uint32_t quads = len / 4;
  auto add4 = [&running](float4& v) {
    running = __fadd_rn(running, v.x);
    v.x = running;
    running = __fadd_rn(running, v.y);
    v.y = running;
    running = __fadd_rn(running, v.z);
    v.z = running;
    running = __fadd_rn(running, v.w);
    v.w = running;
  };
  std::uint32_t j = 0;
  if (quads >= kBatch) {
    float4 cur[kBatch];
    float4 nxt[kBatch];
#pragma unroll
    for (std::uint32_t k = 0; k < kBatch; ++k) cur[k] = q[k];
    for (; j + kBatch <= quads; j += kBatch) {
      const bool more = j + 2 * kBatch <= quads;
      if (more) {
#pragma unroll
        for (std::uint32_t k = 0; k < kBatch; ++k) nxt[k] = q[j + kBatch + k];
      }
#pragma unroll
      for (std::uint32_t k = 0; k < kBatch; ++k) {
        add4(cur[k]);
        q[j + k] = cur[k];
      }
      if (more) {
#pragma unroll
        for (std::uint32_t k = 0; k < kBatch; ++k) cur[k] = nxt[k];
      }
    }
  }
  for (; j < quads; ++j) {
    float4 v = q[j];
    add4(v);
    q[j] = v;
  }
  for (std::uint32_t i = quads * 4; i < len; ++i) {
    running = __fadd_rn(running, a[i]);
    a[i] = running;
  }
  return running;
}

__global__ void __launch_bounds__(kPickThreads)
    pick_kernel(float* __restrict__ logits, std::uint32_t n, float temperature, float u, long long* __restrict__ out,
                std::uint32_t capacity) {
  extern __shared__ __align__(16) float staged[];  // `capacity` floats (a multiple of 4)
  __shared__ float warp_value[32];
  __shared__ std::uint32_t warp_index[32];
  __shared__ std::uint32_t warp_other[32];
  __shared__ std::uint32_t best, bad, last_positive;
  __shared__ float top, total;
  const unsigned t = threadIdx.x;
  const unsigned lane = t % 32;
  const unsigned warp = t / 32;
  constexpr unsigned kWarps = kPickThreads / 32;
  const bool resident = n <= capacity;  // every weight fits in shared memory

  // 1. The first non-finite logit and the arg-max.
  float value = -INFINITY;
  std::uint32_t index = kNone;
  std::uint32_t first_bad = kNone;
  for (std::uint32_t v = t; v < n; v += kPickThreads) {
    const float x = logits[v];
    if (!math::is_finite(x)) {
      first_bad = min(first_bad, v);
    } else if (ranks_before(x, v, value, index)) {
      value = x;
      index = v;
    }
  }
  for (int offset = 16; offset > 0; offset /= 2) {
    const float other_value = __shfl_down_sync(0xFFFFFFFFu, value, offset);
    const std::uint32_t other_index = __shfl_down_sync(0xFFFFFFFFu, index, offset);
    first_bad = min(first_bad, __shfl_down_sync(0xFFFFFFFFu, first_bad, offset));
    if (ranks_before(other_value, other_index, value, index)) {
      value = other_value;
      index = other_index;
    }
  }
  if (lane == 0) {
    warp_value[warp] = value;
    warp_index[warp] = index;
    warp_other[warp] = first_bad;
  }
  __syncthreads();
  if (t == 0) {
    for (unsigned k = 1; k < kWarps; ++k) {
      if (ranks_before(warp_value[k], warp_index[k], value, index)) {
        value = warp_value[k];
        index = warp_index[k];
      }
      first_bad = min(first_bad, warp_other[k]);
    }
    best = index;
    bad = first_bad;
    top = first_bad == kNone ? logits[index] : 0.0f;  // read before step 2 overwrites it
  }
  __syncthreads();
  if (bad != kNone) {
    if (t == 0) *out = -1 - static_cast<long long>(bad);
    return;
  }
  if (temperature == 0.0f) {
    if (t == 0) *out = best;
    return;
  }

  // 2. Weights w[v] = det_expf((logits[v] - top) / temperature), into shared memory when
  //    they fit (else in place), and the last token with a positive weight (math::sample's
  //    fallback).
  float* const weights = resident ? staged : logits;
  std::uint32_t positive = 0;
  for (std::uint32_t v = t; v < n; v += kPickThreads) {
    const float w = math::det_expf(__fdiv_rn(__fsub_rn(logits[v], top), temperature));
    weights[v] = w;
    if (w > 0.0f) positive = max(positive, v);
  }
  for (int offset = 16; offset > 0; offset /= 2) positive = max(positive, __shfl_down_sync(0xFFFFFFFFu, positive, offset));
  if (lane == 0) warp_other[warp] = positive;
  __syncthreads();  // also publishes the weights in shared memory to thread 0
  if (t == 0) {
    for (unsigned k = 1; k < kWarps; ++k) positive = max(positive, warp_other[k]);
    last_positive = positive;
  }

  // 3. The cumulative sum, serially in index order (the host's sum, bit for bit), by one
  //    thread reading shared memory.
  if (resident) {
    if (t == 0) total = serial_prefix(staged, n, 0.0f);
  } else {
    float running = 0.0f;  // meaningful in thread 0 only
    for (std::uint32_t c0 = 0; c0 < n; c0 += capacity) {
      const std::uint32_t len = min(capacity, n - c0);
      for (std::uint32_t j = t; j < len; j += kPickThreads) staged[j] = logits[c0 + j];
      __syncthreads();
      if (t == 0) running = serial_prefix(staged, len, running);
      __syncthreads();
      for (std::uint32_t j = t; j < len; j += kPickThreads) logits[c0 + j] = staged[j];
    }
    if (t == 0) total = running;
  }
  __syncthreads();

  // 4. The first v whose running sum exceeds u * total. The running sums never decrease, so
  //    any thread may test any v: the smallest hit is the host's answer.
  const float target = __fmul_rn(u, total);
  std::uint32_t hit = kNone;
  for (std::uint32_t v = t; v < n; v += kPickThreads) {
    if (target < weights[v]) {
      hit = v;
      break;  // this thread's later v are larger
    }
  }
  for (int offset = 16; offset > 0; offset /= 2) hit = min(hit, __shfl_down_sync(0xFFFFFFFFu, hit, offset));
  if (lane == 0) warp_other[warp] = hit;
  __syncthreads();
  if (t == 0) {
    for (unsigned k = 1; k < kWarps; ++k) hit = min(hit, warp_other[k]);
    *out = hit != kNone ? hit : last_positive;
  }
}

std::string cuda_text(cudaError_t status) {
  return std::string(cudaGetErrorString(status)) + " (" + cudaGetErrorName(status) + ")";
}

[[noreturn]] void fail(int code, const std::string& what, cudaError_t status) {
  throw core::Error(code, what + " failed: " + cuda_text(status));
}

void check(cudaError_t status, int code, const std::string& what) {
  if (status != cudaSuccess) fail(code, what, status);
}

// The runtime keeps the last error of each host thread until cudaGetLastError reads it. After
// one of *our* calls failed and we have reported that failure, the record is ours to consume,
// so it cannot be mistaken later for someone else's error. A sticky error (a corrupted
// context) is not cleared by this: the runtime returns it again from every later call.
void consume_reported_error() noexcept { (void)cudaGetLastError(); }

std::size_t env_size(const char* name, std::size_t fallback, std::size_t lo, std::size_t hi) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (*end != '\0' || value < lo || value > hi) return fallback;
  return static_cast<std::size_t>(value);
}

StagingConfig staging_config() {
  StagingConfig config;
  config.lanes = env_size("WORKER_FFI_CUDA_UPLOAD_THREADS",
                          std::clamp<std::size_t>(std::thread::hardware_concurrency(), 2, 16), 1, 64);
  config.chunk_bytes = env_size("WORKER_FFI_CUDA_STAGING_MIB", 2, 1, 256) << 20;
  return config;
}

// The staging lanes of one device, shared by every context of the process: created once (the
// first context starts creating them in the background when it opens), then reused by every
// load, so no load pays for page-locking buffers. The pinned block (lanes x 2 x chunk bytes,
// 64 MiB by default; host memory, not device memory) is freed when the last context of the
// device closes.
struct SharedStaging {
  std::mutex mutex;  // one staged upload at a time per device: they share the lanes
  std::unique_ptr<StagingUploader> uploader;
  int users = 0;     // open CudaDevices of this ordinal (guarded by the pools' mutex)
  StagingUploader& get(int ordinal) {  // caller holds mutex
    if (!uploader) uploader = std::make_unique<StagingUploader>(ordinal, staging_config());
    return *uploader;
  }
};

std::mutex& pools_mutex() {
  static std::mutex m;
  return m;
}

// The pool of `ordinal`; every CudaDevice holds one reference (attach/detach), and the last
// one to close frees the lanes, so nothing pinned outlives the contexts.
SharedStaging& attach_staging(int ordinal) {
  static auto* pools = new std::unordered_map<int, SharedStaging*>();  // entries are never erased
  std::lock_guard<std::mutex> lock(pools_mutex());
  SharedStaging*& pool = (*pools)[ordinal];
  if (pool == nullptr) pool = new SharedStaging();
  ++pool->users;
  return *pool;
}

void detach_staging(SharedStaging& pool) noexcept {
  std::unique_ptr<StagingUploader> last;
  {
    std::lock_guard<std::mutex> lock(pools_mutex());
    if (--pool.users > 0) return;
    std::lock_guard<std::mutex> uploads(pool.mutex);
    last = std::move(pool.uploader);
  }
  // Freed outside the locks (it synchronises its streams).
}

class CudaDevice final : public Device {
 public:
  explicit CudaDevice(int ordinal) : ordinal_(ordinal), staging_(attach_staging(ordinal)) {
    start_prewarm();
    try {
      open();
    } catch (...) {
      mark_opened();
      if (prewarm_.joinable()) prewarm_.join();
      throw;
    }
    mark_opened();
  }

  // Opens the device (the constructor's work, while the staging lanes are prepared beside it).
  void open() {
    // cudaSetDevice creates (or retains) the device's primary context. The primary context is
    // shared by every user of the runtime in this process, which is why destroying a context
    // must never reset the device.
    {
      trace::Span span("open: cudaSetDevice (primary context)");
      check(cudaSetDevice(ordinal_), CUDA_ERROR_INVALID_DEVICE, "cudaSetDevice(" + std::to_string(ordinal_) + ")");
    }
    trace::Span span("open: properties, cache preference, stream");
    cudaDeviceProp props{};
    check(cudaGetDeviceProperties(&props, ordinal_), CUDA_ERROR_INVALID_DEVICE,
          "cudaGetDeviceProperties(" + std::to_string(ordinal_) + ")");
    name_ = props.name;
    compute_capability_ = props.major * 10 + props.minor;
    total_memory_ = props.totalGlobalMem;
    // Evicted weights (a test fault) live in mapped pinned memory that kernels read through
    // the same address, which needs unified addressing (every 64-bit device has it).
    if (props.unifiedAddressing == 0) {
      throw core::Error(CUDA_ERROR_INVALID_DEVICE, "device " + std::to_string(ordinal_) + " (" + name_ +
                                                       ") has no unified addressing, which this backend requires");
    }
    // Prefer L1 for compute (M0-W-1400). Devices with a fixed split refuse it; that is not an
    // error, but it is recorded rather than ignored silently as the original code did.
    const cudaError_t cache = cudaDeviceSetCacheConfig(cudaFuncCachePreferL1);
    if (cache != cudaSuccess) {
      consume_reported_error();
      cache_note_ = "the device refused the L1 cache preference (continuing without it): " + cuda_text(cache);
    }
    // A non-blocking stream: no implicit ordering with the legacy default stream that other
    // code in the process may use.
    const cudaError_t stream = cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking);
    if (stream != cudaSuccess) {
      consume_reported_error();
      fail(stream == cudaErrorMemoryAllocation ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_ERROR_UNKNOWN,
           "cudaStreamCreateWithFlags on device " + std::to_string(ordinal_), stream);
    }
  }

  ~CudaDevice() override {
    // Errors are ignored here on purpose: a destructor cannot report them, and a sticky error
    // would make every call below fail anyway. No cudaDeviceReset (see the file comment).
    if (prewarm_.joinable()) prewarm_.join();
    select_quietly();
    (void)cudaStreamSynchronize(stream_);
    (void)cudaStreamDestroy(stream_);
    if (logits_pinned_ != nullptr) (void)cudaFreeHost(logits_pinned_);
    if (token_slot_ != nullptr) (void)cudaFreeHost(token_slot_);
    // The core frees every buffer before its context goes; free what a core bug left anyway.
    for (void* host : evicted_) (void)cudaFreeHost(host);
  }

  // ------------------------------------------------------------------ memory [any thread]

  void* allocate(std::size_t bytes) noexcept override {
    if (!select_quietly()) return nullptr;
    void* ptr = nullptr;
    trace::Span span("cudaMalloc", bytes);
    // Plain device memory only: not cudaMallocManaged, not cudaHostAlloc (M0-W-1010).
    const cudaError_t status = cudaMalloc(&ptr, bytes);
    if (status != cudaSuccess) {
      consume_reported_error();  // reported to the core as nullptr: "out of memory"
      return nullptr;
    }
    return ptr;
  }

  void release(void* ptr, std::size_t /*bytes*/) noexcept override {
    if (ptr == nullptr) return;
    select_quietly();
    bool was_evicted = false;
    {
      std::lock_guard<std::mutex> lock(evicted_mutex_);
      was_evicted = evicted_.erase(ptr) != 0;
    }
    // cudaFree synchronises with the device, so no queued copy or kernel still uses `ptr`.
    const cudaError_t status = was_evicted ? cudaFreeHost(ptr) : cudaFree(ptr);
    if (status != cudaSuccess) consume_reported_error();
  }

  void upload(void* dst, const void* src, std::size_t bytes) override {
    if (copied_directly(dst, src, bytes)) return;
    std::lock_guard<std::mutex> lock(staging_.pool.mutex);
    staging_.pool.get(ordinal_).upload(dst, src, bytes);
  }

  void upload_file(void* dst, int fd, std::uint64_t offset, std::size_t bytes) override {
    if (bytes < kDirectUploadLimit) {
      // Small tensors: one pread into pageable memory and one copy (see copied_directly).
      std::vector<unsigned char> host(bytes);
      std::string why;
      if (!core::read_exact(fd, host.data(), bytes, offset, why)) throw core::Error(CUDA_ERROR_MODEL_LOAD_FAILED, why);
      copied_directly(dst, host.data(), bytes);
      return;
    }
    (void)copied_directly(dst, nullptr, bytes);  // checks the device; false for this size
    // pread straight into the pinned staging buffers: no mapping, no pageable bounce.
    trace::Span span("upload_file (the wait for the lanes included)", bytes);
    std::unique_lock<std::mutex> lock(staging_.pool.mutex, std::defer_lock);
    {
      trace::Span wait("upload_file: waiting for the staging lanes");
      lock.lock();
    }
    staging_.pool.get(ordinal_).upload_file(dst, fd, offset, bytes);
  }

  bool is_resident(const void* ptr) const noexcept override {
    if (ptr == nullptr || !select_quietly()) return false;
    cudaPointerAttributes attributes{};
    const cudaError_t status = cudaPointerGetAttributes(&attributes, ptr);
    if (status != cudaSuccess) {
      consume_reported_error();
      return false;
    }
    // Device memory of *this* device with no host alias: not managed (cudaMemoryTypeManaged),
    // not pinned or mapped host memory (cudaMemoryTypeHost), not unknown to CUDA.
    return attributes.type == cudaMemoryTypeDevice && attributes.hostPointer == nullptr &&
           attributes.device == ordinal_;
  }

  // ------------------------------------------------------------------ test faults

  void* evict(void* ptr, std::size_t bytes) override {
    select(CUDA_ERROR_UNKNOWN);
    // Mapped pinned memory, as the driver's fallback would give: the residency check sees a
    // host allocation, while kernels can still read it through the same address, so a test
    // that keeps generating after the fault does not corrupt the context.
    void* host = nullptr;
    check(cudaHostAlloc(&host, bytes, cudaHostAllocMapped), CUDA_ERROR_UNKNOWN,
          "evict: cudaHostAlloc of " + std::to_string(bytes) + " bytes");
    cudaError_t status = cudaMemcpyAsync(host, ptr, bytes, cudaMemcpyDeviceToHost, stream_);
    if (status == cudaSuccess) status = cudaStreamSynchronize(stream_);
    if (status == cudaSuccess) status = cudaFree(ptr);
    if (status != cudaSuccess) {
      consume_reported_error();
      (void)cudaFreeHost(host);
      fail(CUDA_ERROR_UNKNOWN, "evict: moving " + std::to_string(bytes) + " bytes to host memory", status);
    }
    std::lock_guard<std::mutex> lock(evicted_mutex_);
    evicted_.insert(host);
    return host;
  }

  void* restore(void* ptr, std::size_t bytes) override {
    select(CUDA_ERROR_UNKNOWN);
    {
      std::lock_guard<std::mutex> lock(evicted_mutex_);
      if (evicted_.count(ptr) == 0) throw core::Error(CUDA_ERROR_UNKNOWN, "restore: allocation was not evicted");
    }
    void* device = nullptr;
    cudaError_t status = cudaMalloc(&device, bytes);
    if (status != cudaSuccess) {
      consume_reported_error();
      fail(CUDA_ERROR_UNKNOWN, "restore: cudaMalloc of " + std::to_string(bytes) + " bytes", status);
    }
    status = cudaMemcpyAsync(device, ptr, bytes, cudaMemcpyHostToDevice, stream_);
    if (status == cudaSuccess) status = cudaStreamSynchronize(stream_);
    if (status != cudaSuccess) {
      consume_reported_error();
      (void)cudaFree(device);
      fail(CUDA_ERROR_UNKNOWN, "restore: moving " + std::to_string(bytes) + " bytes to device memory", status);
    }
    {
      std::lock_guard<std::mutex> lock(evicted_mutex_);
      evicted_.erase(ptr);
    }
    (void)cudaFreeHost(ptr);
    return device;
  }

  void set_lost(bool lost) noexcept override { lost_.store(lost, std::memory_order_release); }

  std::string open_note() const override {
    return cache_note_.empty() ? std::string() : describe() + ": " + cache_note_;
  }

  // ------------------------------------------------------------------ health [any thread]

  bool healthy(std::string& why) const override {
    if (lost_.load(std::memory_order_acquire)) {
      why = "device lost: a sticky device error is pending (injected with DEVICE_LOST); destroy the context";
      return false;
    }
    // A real query of the device. A sticky error (illegal address, Xid, ECC) is returned by
    // every runtime call on the context, so querying our stream finds it; neither call below
    // clears anything, unlike cudaGetLastError, which would hide a non-sticky error from the
    // code that owns it.
    cudaError_t status = cudaSetDevice(ordinal_);
    if (status == cudaSuccess) {
      status = cudaStreamQuery(stream_);
      if (status == cudaErrorNotReady) status = cudaSuccess;  // busy is healthy
    }
    std::size_t free_bytes = 0;
    std::size_t total_bytes = 0;
    if (status == cudaSuccess) status = cudaMemGetInfo(&free_bytes, &total_bytes);
    if (status == cudaSuccess) return true;
    why = describe() + " reports " + cuda_text(status);
    return false;
  }

  // ------------------------------------------------------------------ kernels

  void gather_row(float* dst, const float* table, std::uint32_t row, std::uint32_t d) override {
    check_not_lost("gather_row");
    select(CUDA_ERROR_KERNEL_LAUNCH_FAILED);
    // A copy-engine copy is bit-exact, and stream order puts it before the next logits kernel
    // that reads `dst`. cudaMemcpyDefault: the table may be an evicted (pinned host) weight.
    const cudaError_t status = cudaMemcpyAsync(dst, table + static_cast<std::size_t>(row) * d, sizeof(float) * d,
                                               cudaMemcpyDefault, stream_);
    if (status != cudaSuccess) {
      consume_reported_error();
      fail(CUDA_ERROR_KERNEL_LAUNCH_FAILED, "kernel 'gather_row' (row " + std::to_string(row) + ")", status);
    }
  }

  void logits(const float* w, const float* x, std::uint32_t d, std::uint32_t n_vocab, float* out) override {
    check_not_lost("logits");
    select(CUDA_ERROR_KERNEL_LAUNCH_FAILED);
    // Concurrent inferences of one model may call this from several threads; they share the
    // pinned result buffers and the stream, so one step runs at a time per device.
    std::lock_guard<std::mutex> lock(kernel_mutex_);
    float* result = logits_buffer(n_vocab);
    launch_logits(w, x, d, n_vocab, result);
    wait("logits");
    // The kernel wrote mapped pinned memory; the core owns `out` (pageable), so copy once.
    std::memcpy(out, result, sizeof(float) * n_vocab);
  }

  std::size_t step_scratch_floats(std::uint32_t n_vocab) const noexcept override { return n_vocab; }

  std::int64_t next_token(const float* w, const float* x, std::uint32_t d, std::uint32_t n_vocab, float temperature,
                          float u, float* logits_device, float* /*logits_host*/) override {
    check_not_lost("logits");
    select(CUDA_ERROR_KERNEL_LAUNCH_FAILED);
    std::lock_guard<std::mutex> lock(kernel_mutex_);
    long long* token = token_slot();
    // Both kernels on one stream, one synchronisation: only the 8-byte token crosses the bus.
    launch_logits(w, x, d, n_vocab, logits_device);
    // Shared memory for every weight when the device grants it, else the chunk it grants.
    const std::size_t granted = pick_shared_bytes();
    const std::size_t wanted = (static_cast<std::size_t>(n_vocab) + 3) / 4 * 16;
    const std::size_t shared = std::max<std::size_t>(16, std::min(granted, wanted));
    std::uint32_t capacity = static_cast<std::uint32_t>(shared / sizeof(float));
    void* args[] = {&logits_device, &n_vocab, &temperature, &u, &token, &capacity};
    launch(reinterpret_cast<const void*>(&pick_kernel), dim3(1), dim3(kPickThreads), args, "pick", shared);
    wait("pick");
    return *token;
  }

 private:
  // Makes this device current on the calling thread (contexts may be used from any thread,
  // and each host thread has its own current device).
  void select(int code) const {
    const cudaError_t status = cudaSetDevice(ordinal_);
    if (status != cudaSuccess) {
      consume_reported_error();
      fail(code, "cudaSetDevice(" + std::to_string(ordinal_) + ")", status);
    }
  }
  bool select_quietly() const noexcept {
    if (cudaSetDevice(ordinal_) == cudaSuccess) return true;
    consume_reported_error();
    return false;
  }

  // "device 0 (NVIDIA H100 80GB HBM3, compute capability 9.0, 79.2 GiB)", from the
  // properties recorded when the device was opened.
  std::string describe() const {
    char memory[32];
    std::snprintf(memory, sizeof memory, "%.1f GiB", static_cast<double>(total_memory_) / (1ull << 30));
    return "device " + std::to_string(ordinal_) + " (" + name_ + ", compute capability " +
           std::to_string(compute_capability_ / 10) + "." + std::to_string(compute_capability_ % 10) + ", " + memory + ")";
  }

  // Common start of both uploads: checks the device, and copies small tensors directly
  // (true); large ones (false) go through staging().
  bool copied_directly(void* dst, const void* src, std::size_t bytes) {
    if (lost_.load(std::memory_order_acquire)) {
      throw core::Error(CUDA_ERROR_MODEL_LOAD_FAILED, "host-to-device copy of " + std::to_string(bytes) +
                                                         " bytes failed: device lost (injected fault)");
    }
    select(CUDA_ERROR_MODEL_LOAD_FAILED);
    if (bytes < kDirectUploadLimit) {
      // One copy from pageable memory: allocating pinned lanes for a small tensor would cost
      // more than it saves. On our stream and waited for: a pageable cudaMemcpy may return
      // before its DMA lands, and our non-blocking stream would not be ordered after it.
      cudaError_t status = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_);
      if (status == cudaSuccess) status = cudaStreamSynchronize(stream_);
      if (status != cudaSuccess) {
        consume_reported_error();
        fail(CUDA_ERROR_MODEL_LOAD_FAILED, "host-to-device copy of " + std::to_string(bytes) + " bytes", status);
      }
      return true;
    }
    return false;
  }

  // cudaLaunchKernel returns the launch error itself, so no cudaGetLastError is needed to
  // find it (which would also pick up and clear unrelated errors of this thread).
  void launch(const void* kernel, dim3 grid, dim3 block, void** args, const char* name, std::size_t shared = 0) {
    const cudaError_t status = cudaLaunchKernel(kernel, grid, block, args, shared, stream_);
    if (status != cudaSuccess) {
      consume_reported_error();
      fail(CUDA_ERROR_KERNEL_LAUNCH_FAILED,
           std::string("launch of kernel '") + name + "' (" + std::to_string(grid.x) + " blocks)", status);
    }
  }

  void launch_logits(const float* w, const float* x, std::uint32_t d, std::uint32_t n_vocab, float* out) {
    void* args[] = {&w, &x, &d, &n_vocab, &out};
    launch(reinterpret_cast<const void*>(&logits_kernel), dim3((n_vocab + kRowsPerBlock - 1) / kRowsPerBlock),
           dim3(kRowsPerBlock), args, "logits");
  }

  // Waits for the stream; an error here is one of a kernel while it ran (or a sticky one).
  void wait(const char* kernel) {
    const cudaError_t status = cudaStreamSynchronize(stream_);
    if (status != cudaSuccess) {
      consume_reported_error();
      fail(CUDA_ERROR_KERNEL_LAUNCH_FAILED, std::string("kernel '") + kernel + "' while running", status);
    }
  }

  void check_not_lost(const char* kernel) const {
    if (lost_.load(std::memory_order_acquire)) {
      throw core::Error(CUDA_ERROR_KERNEL_LAUNCH_FAILED,
                        std::string("kernel '") + kernel + "' failed: device lost (injected fault)");
    }
  }

  // Mapped pinned host memory that the logits kernel writes directly: host memory, so not
  // device memory the ledger must count (backend.hpp), and no extra device-to-host copy.
  float* logits_buffer(std::uint32_t n_vocab) {
    if (n_vocab > logits_capacity_) {
      void* fresh = nullptr;
      const cudaError_t status = cudaHostAlloc(&fresh, sizeof(float) * n_vocab, cudaHostAllocMapped);
      if (status != cudaSuccess) {
        consume_reported_error();
        fail(CUDA_ERROR_INFERENCE_FAILED,
             "pinned host buffer for " + std::to_string(n_vocab) + " logits (cudaHostAlloc)", status);
      }
      if (logits_pinned_ != nullptr) (void)cudaFreeHost(logits_pinned_);
      logits_pinned_ = static_cast<float*>(fresh);
      logits_capacity_ = n_vocab;
    }
    return logits_pinned_;
  }

  // The dynamic shared memory the pick kernel may use on this device (a multiple of 16
  // bytes): the opt-in maximum per block less the kernel's static shared memory, asked for
  // once, at the first step (asking loads the kernel's module, which cuda_init need not wait
  // for). Where the device refuses, the default limit's share. Caller holds kernel_mutex_.
  std::size_t pick_shared_bytes() {
    if (pick_shared_bytes_ != 0) return pick_shared_bytes_;
    std::size_t bytes = kPickDefaultSharedBytes;
    int optin = 0;
    cudaFuncAttributes attributes{};
    bool refused = true;
    if (cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, ordinal_) == cudaSuccess &&
        cudaFuncGetAttributes(&attributes, reinterpret_cast<const void*>(&pick_kernel)) == cudaSuccess &&
        static_cast<std::size_t>(optin) > attributes.sharedSizeBytes + kPickDefaultSharedBytes) {
      const std::size_t most = (static_cast<std::size_t>(optin) - attributes.sharedSizeBytes) / 16 * 16;
      if (cudaFuncSetAttribute(reinterpret_cast<const void*>(&pick_kernel), cudaFuncAttributeMaxDynamicSharedMemorySize,
                               static_cast<int>(most)) == cudaSuccess) {
        bytes = most;
        refused = false;
      }
    }
    if (refused) consume_reported_error();  // a refusal only means the default share
    pick_shared_bytes_ = bytes;
    return bytes;
  }

  // A mapped pinned slot the pick kernel writes the token to. Caller holds kernel_mutex_.
  long long* token_slot() {
    if (token_slot_ == nullptr) {
      void* slot = nullptr;
      const cudaError_t status = cudaHostAlloc(&slot, sizeof(long long), cudaHostAllocMapped);
      if (status != cudaSuccess) {
        consume_reported_error();
        fail(CUDA_ERROR_INFERENCE_FAILED, "pinned host slot for the sampled token (cudaHostAlloc)", status);
      }
      token_slot_ = static_cast<long long*>(slot);
    }
    return token_slot_;
  }

  const int ordinal_;
  std::string name_;
  int compute_capability_ = 0;
  std::size_t total_memory_ = 0;
  std::string cache_note_;
  cudaStream_t stream_ = nullptr;
  std::atomic<bool> lost_{false};

  std::mutex kernel_mutex_;  // guards logits_pinned_ and serialises steps on stream_
  float* logits_pinned_ = nullptr;
  std::uint32_t logits_capacity_ = 0;
  long long* token_slot_ = nullptr;
  std::size_t pick_shared_bytes_ = 0;  // pick_shared_bytes(), once known

  // The device's shared staging lanes: a reference held for the device's lifetime, and the
  // thread that prepares them when the device opens (joined before anything else goes).
  struct StagingRef {
    SharedStaging& pool;
    explicit StagingRef(SharedStaging& p) noexcept : pool(p) {}
    ~StagingRef() { detach_staging(pool); }
  } staging_;
  std::thread prewarm_;

  // Prepares the process's staging lanes for this device in the background (a no-op once
  // they exist): the host memory is reserved and faulted in while this thread creates the
  // CUDA context, then page-locked. cuda_init does not wait for it; a load that comes first
  // waits on the pool's mutex. Failures are not reported here: the load retries and reports.
  // WORKER_FFI_CUDA_PREWARM=after-open (experiments): the page-locking waits until the
  // device is open instead of running beside the rest of cuda_init.
  void start_prewarm() noexcept {
    const char* mode = std::getenv("WORKER_FFI_CUDA_PREWARM");
    const bool after_open = mode != nullptr && std::string(mode) == "after-open";
    try {
      prewarm_ = std::thread([this, after_open] {
        std::lock_guard<std::mutex> lock(staging_.pool.mutex);
        try {
          trace::Span span("prewarm: the whole");
          StagingUploader& uploader = staging_.pool.get(ordinal_);
          uploader.reserve_host();
          if (after_open) {
            trace::Span wait("prewarm: waiting for the device to open");
            std::unique_lock<std::mutex> opened(open_mutex_);
            open_cv_.wait(opened, [this] { return opened_; });
          }
          {
            trace::Span wait("prewarm: cudaSetDevice (waits for the context)");
            if (cudaSetDevice(ordinal_) != cudaSuccess) {
              (void)cudaGetLastError();
              return;
            }
          }
          uploader.prepare();
        } catch (...) {
        }
      });
    } catch (...) {
      // No thread: the first load creates the lanes itself.
    }
  }

  void mark_opened() noexcept {
    {
      std::lock_guard<std::mutex> lock(open_mutex_);
      opened_ = true;
    }
    open_cv_.notify_all();
  }
  std::mutex open_mutex_;
  std::condition_variable open_cv_;
  bool opened_ = false;  // open() has returned or thrown (guarded by open_mutex_)

  std::mutex evicted_mutex_;
  std::unordered_set<void*> evicted_;  // pinned host blocks standing in for evicted weights
};

class CudaBackend final : public Backend {
 public:
  const char* name() const noexcept override { return "cuda"; }

  int device_count(std::string& why) noexcept override {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      // No driver, no device, or a driver older than this runtime: the runtime's own text
      // goes to cuda_init's DEVICE_NOT_FOUND detail.
      consume_reported_error();
      why = "cudaGetDeviceCount failed: " + cuda_text(status);
      return 0;
    }
    if (count == 0) why = "the CUDA runtime reports no devices";
    return count;
  }

  std::unique_ptr<Device> open(int ordinal) override { return std::make_unique<CudaDevice>(ordinal); }
};

}  // namespace

Backend& instance() {
  static CudaBackend backend;
  return backend;
}

}  // namespace worker::backend
