#include "backend/cuda/staging.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>

#include "core/trace.hpp"
#include "core/error.hpp"
#include "core/model_file.hpp"
#include "worker_ffi.h"

namespace worker::backend {
namespace {

std::string cuda_text(cudaError_t status) {
  return std::string(cudaGetErrorString(status)) + " (" + cudaGetErrorName(status) + ")";
}

// The first failure of any lane; later ones are consequences and are dropped.
class FirstError {
 public:
  void set(std::string why) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!failed_.load(std::memory_order_relaxed)) {
      why_ = std::move(why);
      failed_.store(true, std::memory_order_release);
    }
  }
  bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }
  const std::string& why() const noexcept { return why_; }

 private:
  std::mutex mutex_;
  std::atomic<bool> failed_{false};
  std::string why_;
};

}  // namespace

StagingUploader::~StagingUploader() {
  for (Lane& lane : lanes_) {
    if (lane.stream != nullptr) {
      (void)cudaStreamSynchronize(lane.stream);
      (void)cudaStreamDestroy(lane.stream);
    }
    for (int k = 0; k < 2; ++k) {
      if (lane.drained[k] != nullptr) (void)cudaEventDestroy(lane.drained[k]);
    }
  }
  if (block_ == nullptr && map_base_ != nullptr) ::munmap(map_base_, map_bytes_);  // reserved, never locked
  if (block_ != nullptr) {
    if (map_base_ != nullptr) {
      (void)cudaHostUnregister(block_);
      ::munmap(map_base_, map_bytes_);
    } else {
      (void)cudaFreeHost(block_);
    }
  }
}

namespace {
// One pinned block for every buffer: a single page-locking call instead of one per buffer.
// Anonymous memory asked for transparent huge pages and registered with CUDA pins and maps a
// few hundred huge pages instead of tens of thousands of small ones; where that fails,
// cudaHostAlloc. WORKER_FFI_CUDA_STAGING_ALLOC=hostalloc forces the latter (experiments).
constexpr std::size_t kHuge = std::size_t{2} << 20;

bool hostalloc_forced() {
  const char* mode = std::getenv("WORKER_FFI_CUDA_STAGING_ALLOC");
  return mode != nullptr && std::string(mode) == "hostalloc";
}

// Anonymous memory aligned to a huge page, asked for huge pages and faulted in; nullptr if
// mmap fails. `map_base`/`map_bytes` describe the mapping to unmap.
unsigned char* reserve(std::size_t bytes, void*& map_base, std::size_t& map_bytes) noexcept {
  const std::size_t len = bytes + kHuge;  // room to align
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  auto* aligned = reinterpret_cast<unsigned char*>((reinterpret_cast<std::uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1));
  (void)::madvise(aligned, bytes, MADV_HUGEPAGE);
  std::memset(aligned, 0, bytes);
  map_base = p;
  map_bytes = len;
  return aligned;
}
}  // namespace

void StagingUploader::reserve_host() noexcept {
  if (block_ != nullptr || reserved_ != nullptr || hostalloc_forced()) return;
  trace::Span span("staging: reserve and fault in", config_.lanes * 2 * config_.chunk_bytes);
  reserved_ = reserve(config_.lanes * 2 * config_.chunk_bytes, map_base_, map_bytes_);
}

void StagingUploader::ensure_lanes(std::size_t count) {
  if (lanes_.size() >= count) return;
  if (block_ == nullptr) {
    // Sized for the configured lane count once, so later uploads never allocate.
    const std::size_t lanes = std::max(count, config_.lanes);
    const std::size_t bytes = lanes * 2 * config_.chunk_bytes;
    if (reserved_ == nullptr && !hostalloc_forced() && lanes == config_.lanes) reserve_host();
    if (reserved_ != nullptr) {
      cudaError_t status;
      {
        trace::Span span("staging: cudaHostRegister", bytes);
        status = cudaHostRegister(reserved_, bytes, cudaHostRegisterDefault);
      }
      if (status == cudaSuccess) {
        block_ = reserved_;
      } else {
        (void)cudaGetLastError();
        ::munmap(map_base_, map_bytes_);
        map_base_ = nullptr;
        map_bytes_ = 0;
      }
      reserved_ = nullptr;
    }
    if (block_ == nullptr) {
      trace::Span span("staging: cudaHostAlloc", bytes);
      const cudaError_t status = cudaHostAlloc(&block_, bytes, cudaHostAllocDefault);
      if (status != cudaSuccess) {
        (void)cudaGetLastError();
        block_ = nullptr;
        throw core::Error(CUDA_ERROR_MODEL_LOAD_FAILED, "pinned staging buffers (" + std::to_string(bytes) +
                                                           " bytes) could not be allocated: " + cuda_text(status));
      }
    }
    block_bytes_ = bytes;
  }
  trace::Span span("staging: streams and events of the lanes");
  while (lanes_.size() < count) {
    if ((lanes_.size() + 1) * 2 * config_.chunk_bytes > block_bytes_) {
      throw core::Error(CUDA_ERROR_MODEL_LOAD_FAILED, "staging: more lanes than the pinned block holds");
    }
    // Append first, so the destructor frees whatever part of the lane was created.
    lanes_.emplace_back();
    Lane& lane = lanes_.back();
    auto* base = static_cast<unsigned char*>(block_) + (lanes_.size() - 1) * 2 * config_.chunk_bytes;
    lane.buffer[0] = base;
    lane.buffer[1] = base + config_.chunk_bytes;
    cudaError_t status = cudaStreamCreateWithFlags(&lane.stream, cudaStreamNonBlocking);
    for (int k = 0; k < 2 && status == cudaSuccess; ++k) {
      status = cudaEventCreateWithFlags(&lane.drained[k], cudaEventDisableTiming);
    }
    if (status != cudaSuccess) {
      (void)cudaGetLastError();  // our own, reported below
      throw core::Error(CUDA_ERROR_MODEL_LOAD_FAILED, "staging lane " + std::to_string(lanes_.size() - 1) +
                                                         " could not be created: " + cuda_text(status));
    }
  }
}

