// A minimal test harness: named test cases, CHECK that records file:line and carries on, and a
// summary line that ctest and CI read ("N passed, N failed").
#pragma once

#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

namespace check {

struct Case {
  const char* name;
  std::function<void()> body;
};

inline std::vector<Case>& cases() {
  static std::vector<Case> all;
  return all;
}
inline int& failures() {
  static int n = 0;
  return n;
}

struct Register {
  Register(const char* name, std::function<void()> body) { cases().push_back({name, std::move(body)}); }
};

inline void fail(const char* file, int line, const std::string& what) {
  ++failures();
  std::fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what.c_str());
}

// Runs the cases whose name contains `filter` (all when empty).
inline int run(const char* filter) {
  int passed = 0, failed = 0;
  for (const auto& c : cases()) {
    if (filter != nullptr && std::strstr(c.name, filter) == nullptr) continue;
    const int before = failures();
    c.body();
    if (failures() == before) {
      ++passed;
    } else {
      ++failed;
      std::fprintf(stderr, "case %s failed\n", c.name);
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace check

#define CHECK_CONCAT2(a, b) a##b
#define CHECK_CONCAT(a, b) CHECK_CONCAT2(a, b)
#define TEST_CASE(name)                                                        \
  static void CHECK_CONCAT(test_, __LINE__)();                                 \
  static check::Register CHECK_CONCAT(reg_, __LINE__)(name, CHECK_CONCAT(test_, __LINE__)); \
  static void CHECK_CONCAT(test_, __LINE__)()

#define CHECK(cond)                                            \
  do {                                                         \
    if (!(cond)) check::fail(__FILE__, __LINE__, #cond);       \
  } while (0)

#define CHECK_EQ(a, b)                                                                        \
  do {                                                                                        \
    const auto& check_a = (a);                                                                \
    const auto& check_b = (b);                                                                \
    if (!(check_a == check_b)) {                                                              \
      check::fail(__FILE__, __LINE__, std::string(#a " == " #b " (") + check::show(check_a) + \
                                          " vs " + check::show(check_b) + ")");               \
    }                                                                                         \
  } while (0)

namespace check {
inline std::string show(const std::string& s) { return "\"" + s + "\""; }
inline std::string show(const char* s) { return s ? "\"" + std::string(s) + "\"" : "NULL"; }
inline std::string show(bool b) { return b ? "true" : "false"; }
template <std::size_t N>
std::string show(const char (&s)[N]) { return show(static_cast<const char*>(s)); }
template <class T>
std::string show(const T& v) {
  if constexpr (std::is_pointer_v<T>) {
    return v ? "pointer" : "NULL";
  } else if constexpr (std::is_integral_v<T> || std::is_enum_v<T>) {
    return std::to_string(static_cast<long long>(v));
  } else if constexpr (std::is_floating_point_v<T>) {
    return std::to_string(v);
  } else {
    return "?";
  }
}
}  // namespace check
