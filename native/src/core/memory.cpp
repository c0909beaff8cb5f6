#include "core/memory.hpp"

#include "backend/backend.hpp"
#include "core/error.hpp"
#include "worker_ffi.h"

namespace worker::core {
namespace {
std::atomic<std::uint64_t> g_tracked_bytes{0};
std::atomic<int> g_countdown{0};  // 0: disarmed; n: the nth event from now fails
}  // namespace

namespace allocation_faults {

void arm(int nth) noexcept { g_countdown.store(nth, std::memory_order_relaxed); }

void count(const std::string& what) {
  int left = g_countdown.load(std::memory_order_relaxed);
  // Compare-exchange so that concurrent allocations each consume exactly one step.
  while (left > 0 && !g_countdown.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) {
  }
  if (left == 1) {
    throw Error(CUDA_ERROR_OUT_OF_MEMORY, "device allocation for " + what + " failed (injected by cuda_testing_fail_allocation)");
  }
}

}  // namespace allocation_faults

std::uint64_t tracked_bytes() noexcept { return g_tracked_bytes.load(std::memory_order_relaxed); }

DeviceBuffer::DeviceBuffer(backend::Device& device, Ledger& ledger, std::size_t bytes, std::string label)
    : device_(device), ledger_(ledger), data_(nullptr), bytes_(bytes), label_(std::move(label)) {
  allocation_faults::count(label_ + " (" + std::to_string(bytes) + " bytes)");
  data_ = device_.allocate(bytes);
  if (data_ == nullptr) {
    throw Error(CUDA_ERROR_OUT_OF_MEMORY,
                "device out of memory allocating " + std::to_string(bytes) + " bytes for " + label_);
  }
  ledger_.charge(bytes);
  g_tracked_bytes.fetch_add(bytes, std::memory_order_relaxed);
}

DeviceBuffer::~DeviceBuffer() {
  device_.release(data_, bytes_);
  ledger_.refund(bytes_);
  g_tracked_bytes.fetch_sub(bytes_, std::memory_order_relaxed);
}

bool DeviceBuffer::resident() const noexcept { return device_.is_resident(data_); }

void DeviceBuffer::evict() {
  if (evicted_) return;
  data_ = device_.evict(data_, bytes_);
  evicted_ = true;
}

void DeviceBuffer::restore() {
  if (!evicted_) return;
  data_ = device_.restore(data_, bytes_);
  evicted_ = false;
}

}  // namespace worker::core
