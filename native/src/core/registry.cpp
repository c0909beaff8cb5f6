#include "core/registry.hpp"

#include "core/handles.hpp"

#include <chrono>
#include <string>
#include <thread>

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
  // A free slot has no pins (retire waited for them), so the word is just the generation.
  const std::uint64_t generation = (s.state.load(std::memory_order_relaxed) >> 32) + 1;
  s.object.store(object, std::memory_order_relaxed);
  s.state.store((generation << 32) | kLive, std::memory_order_release);
  live_.fetch_add(1, std::memory_order_relaxed);
  return (generation << 32) | (slot << 8) | static_cast<std::uint8_t>(kind_);
}

bool Registry::retire(std::uint64_t value) noexcept {
  Lookup status;
  Slot* s = const_cast<Slot*>(slot_of(value, status));
  if (s == nullptr) return false;
  std::uint64_t state = s->state.load(std::memory_order_acquire);
  do {
    if (!is_live(state, value)) return false;  // someone else retired it (or never issued)
  } while (!s->state.compare_exchange_weak(state, state & ~kLive, std::memory_order_acq_rel, std::memory_order_acquire));

  // The calling thread's own pins (a destroyer resolved what it destroys) are dropped now:
  // waiting for them would wait forever.
  pins::List& list = pins::held();
  std::uint64_t own = 0;
  for (int k = 0; k < list.count; ++k) {
    if (list.slots[k] == &s->state) {
      list.slots[k] = nullptr;
      ++own;
    }
  }
  if (own != 0) s->state.fetch_sub(own * kPin, std::memory_order_acq_rel);
  // Calls on other threads that pinned it before it went stale finish first.
  for (unsigned spins = 0; (s->state.load(std::memory_order_acquire) & kPinMask) != 0; ++spins) {
    if (spins < 64) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  const std::uint64_t slot = (value >> 8) & kSlotMask;
  const std::uint64_t generation = value >> 32;
  std::lock_guard<std::mutex> lock(mutex_);
  s->object.store(nullptr, std::memory_order_relaxed);
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
  return true;
}

pins::List& pins::held() noexcept {
  thread_local List list{};
  return list;
}

void throw_bad_handle(Lookup status, HandleKind kind, const char* param) {
  switch (status) {
    case Lookup::null: invalid_argument(param, "NULL handle");
    case Lookup::stale: invalid_argument(param, "stale handle (already destroyed)");
    default: invalid_argument(param, std::string("not a live ") + kind_name(kind) + " handle");
  }
}

void throw_parent_gone(HandleKind kind, const char* param) {
  invalid_argument(param, std::string("stale handle (the ") + (kind == HandleKind::inference ? "model or context" : "context") +
                              " it belongs to is being destroyed)");
}

}  // namespace worker::core
