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
// with no lock: decode, bounds-check, compare the slot's state word. Insert and retire take a
// mutex (they are rare and allocate). Reusing a slot bumps its generation, so a stale handle
// never resolves to the object that took its place.
//
// Calls pin what they resolve. The slot's state word holds (generation, pin count, live);
// acquire() raises the pin count only while the word still says "live, this generation" (one
// compare-and-swap), and the boundary releases every pin of a call when the call returns
// (pins::Scope). retire() clears "live" first, so no new call can pin the object, then waits
// until the calls already pinned have returned; only then is the object destroyed. So
// destroying a handle while other threads use it or its descendants is safe: they finish
// their call on a live object, and later calls get a stale handle (INVALID_PARAMETER).

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

namespace pins {
// The pins held by the calling thread's current call (a call resolves at most a few handles).
inline constexpr int kMax = 8;
struct List {
  std::atomic<std::uint64_t>* slots[kMax];
  int count = 0;
};
List& held() noexcept;

// Releases, when a boundary call returns, every pin taken since the call began.
class Scope {
 public:
  Scope() noexcept : list_(held()), start_(list_.count) {}
  ~Scope() {
    while (list_.count > start_) {
      std::atomic<std::uint64_t>* slot = list_.slots[--list_.count];
      if (slot != nullptr) slot->fetch_sub(2, std::memory_order_release);  // one pin (see Registry)
    }
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  List& list_;
  const int start_;
};
}  // namespace pins

class Registry {
 public:
  explicit Registry(HandleKind kind) noexcept : kind_(kind) {}
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry();

  // Registers `object` and returns its handle value. Throws std::bad_alloc or core::Error
  // (UNKNOWN) when the table is exhausted.
  std::uint64_t insert(void* object);

  // Makes `value` stale if it is live: later lookups and acquires fail, and the call returns
  // once every call that pinned it (on other threads) has returned. Pins the calling thread
  // holds on it are dropped (a destroyer pinned what it destroys). True when this call
  // retired it, false when it was not live (already retired, or never issued).
  bool retire(std::uint64_t value) noexcept;
  void erase(std::uint64_t value) noexcept { (void)retire(value); }

  // Resolves `value` without pinning; returns the object when live, else nullptr with the
  // reason in `status`.
  void* find(std::uint64_t value, Lookup& status) const noexcept {
    const Slot* s = slot_of(value, status);
    if (s == nullptr) return nullptr;
    const std::uint64_t state = s->state.load(std::memory_order_acquire);
    if (is_live(state, value)) {
      status = Lookup::live;
      return s->object.load(std::memory_order_relaxed);
    }
    status = dead_status(state, value);
    return nullptr;
  }

  // Resolves and pins `value` for the calling thread's current boundary call (pins::Scope).
  void* acquire(std::uint64_t value, Lookup& status) const noexcept {
    Slot* s = const_cast<Slot*>(slot_of(value, status));
    if (s == nullptr) return nullptr;
    pins::List& list = pins::held();
    if (list.count == pins::kMax) [[unlikely]] {
      status = Lookup::forged;  // cannot happen: no function takes that many handles
      return nullptr;
    }
    std::uint64_t state = s->state.load(std::memory_order_acquire);
    for (;;) {
      if (!is_live(state, value)) {
        status = dead_status(state, value);
        return nullptr;
      }
      if (s->state.compare_exchange_weak(state, state + kPin, std::memory_order_acquire, std::memory_order_acquire)) break;
    }
    list.slots[list.count++] = &s->state;
    status = Lookup::live;
    return s->object.load(std::memory_order_relaxed);
  }

  std::uint64_t live() const noexcept { return live_.load(std::memory_order_relaxed); }

 private:
  static constexpr unsigned kChunkBits = 10;
  static constexpr std::uint64_t kChunkSize = std::uint64_t{1} << kChunkBits;
  static constexpr std::uint64_t kSlotMask = (std::uint64_t{1} << 24) - 1;
  static constexpr std::size_t kMaxChunks = (kSlotMask + 1) >> kChunkBits;
  // The state word: bits 63..32 generation, 31..1 pins, 0 live.
  static constexpr std::uint64_t kLive = 1;
  static constexpr std::uint64_t kPin = 2;
  static constexpr std::uint64_t kPinMask = 0xFFFFFFFEull;

  struct Slot {
    std::atomic<std::uint64_t> state{0};
    std::atomic<void*> object{nullptr};
  };

  static bool is_live(std::uint64_t state, std::uint64_t value) noexcept {
    return (state & kLive) != 0 && (state >> 32) == (value >> 32);
  }
  // Generations of a slot are issued in order, so anything not above the current one was
  // issued and has been destroyed; anything above it never existed.
  static Lookup dead_status(std::uint64_t state, std::uint64_t value) noexcept {
    return (value >> 32) <= (state >> 32) ? Lookup::stale : Lookup::forged;
  }

  // The slot `value` names, or nullptr with status null/forged.
  const Slot* slot_of(std::uint64_t value, Lookup& status) const noexcept {
    if (value == 0) {
      status = Lookup::null;
      return nullptr;
    }
    const std::uint64_t slot = (value >> 8) & kSlotMask;
    if ((value & 0xFF) != static_cast<std::uint8_t>(kind_) || (value >> 32) == 0) {
      status = Lookup::forged;
      return nullptr;
    }
    const Slot* chunk = chunks_[slot >> kChunkBits].load(std::memory_order_acquire);
    if (chunk == nullptr) {
      status = Lookup::forged;
      return nullptr;
    }
    return &chunk[slot & (kChunkSize - 1)];
  }

  const HandleKind kind_;
  std::array<std::atomic<Slot*>, kMaxChunks> chunks_{};
  std::mutex mutex_;                     // guards free_, next_slot_ and chunk creation
  std::vector<std::uint32_t> free_;
  std::uint64_t next_slot_ = 0;
  std::atomic<std::uint64_t> live_{0};
};

}  // namespace worker::core
