#include "backend/cuda/staging.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>

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
      if (lane.buffer[k] != nullptr) (void)cudaFreeHost(lane.buffer[k]);
    }
  }
}

void StagingUploader::ensure_lanes(std::size_t count) {
  while (lanes_.size() < count) {
    // Append first, so the destructor frees whatever part of the lane was created.
    lanes_.emplace_back();
    Lane& lane = lanes_.back();
    cudaError_t status = cudaStreamCreateWithFlags(&lane.stream, cudaStreamNonBlocking);
    for (int k = 0; k < 2 && status == cudaSuccess; ++k) {
      status = cudaHostAlloc(&lane.buffer[k], config_.chunk_bytes, cudaHostAllocDefault);
      if (status == cudaSuccess) status = cudaEventCreateWithFlags(&lane.drained[k], cudaEventDisableTiming);
    }
    if (status != cudaSuccess) {
      (void)cudaGetLastError();  // our own, reported below
      throw core::Error(CUDA_ERROR_MODEL_LOAD_FAILED, "pinned staging lane " + std::to_string(lanes_.size() - 1) +
                                                         " (" + std::to_string(2 * config_.chunk_bytes) +
                                                         " bytes) could not be created: " + cuda_text(status));
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
        cudaError_t status = cudaEventSynchronize(lane.drained[k]);
        if (status != cudaSuccess) {
          error.set("waiting for a staging copy: " + cuda_text(status));
          break;
        }
        std::string why;
        if (!fill(offset, len, lane.buffer[k], why)) {
          error.set(why);
          break;
        }
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

  std::vector<std::thread> threads;
  threads.reserve(lanes - 1);
  try {
    for (std::size_t t = 1; t < lanes; ++t) threads.emplace_back(work, t);
  } catch (const std::system_error& e) {
    error.set(std::string("cannot start an upload thread: ") + e.what());
  }
  work(0);  // the calling thread is lane 0
  for (std::thread& thread : threads) thread.join();
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
