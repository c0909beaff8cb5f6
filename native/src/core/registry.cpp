#include "core/registry.hpp"

#include "core/handles.hpp"

#include <string>

#include "core/error.hpp"
#include "worker_ffi.h"

namespace worker::core {

const char* kind_name(HandleKind kind) noexcept {
  switch (kind) {
    case HandleKind::context: return "CudaContext";
    case HandleKind::model: return "CudaModel";
    case HandleKind::inference: return "InferenceResult";
  }
  return "handle";
}

Registry::~Registry() {
  for (auto& chunk : chunks_) delete[] chunk.load(std::memory_order_relaxed);
}

std::uint64_t Registry::insert(void* object) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::uint64_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    if (next_slot_ > kSlotMask) {
      throw Error(CUDA_ERROR_UNKNOWN, std::string("too many live ") + kind_name(kind_) + " handles");
    }
    slot = next_slot_;
    auto& chunk = chunks_[slot >> kChunkBits];
    if (chunk.load(std::memory_order_relaxed) == nullptr) {
      chunk.store(new Slot[kChunkSize], std::memory_order_release);
    }
    ++next_slot_;
  }
  Slot& s = chunks_[slot >> kChunkBits].load(std::memory_order_relaxed)[slot & (kChunkSize - 1)];
  const std::uint64_t generation = (s.state.load(std::memory_order_relaxed) >> 1) + 1;
  s.object.store(object, std::memory_order_relaxed);
  s.state.store((generation << 1) | 1, std::memory_order_release);
  live_.fetch_add(1, std::memory_order_relaxed);
  return (generation << 32) | (slot << 8) | static_cast<std::uint8_t>(kind_);
}

void Registry::erase(std::uint64_t value) noexcept {
  const std::uint64_t slot = (value >> 8) & kSlotMask;
  const std::uint64_t generation = value >> 32;
  std::lock_guard<std::mutex> lock(mutex_);
  Slot& s = chunks_[slot >> kChunkBits].load(std::memory_order_relaxed)[slot & (kChunkSize - 1)];
  s.state.store(generation << 1, std::memory_order_release);
  s.object.store(nullptr, std::memory_order_relaxed);
  live_.fetch_sub(1, std::memory_order_relaxed);
  // A slot whose generation would overflow 32 bits is retired instead of reused, so a handle
  // value is never issued twice. push_back may throw only on host OOM; losing the slot then is
  // harmless.
  if (generation < 0xFFFFFFFFu) {
    try {
      free_.push_back(static_cast<std::uint32_t>(slot));
    } catch (...) {
    }
  }
}

void throw_bad_handle(Lookup status, HandleKind kind, const char* param) {
  switch (status) {
    case Lookup::null: invalid_argument(param, "NULL handle");
    case Lookup::stale: invalid_argument(param, "stale handle (already destroyed)");
    default: invalid_argument(param, std::string("not a live ") + kind_name(kind) + " handle");
  }
}

}  // namespace worker::core
