// Host-to-device uploads of large tensors through pinned staging buffers.
//
// The original design copied weights in 1 MiB pageable chunks, one synchronous cudaMemcpy at
// a time (about 6 GB/s): the driver then stages every chunk through its own pinned bounce
// buffer and nothing overlaps. Here several host threads ("lanes") each own two pinned
// buffers and a stream: a lane fills one buffer from the source while the copy engine drains
// the other, and the lanes together keep the page cache reads, the host memory bandwidth and
// the PCIe link busy at the same time.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace worker::backend {

struct StagingConfig {
  std::size_t lanes = 8;                      // host threads, each with its own stream
  std::size_t chunk_bytes = std::size_t{2} << 20;  // bytes per pinned buffer (two per lane)
};

class StagingUploader {
 public:
  StagingUploader(int ordinal, StagingConfig config) noexcept : ordinal_(ordinal), config_(config) {}
  ~StagingUploader();
  StagingUploader(const StagingUploader&) = delete;
  StagingUploader& operator=(const StagingUploader&) = delete;

  // Creates the lanes (streams, events, and one pinned block for all their buffers) now,
  // so that the first upload does not pay for them. Throws core::Error(MODEL_LOAD_FAILED).
  void prepare() { ensure_lanes(config_.lanes); }
  // The part of prepare() that needs no CUDA: reserves the block's host memory and faults it
  // in (huge pages where the kernel allows), so it can run while the CUDA context is created.
  void reserve_host() noexcept;
  const StagingConfig& config() const noexcept { return config_; }

  // dst[0..bytes) (device memory) = src[0..bytes) (any readable host memory, e.g. a mapped
  // file). Throws core::Error(MODEL_LOAD_FAILED) naming the failing step.
  void upload(void* dst, const void* src, std::size_t bytes);
  // dst[0..bytes) = the file's bytes [offset, offset + bytes), read with pread straight into
  // the pinned buffers (no page faults on a mapping). Throws core::Error(MODEL_LOAD_FAILED).
  void upload_file(void* dst, int fd, std::uint64_t offset, std::size_t bytes);

 private:
  struct Lane {
    cudaStream_t stream = nullptr;
    void* buffer[2] = {nullptr, nullptr};
    cudaEvent_t drained[2] = {nullptr, nullptr};  // the copy out of buffer[k] has finished
  };
  // Fills `len` bytes at source offset `offset` into `out`; false with `why` on failure.
  using Fill = std::function<bool(std::size_t offset, std::size_t len, void* out, std::string& why)>;

  void run(void* dst, std::size_t bytes, const Fill& fill);
  void ensure_lanes(std::size_t count);  // allocates lanes_[0..count) on first use

  const int ordinal_;
  const StagingConfig config_;
  std::vector<Lane> lanes_;
  void* block_ = nullptr;       // every lane's two buffers, one pinned allocation
  unsigned char* reserved_ = nullptr;  // reserve_host()'s memory, not yet page-locked
  void* map_base_ = nullptr;    // when block_ is registered anonymous memory: the mapping (else cudaHostAlloc)
  std::size_t map_bytes_ = 0;
  std::size_t block_bytes_ = 0;
};

}  // namespace worker::backend
