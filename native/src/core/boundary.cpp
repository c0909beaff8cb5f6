#include "core/boundary.hpp"

namespace worker::boundary {
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
    text.append(what);
  } catch (...) {
    text.clear();  // out of host memory: an empty detail beats a crash
  }
}

}  // namespace detail

const char* last_detail() noexcept { return detail::message().c_str(); }

void explain(const char* fn, const std::string& why) noexcept { detail::record(fn, why.c_str()); }

}  // namespace worker::boundary
