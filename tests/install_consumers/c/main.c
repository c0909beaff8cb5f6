/* An out-of-tree C consumer of the installed library, built with pkg-config. */
#include <stdio.h>
#include <string.h>

#include <worker_ffi.h>

int main(void) {
    const char* version = cuda_contract_version();
    if (strcmp(version, WORKER_FFI_VERSION_STRING) != 0 || strcmp(cuda_contract_hash(), WORKER_FFI_CONTRACT_HASH) != 0) {
        fprintf(stderr, "header %s, library %s: contract mismatch\n", WORKER_FFI_VERSION_STRING, version);
        return 1;
    }
    int code = -1;
    CudaContext* ctx = cuda_init(0, &code);
    printf("c consumer: contract %s, %d device(s), cuda_init code %d (%s)\n", version, cuda_get_device_count(), code,
           cuda_error_message(code));
    cuda_destroy(ctx);
    return 0;
}
