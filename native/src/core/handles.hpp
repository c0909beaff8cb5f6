// Handle resolution used by the generated exports (native/src/generated/ffi_exports.cpp).
//
// Each opaque C handle type maps to the core object behind it (handle_traits). resolve()
// validates a handle argument against the registry and throws INVALID_PARAMETER for NULL,
// stale or forged values; resolve_or_null() is the non-throwing form used by destroyers,
// for which NULL and stale handles are a no-op. Both pin the object until the boundary call
// returns (Registry::acquire, pins::Scope), so a concurrent destroyer waits for the call
// instead of freeing the object under it.
#pragma once

#include <cstdint>

#include "core/error.hpp"
#include "core/registry.hpp"
#include "worker_ffi.h"

namespace worker::core {

class Context;
class Model;
class Inference;

// One registry per handle kind; defined in objects.cpp.
extern Registry context_registry;
extern Registry model_registry;
extern Registry inference_registry;

template <class H>
struct handle_traits;

template <>
struct handle_traits<CudaContext> {
  using object = Context;
  static constexpr HandleKind kind = HandleKind::context;
  static Registry& registry() noexcept { return context_registry; }
};
template <>
struct handle_traits<CudaModel> {
  using object = Model;
  static constexpr HandleKind kind = HandleKind::model;
  static Registry& registry() noexcept { return model_registry; }
};
template <>
struct handle_traits<InferenceResult> {
  using object = Inference;
  static constexpr HandleKind kind = HandleKind::inference;
  static Registry& registry() noexcept { return inference_registry; }
};

template <class H>
using object_t = typename handle_traits<H>::object;

// Slow path kept out of line so resolve() inlines to a handful of instructions.
[[noreturn]] void throw_bad_handle(Lookup status, HandleKind kind, const char* param);
[[noreturn]] void throw_parent_gone(HandleKind kind, const char* param);

// Pins the parent (and its parent) of an object the current call pinned, so that a call on a
// child keeps its whole ancestry alive: a parent's destroyer waits for every call on any of
// its descendants. False when an ancestor is already being destroyed (defined in objects.cpp).
bool pin_ancestors(Context& object) noexcept;
bool pin_ancestors(Model& object) noexcept;
bool pin_ancestors(Inference& object) noexcept;

template <class H>
object_t<H>& resolve(H* handle, const char* param) {
  Lookup status;
  void* object = handle_traits<H>::registry().acquire(reinterpret_cast<std::uintptr_t>(handle), status);
  if (object == nullptr) [[unlikely]] {
    throw_bad_handle(status, handle_traits<H>::kind, param);
  }
  auto& resolved = *static_cast<object_t<H>*>(object);
  if (!pin_ancestors(resolved)) [[unlikely]] {
    throw_parent_gone(handle_traits<H>::kind, param);
  }
  return resolved;
}

template <class H>
object_t<H>* resolve_or_null(H* handle) noexcept {
  Lookup status;
  auto* object = static_cast<object_t<H>*>(
      handle_traits<H>::registry().acquire(reinterpret_cast<std::uintptr_t>(handle), status));
  // An ancestor being destroyed destroys this object too: nothing left to do.
  return object != nullptr && pin_ancestors(*object) ? object : nullptr;
}

// The C handle value of a registered object.
template <class H>
H* to_handle(std::uint64_t value) noexcept {
  return reinterpret_cast<H*>(static_cast<std::uintptr_t>(value));
}

}  // namespace worker::core
