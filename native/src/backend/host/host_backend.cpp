// The host backend: a virtual device whose "device memory" is an arena of dedicated
// anonymous mappings, and whose kernels are plain C++ over math.hpp.
//
// It is the reference implementation of the contract (CI has no GPU), so its device state is
// real: residency asks whether an allocation is in the arena right now, eviction moves an
// allocation's bytes out of the arena into ordinary heap memory, and a lost device makes
// every kernel fail until the fault is cleared.
#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>

#include "backend/backend.hpp"
#include "core/error.hpp"
#include "core/model_file.hpp"
#include "core/math.hpp"
#include "worker_ffi.h"

namespace worker::backend {
namespace {

constexpr const char* kDeviceCountVariable = "WORKER_FFI_HOST_DEVICE_COUNT";
constexpr int kMaxHostDevices = 64;

class HostDevice final : public Device {
 public:
  ~HostDevice() override {
    // The core frees every buffer before the context goes; anything left is a core bug, but
    // the mappings must not outlive the device either way.
    for (auto& [ptr, bytes] : arena_) ::munmap(ptr, bytes);
    for (auto& [ptr, bytes] : heap_) std::free(ptr);
  }

  void* allocate(std::size_t bytes) noexcept override {
    void* ptr = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ptr == MAP_FAILED) return nullptr;
    try {
      std::lock_guard<std::mutex> lock(mutex_);
      arena_.emplace(ptr, bytes);
    } catch (...) {
      ::munmap(ptr, bytes);
      return nullptr;
    }
    return ptr;
  }

  void release(void* ptr, std::size_t bytes) noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (arena_.erase(ptr) != 0) {
      ::munmap(ptr, bytes);
    } else if (heap_.erase(ptr) != 0) {
      std::free(ptr);
    }
  }

  void upload(void* dst, const void* src, std::size_t bytes) override {
    if (lost_.load(std::memory_order_acquire)) {
      throw core::Error(CUDA_ERROR_MODEL_LOAD_FAILED, "host-to-device copy of " + std::to_string(bytes) +
                                                         " bytes failed: device lost");
    }
    std::memcpy(dst, src, bytes);
  }

  // Device memory is host memory here: read the file straight into it.
  void upload_file(void* dst, int fd, std::uint64_t offset, std::size_t bytes) override {
    if (lost_.load(std::memory_order_acquire)) {
      throw core::Error(CUDA_ERROR_MODEL_LOAD_FAILED, "host-to-device copy of " + std::to_string(bytes) +
                                                         " bytes failed: device lost");
    }
    std::string why;
    if (!core::read_exact(fd, dst, bytes, offset, why)) throw core::Error(CUDA_ERROR_MODEL_LOAD_FAILED, why);
  }

  bool is_resident(const void* ptr) const noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    return arena_.count(const_cast<void*>(ptr)) != 0;
  }

  void* evict(void* ptr, std::size_t bytes) override {
    void* host = std::malloc(bytes);
    if (host == nullptr) throw std::bad_alloc();
    std::lock_guard<std::mutex> lock(mutex_);
    if (arena_.erase(ptr) == 0) {
      std::free(host);
      throw core::Error(CUDA_ERROR_UNKNOWN, "evict: allocation is not in the device arena");
    }
    std::memcpy(host, ptr, bytes);
    ::munmap(ptr, bytes);
    heap_.emplace(host, bytes);
    return host;
  }

  void* restore(void* ptr, std::size_t bytes) override {
    void* device = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (device == MAP_FAILED) throw core::Error(CUDA_ERROR_UNKNOWN, "restore: device arena is full");
    std::lock_guard<std::mutex> lock(mutex_);
    if (heap_.erase(ptr) == 0) {
      ::munmap(device, bytes);
      throw core::Error(CUDA_ERROR_UNKNOWN, "restore: allocation was not evicted");
    }
    std::memcpy(device, ptr, bytes);
    std::free(ptr);
    arena_.emplace(device, bytes);
    return device;
  }

  void set_lost(bool lost) noexcept override { lost_.store(lost, std::memory_order_release); }

  bool healthy(std::string& why) const override {
    if (!lost_.load(std::memory_order_acquire)) return true;
    why = "device lost: a sticky device error is pending (injected with DEVICE_LOST); "
          "destroy the context";
    return false;
  }

  void gather_row(float* dst, const float* table, std::uint32_t row, std::uint32_t d) override {
    check_launch("gather_row");
    std::memcpy(dst, table + static_cast<std::size_t>(row) * d, sizeof(float) * d);
  }

  void logits(const float* w, const float* x, std::uint32_t d, std::uint32_t n_vocab, float* out) override {
    check_launch("logits");
    // Eight rows at a time: independent accumulators give the CPU parallel work while each
    // row still sums in order i = 0..d-1, exactly as math::dot_in_order.
    std::uint32_t v = 0;
    for (; v + 8 <= n_vocab; v += 8) {
      const float* r = w + static_cast<std::size_t>(v) * d;
      float a[8] = {};
      for (std::uint32_t i = 0; i < d; ++i) {
        const float xi = x[i];
        for (int k = 0; k < 8; ++k) a[k] = a[k] + r[static_cast<std::size_t>(k) * d + i] * xi;
      }
      for (int k = 0; k < 8; ++k) out[v + k] = a[k];
    }
    for (; v < n_vocab; ++v) out[v] = math::dot_in_order(w + static_cast<std::size_t>(v) * d, x, static_cast<int>(d));
  }

 private:
  void check_launch(const char* kernel) const {
    if (lost_.load(std::memory_order_acquire)) {
      throw core::Error(CUDA_ERROR_KERNEL_LAUNCH_FAILED, std::string("kernel '") + kernel + "' failed: device lost");
    }
  }

  mutable std::mutex mutex_;                     // guards arena_ and heap_
  std::unordered_map<void*, std::size_t> arena_;  // live device allocations
  std::unordered_map<void*, std::size_t> heap_;   // evicted allocations (host memory)
  std::atomic<bool> lost_{false};
};

class HostBackend final : public Backend {
 public:
  const char* name() const noexcept override { return "host"; }

  // One virtual device, unless WORKER_FFI_HOST_DEVICE_COUNT says otherwise (0 simulates a
  // machine without devices, so DEVICE_NOT_FOUND can be tested).
  int device_count(std::string& why) noexcept override {
    const char* text = std::getenv(kDeviceCountVariable);
    if (text == nullptr || *text == '\0') return 1;
    char* end = nullptr;
    const long n = std::strtol(text, &end, 10);
    if (*end != '\0' || n < 0 || n > kMaxHostDevices) {
      why = std::string(kDeviceCountVariable) + "='" + text + "' is not a device count 0.." + std::to_string(kMaxHostDevices);
      return 0;
    }
    if (n == 0) why = std::string("no devices (") + kDeviceCountVariable + "=0)";
    return static_cast<int>(n);
  }

  std::unique_ptr<Device> open(int /*ordinal*/) override { return std::make_unique<HostDevice>(); }
};

}  // namespace

Backend& instance() {
  static HostBackend backend;
  return backend;
}

}  // namespace worker::backend
