// Device-memory accounting and the allocation fault countdown.
//
// Every device allocation the library makes is a DeviceBuffer: it charges its bytes to the
// owning context's ledger and to the process-wide total, and gives them back when freed, so
// cuda_get_process_vram_usage, cuda_model_get_vram_usage and cuda_testing_tracked_bytes are
// exact by construction. The countdown (cuda_testing_fail_allocation) is consulted at every
// device allocation event, so tests can fail the N-th one and check the cleanup.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace worker::backend {
class Device;
}

namespace worker::core {

// Bytes currently charged to one owner (a context).
class Ledger {
 public:
  void charge(std::uint64_t bytes) noexcept { bytes_.fetch_add(bytes, std::memory_order_relaxed); }
  void refund(std::uint64_t bytes) noexcept { bytes_.fetch_sub(bytes, std::memory_order_relaxed); }
  std::uint64_t bytes() const noexcept { return bytes_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> bytes_{0};
};

namespace allocation_faults {
// The nth device allocation event from now fails with OUT_OF_MEMORY; 0 disarms.
void arm(int nth) noexcept;
// Counts one device allocation event and throws core::Error(OUT_OF_MEMORY) naming `what`
// when it is the armed one.
void count(const std::string& what);
}  // namespace allocation_faults

// Live tracked device bytes of the whole process.
std::uint64_t tracked_bytes() noexcept;

class DeviceBuffer {
 public:
  // Allocates `bytes` on `device` for `label` (named in errors), charged to `ledger`.
  // Throws core::Error(OUT_OF_MEMORY).
  DeviceBuffer(backend::Device& device, Ledger& ledger, std::size_t bytes, std::string label);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  float* floats() const noexcept { return static_cast<float*>(data_); }
  void* data() const noexcept { return data_; }
  std::size_t bytes() const noexcept { return bytes_; }
  const std::string& label() const noexcept { return label_; }

  bool resident() const noexcept;
  // Test faults: move the bytes out of device memory and back (the charge is unchanged: the
  // allocation still belongs to its owner). Callers serialise these with every reader.
  void evict();
  void restore();
  bool evicted() const noexcept { return evicted_; }

 private:
  backend::Device& device_;
  Ledger& ledger_;
  void* data_;
  std::size_t bytes_;
  std::string label_;
  bool evicted_ = false;
};

}  // namespace worker::core