void StagingUploader::run(void* dst, std::size_t bytes, const Fill& fill) {
  const std::size_t chunk = config_.chunk_bytes;
  const std::size_t chunks = (bytes + chunk - 1) / chunk;
  const std::size_t lanes = std::min(config_.lanes, chunks);
  ensure_lanes(lanes);

  FirstError error;
  auto* const base = static_cast<unsigned char*>(dst);
  // With the trace on: microseconds all lanes together spent filling buffers and waiting
  // for the copy engine to drain them.
  std::atomic<long long> fill_us{0};
  std::atomic<long long> drain_us{0};
  const bool tracing = trace::enabled();
  using TraceClock = std::chrono::steady_clock;
  auto since_us = [](TraceClock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::microseconds>(TraceClock::now() - t0).count();
  };
  auto work = [&](std::size_t lane_index) {
    try {
      Lane& lane = lanes_[lane_index];
      const cudaError_t selected = cudaSetDevice(ordinal_);  // new threads start on device 0
      if (selected != cudaSuccess) {
        error.set("cudaSetDevice(" + std::to_string(ordinal_) + ") in upload lane: " + cuda_text(selected));
        return;
      }
      int k = 0;
      // Chunks are dealt round-robin, so the lanes read neighbouring parts of the source.
      for (std::size_t c = lane_index; c < chunks && !error.failed(); c += lanes) {
        const std::size_t offset = c * chunk;
        const std::size_t len = std::min(chunk, bytes - offset);
        // Wait until the copy that last used this buffer has drained it (an event never
        // recorded counts as complete).
        TraceClock::time_point t0 = tracing ? TraceClock::now() : TraceClock::time_point{};
        cudaError_t status = cudaEventSynchronize(lane.drained[k]);
        if (status != cudaSuccess) {
          error.set("waiting for a staging copy: " + cuda_text(status));
          break;
        }
        if (tracing) {
          drain_us += since_us(t0);
          t0 = TraceClock::now();
        }
        std::string why;
        if (!fill(offset, len, lane.buffer[k], why)) {
          error.set(why);
          break;
        }
        if (tracing) fill_us += since_us(t0);
        status = cudaMemcpyAsync(base + offset, lane.buffer[k], len, cudaMemcpyHostToDevice, lane.stream);
        if (status == cudaSuccess) status = cudaEventRecord(lane.drained[k], lane.stream);
        if (status != cudaSuccess) {
          error.set("host-to-device copy of " + std::to_string(len) + " bytes at offset " + std::to_string(offset) +
                    ": " + cuda_text(status));
          break;
        }
        k ^= 1;
      }
      // Always drain: the buffers are reused by the next upload, and the caller frees `dst`
      // on failure.
      const cudaError_t drained = cudaStreamSynchronize(lane.stream);
      if (drained != cudaSuccess) error.set("host-to-device copies: " + cuda_text(drained));
    } catch (...) {
      error.set("upload lane " + std::to_string(lane_index) + " failed: host allocation failed");
    }
  };

  trace::Span span("staging: upload through the lanes", bytes);
  std::vector<std::thread> threads;
  threads.reserve(lanes - 1);
  try {
    for (std::size_t t = 1; t < lanes; ++t) threads.emplace_back(work, t);
  } catch (const std::system_error& e) {
    error.set(std::string("cannot start an upload thread: ") + e.what());
  }
  work(0);  // the calling thread is lane 0
  for (std::thread& thread : threads) thread.join();
  if (tracing) {
    std::fprintf(stderr, "worker_ffi trace: %zu lanes, %zu chunks: filling %.3f ms, waiting for drains %.3f ms "
                 "(sums over the lanes)\n", lanes, chunks, static_cast<double>(fill_us.load()) / 1e3,
                 static_cast<double>(drain_us.load()) / 1e3);
  }
  if (error.failed()) {
    (void)cudaGetLastError();  // the failure is reported here; don't leave it for other code
    throw core::Error(CUDA_ERROR_MODEL_LOAD_FAILED, "staged upload of " + std::to_string(bytes) + " bytes: " + error.why());
  }
}

void StagingUploader::upload(void* dst, const void* src, std::size_t bytes) {
  const auto* source = static_cast<const unsigned char*>(src);
  run(dst, bytes, [source](std::size_t offset, std::size_t len, void* out, std::string&) {
    std::memcpy(out, source + offset, len);
    return true;
  });
}

void StagingUploader::upload_file(void* dst, int fd, std::uint64_t offset, std::size_t bytes) {
  run(dst, bytes, [fd, offset](std::size_t at, std::size_t len, void* out, std::string& why) {
    return core::read_exact(fd, out, len, offset + at, why);
  });
}

}  // namespace worker::backend
