// Internal error type of the native core. Every failure inside the library is a core::Error
// carrying a contract error code and a human-readable detail; the boundary (boundary.hpp)
// turns it into the `error_code` out-parameter and the thread-local detail message, so no
// exception ever crosses the C ABI.
#pragma once

#include <exception>
#include <string>

namespace worker::core {

class Error : public std::exception {
 public:
  Error(int code, std::string detail) : code_(code), detail_(std::move(detail)) {}
  int code() const noexcept { return code_; }
  const char* what() const noexcept override { return detail_.c_str(); }

 private:
  int code_;
  std::string detail_;
};

// INVALID_PARAMETER with detail "<param>: <why>".
[[noreturn]] void invalid_argument(const char* param, const std::string& why);

// `code` with detail "<param>: <value> is outside <allowed>".
[[noreturn]] void out_of_range(int code, const char* param, const std::string& value,
                               const char* allowed);

// Strict UTF-8 validation (no overlongs, no surrogates, nothing above U+10FFFF).
// NULL is not valid UTF-8.
bool is_valid_utf8(const char* s) noexcept;

}  // namespace worker::core
