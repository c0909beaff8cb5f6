#include "core/boundary.hpp"

#include <atomic>
#include <stdexcept>

#include "core/utf8.hpp"

namespace worker::boundary {

namespace call_faults {
namespace {
std::atomic<int> g_countdown{0};
}  // namespace

void arm(int nth) noexcept { g_countdown.store(nth, std::memory_order_relaxed); }

void count() {
  int left = g_countdown.load(std::memory_order_relaxed);
  if (left <= 0) return;  // the common case: no fault armed
  // Compare-exchange so that concurrent calls each consume exactly one step.
  while (left > 0 && !g_countdown.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) {
  }
  if (left == 1) throw std::logic_error("injected internal failure (cuda_testing_fail_call)");
}
}  // namespace call_faults

namespace detail {

std::string& message() noexcept {
  thread_local std::string text;
  return text;
}

void record(const char* fn, const char* what) noexcept {
  std::string& text = message();
  try {
    text.assign(fn);
    text.append(": ");
    // The contract promises UTF-8: any ill-formed byte that reached a detail becomes \xHH.
    text.append(core::utf8::sanitized(what));
  } catch (...) {
    text.clear();  // out of host memory: an empty detail beats a crash
  }
}

}  // namespace detail

const char* last_detail() noexcept { return detail::message().c_str(); }

void explain(const char* fn, const std::string& why) noexcept { detail::record(fn, why.c_str()); }

}  // namespace worker::boundary
