# Fails, before anything is compiled, when a function the generated ffi_impl.hpp declares (one
# per function of the spec) has no definition in the implementation sources, naming the
# signature to write and where. Without it, a function added to the spec shows up as a bare
# "undefined reference" from the linker.
#   cmake -DDECLARATIONS=src/generated/ffi_impl.hpp -DIMPL_DIR=src/impl -P check_impl.cmake
file(READ ${DECLARATIONS} text)
string(REGEX MATCH "namespace ([A-Za-z_0-9:]+) {" _ "${text}")
set(ns "${CMAKE_MATCH_1}")
string(REGEX MATCHALL "\n[^\n/#][^\n]*[ *&]([A-Za-z_0-9]+)\\([^\n]*\\);" decls "${text}")
file(GLOB sources ${IMPL_DIR}/*.cpp ${IMPL_DIR}/*.cc ${IMPL_DIR}/*.cu)
set(code "")
foreach(source IN LISTS sources)
  file(READ ${source} body)
  string(APPEND code "\n${body}")
endforeach()
set(missing "")
foreach(decl IN LISTS decls)
  string(STRIP "${decl}" decl)
  string(REGEX REPLACE "^.*[ *&]([A-Za-z_0-9]+)\\(.*$" "\\1" name "${decl}")
  if(NOT code MATCHES "[^A-Za-z_0-9]${name}\\(")
    string(REGEX REPLACE ";$" "" signature "${decl}")
    string(APPEND missing "\n  ${signature} { ... }")
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR
    "functions of the spec without an implementation: define them in namespace ${ns} in a "
    "source under ${IMPL_DIR}/ (for example ${IMPL_DIR}/ffi_impl.cpp), with exactly "
    "these signatures from ${DECLARATIONS}:${missing}\n"
    "Failures are reported by throwing the core's Error; the generated exports have already "
    "checked every argument rule of the spec.")
endif()
