// The seam between the shared core and a device backend (host or CUDA).
//
// A backend provides only what differs between devices: how many there are, device memory
// (allocate, free, upload, residency, and the test-only eviction), the sticky health state,
// and the two kernels of the worker-tiny model. Everything else (GGUF parsing, validation,
// handle registry, tokenizer, sampler math, UTF-8 streaming, accounting, fault countdown)
// lives in the core and is shared.
//
// Error convention: methods throw core::Error with the code that fits the failure: kernels
// KERNEL_LAUNCH_FAILED, uploads MODEL_LOAD_FAILED, device queries DEVICE_NOT_FOUND /
// INVALID_DEVICE, anything else UNKNOWN. allocate() reports out-of-memory by returning
// nullptr so the core can name what it was allocating.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/math.hpp"

namespace worker::backend {

// One opened device, owned by one context. Methods marked [any thread] may run concurrently
// with every other method of the same Device; the rest are called with the context's
// external synchronisation (or the model's weight lock, see core::Model).
class Device {
 public:
  virtual ~Device() = default;

  // Device memory. [any thread]
  virtual void* allocate(std::size_t bytes) noexcept = 0;
  virtual void release(void* ptr, std::size_t bytes) noexcept = 0;
  virtual void upload(void* dst, const void* src, std::size_t bytes) = 0;
  // dst[0..bytes) = bytes [offset, offset + bytes) of the open regular file `fd`, read with
  // pread (the file is never mapped: a file truncated under a mapping faults with SIGBUS).
  // A short read (the file shrank while loading) throws MODEL_LOAD_FAILED naming the offset.
  // The default reads through a host buffer in pieces and upload()s each; a backend whose
  // device memory is host memory reads straight into it, a device backend through its
  // pinned staging buffers. Throws as upload().
  virtual void upload_file(void* dst, int fd, std::uint64_t offset, std::size_t bytes);

  // Whether `ptr` (from allocate/evict/restore) is plain device memory now. [any thread]
  virtual bool is_resident(const void* ptr) const noexcept = 0;

  // Test-only faults. evict() moves an allocation out of device memory into host memory and
  // restore() moves it back; both return the allocation's new address and keep its bytes.
  virtual void* evict(void* ptr, std::size_t bytes) = 0;
  virtual void* restore(void* ptr, std::size_t bytes) = 0;
  // Marks the device lost (a sticky error, as after an Xid) or clears it.
  virtual void set_lost(bool lost) noexcept = 0;

  // False with a reason when the device has a sticky error. [any thread]
  virtual bool healthy(std::string& why) const = 0;

  // Something opening the device did not get but could do without (e.g. a refused cache
  // preference): cuda_init succeeds and reports it as its detail message. "" when none.
  virtual std::string open_note() const { return {}; }

  // Kernels of worker-tiny (math.hpp defines the arithmetic; both must match it bit for bit).
  // dst[0..d) = table[row][0..d), all device memory.
  virtual void gather_row(float* dst, const float* table, std::uint32_t row, std::uint32_t d) = 0;
  // logits_host[v] = dot_in_order(w[v], x, d) for v < n_vocab; w and x are device memory,
  // logits_host is host memory the core owns (a device backend may stage through pinned or
  // mapped memory, which is not device memory and is not accounted).
  virtual void logits(const float* w, const float* x, std::uint32_t d, std::uint32_t n_vocab,
                      float* logits_host) = 0;
  // Floats of device scratch that next_token() needs per inference (allocated with the
  // inference's state, so it is accounted): none for the default.
  virtual std::size_t step_scratch_floats(std::uint32_t n_vocab) const noexcept {
    (void)n_vocab;
    return 0;
  }
  // One decoding step: the logits as logits() defines them, then the token math.hpp picks
  // (math::argmax when temperature is 0, else math::sample with draw u). Returns the token,
  // or -1 - v when logit v is the first that is not finite. `logits_device` is the
  // step_scratch_floats() of device scratch, `logits_host` n_vocab floats of host scratch. The default computes
  // the logits with logits() and picks on the host; a device backend may pick on the device
  // and bring back only the token.
  virtual std::int64_t next_token(const float* w, const float* x, std::uint32_t d, std::uint32_t n_vocab,
                                  float temperature, float u, float* logits_device, float* logits_host) {
    (void)logits_device;
    logits(w, x, d, n_vocab, logits_host);
    const auto n = static_cast<int>(n_vocab);
    for (int v = 0; v < n; ++v) {
      if (!math::is_finite(logits_host[v])) return -1 - std::int64_t{v};
    }
    return temperature == 0.0f ? math::argmax(logits_host, n) : math::sample(logits_host, n, temperature, u);
  }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const noexcept = 0;
  // Usable devices; 0 with a reason in `why` when there are none or the runtime failed.
  virtual int device_count(std::string& why) noexcept = 0;
  // Opens device `ordinal` (0 <= ordinal < device_count()). Throws core::Error.
  virtual std::unique_ptr<Device> open(int ordinal) = 0;
};

// The backend this library was built with (one per build; see native/CMakeLists.txt).
Backend& instance();

}  // namespace worker::backend
