// Timing trace of the library's slow phases (parsing a model file, building its tokenizer,
// opening a CUDA device, page-locking, large allocations and uploads), for finding where a load's time goes.
// Off unless WORKER_FFI_TRACE=1; then each phase prints one line to stderr:
//
//     worker_ffi trace +231.402 ms [tid 1234]: cudaHostRegister 67108864 bytes: 6.120 ms
//
// (+ms: when the phase ended, since the library's first trace call).
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

namespace worker::trace {

inline bool enabled() noexcept {
  static const bool on = [] {
    const char* value = std::getenv("WORKER_FFI_TRACE");
    return value != nullptr && std::strcmp(value, "1") == 0;
  }();
  return on;
}

inline std::chrono::steady_clock::time_point origin() noexcept {
  static const auto start = std::chrono::steady_clock::now();
  return start;
}

// Times its own lifetime; prints when it ends (nothing when the trace is off).
class Span {
 public:
  explicit Span(const char* what, std::size_t bytes = 0) noexcept : what_(what), bytes_(bytes) {
    if (enabled()) {
      (void)origin();
      start_ = std::chrono::steady_clock::now();
    }
  }
  ~Span() {
    if (!enabled()) return;
    const auto end = std::chrono::steady_clock::now();
    const double took = std::chrono::duration<double, std::milli>(end - start_).count();
    const double at = std::chrono::duration<double, std::milli>(end - origin()).count();
    const std::size_t tid = std::hash<std::thread::id>{}(std::this_thread::get_id()) % 100000;
    if (bytes_ != 0) {
      std::fprintf(stderr, "worker_ffi trace +%.3f ms [tid %05zu]: %s %zu bytes: %.3f ms\n", at, tid, what_,
                   bytes_, took);
    } else {
      std::fprintf(stderr, "worker_ffi trace +%.3f ms [tid %05zu]: %s: %.3f ms\n", at, tid, what_, took);
    }
  }
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;

 private:
  const char* what_;
  std::size_t bytes_;
  std::chrono::steady_clock::time_point start_{};
};

}  // namespace worker::trace
