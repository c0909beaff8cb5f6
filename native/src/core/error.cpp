#include "core/error.hpp"

#include "core/utf8.hpp"
#include "worker_ffi.h"

namespace worker::core {

void invalid_argument(const char* param, const std::string& why) {
  throw Error(CUDA_ERROR_INVALID_PARAMETER, std::string(param) + ": " + why);
}

void out_of_range(int code, const char* param, const std::string& value, const char* allowed) {
  throw Error(code, std::string(param) + ": " + value + " is outside " + allowed);
}

bool is_valid_utf8(const char* s) noexcept {
  if (s == nullptr) return false;
  return utf8::valid_prefix_length(s) == utf8::npos;
}

}  // namespace worker::core
