// The one try/catch-and-translate wrapper that every exported function goes through.
//
// Fallible functions (those with an error channel) use call/call_void: they clear the
// thread-local detail, run the body, and translate any exception into an error code plus a
// detail "<function>: <what>". Functions that declare no errors use guard/guard_void: they
// keep the previous detail unless they fail themselves. Nothing ever escapes: every wrapper
// is noexcept and catches everything. Every wrapper also holds a pins::Scope: the handles the
// body resolves stay alive until the call returns, whatever other threads destroy meanwhile.
#pragma once

#include <new>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "core/registry.hpp"
#include "worker_ffi.h"

namespace worker::boundary {

// Test-only fault (cuda_testing_fail_call): the nth fallible call from now on fails inside the
// boundary with an unexpected internal exception, which must come out as CUDA_ERROR_UNKNOWN.
namespace call_faults {
void arm(int nth) noexcept;
// Throws std::logic_error when the countdown reaches this call; one relaxed load otherwise.
void count();
}  // namespace call_faults

namespace detail {
// The thread-local detail message (cuda_last_error_detail).
std::string& message() noexcept;
// Records "<fn>: <what>"; never throws (drops the text if even that cannot be allocated).
void record(const char* fn, const char* what) noexcept;

inline void set_code(int* error_code, int code) noexcept {
  if (error_code != nullptr) *error_code = code;
}

// Translates the exception in flight into (code, detail). Call only inside a catch block.
inline int translate_current(const char* fn) noexcept {
  try {
    throw;
  } catch (const core::Error& e) {
    record(fn, e.what());
    return e.code();
  } catch (const std::bad_alloc&) {
    record(fn, "host allocation failed");
    return CUDA_ERROR_UNKNOWN;
  } catch (const std::exception& e) {
    record(fn, e.what());
    return CUDA_ERROR_UNKNOWN;
  } catch (...) {
    record(fn, "unknown internal exception");
    return CUDA_ERROR_UNKNOWN;
  }
}
}  // namespace detail

// Never NULL; "" after a success.
const char* last_detail() noexcept;

template <class R, class F>
R call(const char* fn, int* error_code, R on_error, F&& body) noexcept {
  const core::pins::Scope pinned;
  detail::message().clear();
  try {
    call_faults::count();
    R result = std::forward<F>(body)();
    detail::set_code(error_code, CUDA_SUCCESS);
    return result;
  } catch (...) {
    detail::set_code(error_code, detail::translate_current(fn));
    return on_error;
  }
}

template <class F>
void call_void(const char* fn, int* error_code, F&& body) noexcept {
  const core::pins::Scope pinned;
  detail::message().clear();
  try {
    call_faults::count();
    std::forward<F>(body)();
    detail::set_code(error_code, CUDA_SUCCESS);
  } catch (...) {
    detail::set_code(error_code, detail::translate_current(fn));
  }
}

template <class R, class F>
R guard(const char* fn, R fallback, F&& body) noexcept {
  const core::pins::Scope pinned;
  try {
    return std::forward<F>(body)();
  } catch (...) {
    detail::translate_current(fn);
    return fallback;
  }
}

template <class F>
void guard_void(const char* fn, F&& body) noexcept {
  const core::pins::Scope pinned;
  try {
    std::forward<F>(body)();
  } catch (...) {
    detail::translate_current(fn);
  }
}

// For functions that succeed with an explanation (a check that returns false with code 0):
// sets the detail without failing the call.
void explain(const char* fn, const std::string& why) noexcept;

}  // namespace worker::boundary
