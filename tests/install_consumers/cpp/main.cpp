// An out-of-tree C++ consumer of the installed library, built with find_package(worker_ffi).
#include <worker_ffi.h>

#include <cstdio>
#include <memory>
#include <string>

int main() {
  if (std::string(cuda_contract_hash()) != WORKER_FFI_CONTRACT_HASH) {
    std::fprintf(stderr, "contract mismatch: library %s, header %s\n", cuda_contract_version(), WORKER_FFI_VERSION_STRING);
    return 1;
  }
  int code = -1;
  std::unique_ptr<CudaContext, void (*)(CudaContext*)> ctx(cuda_init(0, &code), cuda_destroy);
  std::printf("c++ consumer: contract %s, %d device(s), cuda_init code %d (%s)\n", cuda_contract_version(),
              cuda_get_device_count(), code, cuda_error_message(code));
  return 0;
}
