#include "backend/backend.hpp"

#include <algorithm>
#include <vector>

#include "core/error.hpp"
#include "core/model_file.hpp"
#include "worker_ffi.h"

namespace worker::backend {

void Device::upload_file(void* dst, int fd, std::uint64_t offset, std::size_t bytes) {
  constexpr std::size_t kPiece = std::size_t{4} << 20;
  std::vector<unsigned char> buffer(std::min(bytes, kPiece));
  auto* out = static_cast<unsigned char*>(dst);
  for (std::size_t done = 0; done < bytes;) {
    const std::size_t len = std::min(kPiece, bytes - done);
    std::string why;
    if (!core::read_exact(fd, buffer.data(), len, offset + done, why)) throw core::Error(CUDA_ERROR_MODEL_LOAD_FAILED, why);
    upload(out + done, buffer.data(), len);
    done += len;
  }
}

}  // namespace worker::backend
