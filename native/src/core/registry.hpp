// Registry of live handles.
//
// A handle value handed to callers is not an address: it encodes (generation, slot, kind tag)
// so that NULL, stale (destroyed) and forged values are all told apart without dereferencing
// anything the caller gave us:
//
//   bits 63..32  generation of the slot when the handle was issued (>= 1)
//   bits 31..8   slot index
//   bits  7..0   kind tag (odd, so a real aligned pointer never matches)
//
// Slots live in chunks that are allocated once and never freed, so a lookup is a few loads
// with no lock: decode, bounds-check, compare the slot's (generation, live) word. Insert and
// erase take a mutex (they are rare and allocate). Reusing a slot bumps its generation, so a
// stale handle never resolves to the object that took its place.
//
// A lookup races safely with inserts and erases of *other* handles. Destroying a handle while
// another thread uses the same handle (or one of its descendants) is excluded by the contract
// (destroyers are externally synchronised on the handle).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace worker::core {

enum class HandleKind : std::uint8_t { context = 0xC1, model = 0xC3, inference = 0xC5 };

const char* kind_name(HandleKind kind) noexcept;

enum class Lookup : std::uint8_t { live, null, stale, forged };

class Registry {
 public:
  explicit Registry(HandleKind kind) noexcept : kind_(kind) {}
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry();

  // Registers `object` and returns its handle value. Throws std::bad_alloc or core::Error
  // (UNKNOWN) when the table is exhausted.
  std::uint64_t insert(void* object);

  // Invalidates `value` (must be live). Later lookups report it stale.
  void erase(std::uint64_t value) noexcept;

  // Resolves `value`; returns the object when live, else nullptr with the reason in `status`.
  void* find(std::uint64_t value, Lookup& status) const noexcept {
    if (value == 0) {
      status = Lookup::null;
      return nullptr;
    }
    const std::uint64_t slot = (value >> 8) & kSlotMask;
    const std::uint64_t generation = value >> 32;
    if ((value & 0xFF) != static_cast<std::uint8_t>(kind_) || generation == 0) {
      status = Lookup::forged;
      return nullptr;
    }
    const Slot* chunk = chunks_[slot >> kChunkBits].load(std::memory_order_acquire);
    if (chunk == nullptr) {
      status = Lookup::forged;
      return nullptr;
    }
    const Slot& s = chunk[slot & (kChunkSize - 1)];
    const std::uint64_t state = s.state.load(std::memory_order_acquire);
    if (state == ((generation << 1) | 1)) {
      status = Lookup::live;
      return s.object.load(std::memory_order_relaxed);
    }
    // Generations of a slot are issued in order, so anything not above the current one was
    // issued and has been destroyed; anything above it never existed.
    status = generation <= (state >> 1) ? Lookup::stale : Lookup::forged;
    return nullptr;
  }

  std::uint64_t live() const noexcept { return live_.load(std::memory_order_relaxed); }

 private:
  static constexpr unsigned kChunkBits = 10;
  static constexpr std::uint64_t kChunkSize = std::uint64_t{1} << kChunkBits;
  static constexpr std::uint64_t kSlotMask = (std::uint64_t{1} << 24) - 1;
  static constexpr std::size_t kMaxChunks = (kSlotMask + 1) >> kChunkBits;

  struct Slot {
    std::atomic<std::uint64_t> state{0};  // (generation << 1) | live
    std::atomic<void*> object{nullptr};
  };

  const HandleKind kind_;
  std::array<std::atomic<Slot*>, kMaxChunks> chunks_{};
  std::mutex mutex_;                     // guards free_, next_slot_ and chunk creation
  std::vector<std::uint32_t> free_;
  std::uint64_t next_slot_ = 0;
  std::atomic<std::uint64_t> live_{0};
};

}  // namespace worker::core
