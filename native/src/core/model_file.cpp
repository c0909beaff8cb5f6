#include "core/model_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"
#include "worker_ffi.h"

namespace worker::core {
namespace {

[[noreturn]] void fail(const std::string& why) { throw Error(CUDA_ERROR_MODEL_LOAD_FAILED, why); }

const char* file_type(mode_t mode) noexcept {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

}  // namespace

bool read_exact(int fd, void* dst, std::size_t len, std::uint64_t offset, std::string& why) noexcept {
  auto* cursor = static_cast<unsigned char*>(dst);
  std::size_t done = 0;
  while (done < len) {
    const ssize_t got = ::pread(fd, cursor + done, len - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      const int err = errno;
      try {
        why = got == 0 ? "the model file ended at byte " + std::to_string(offset + done) + " while reading " +
                             std::to_string(len) + " bytes at offset " + std::to_string(offset) +
                             " (it was truncated while loading)"
                       : "reading " + std::to_string(len) + " bytes at offset " + std::to_string(offset) +
                             " of the model file failed: " + std::strerror(err);
      } catch (...) {
        why.clear();
      }
      return false;
    }
    done += static_cast<std::size_t>(got);
  }
  return true;
}

ModelFile::ModelFile(const std::string& path) {
  // The type is checked before opening (opening a device can have side effects) and again on
  // the descriptor (the path may have been replaced in between). O_NONBLOCK: if a FIFO slips
  // in between the two, open() still returns at once instead of waiting for a writer.
  struct stat before {};
  if (::stat(path.c_str(), &before) != 0) fail("cannot open the model file: " + std::string(std::strerror(errno)));
  if (!S_ISREG(before.st_mode)) fail(std::string("the model path is ") + file_type(before.st_mode) + ", not a regular file");
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd_ < 0) fail("cannot open the model file: " + std::string(std::strerror(errno)));
  if (::fstat(fd_, &stat_) != 0) {
    const int err = errno;
    ::close(fd_);
    fail("cannot inspect the model file: " + std::string(std::strerror(err)));
  }
  if (!S_ISREG(stat_.st_mode)) {
    const mode_t mode = stat_.st_mode;
    ::close(fd_);
    fail(std::string("the model path is ") + file_type(mode) + ", not a regular file");
  }
  // Regular files ignore O_NONBLOCK; clear it anyway so reads block as usual.
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags >= 0) (void)::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
}

ModelFile::~ModelFile() {
  if (fd_ >= 0) ::close(fd_);
}

void ModelFile::read(void* dst, std::size_t len, std::uint64_t offset) const {
  std::string why;
  if (!read_exact(fd_, dst, len, offset, why)) fail(why);
}

void ModelFile::check_unchanged() const {
  struct stat now {};
  if (::fstat(fd_, &now) != 0) fail("cannot inspect the model file: " + std::string(std::strerror(errno)));
  if (now.st_size != stat_.st_size) {
    fail("the model file changed while loading: its size went from " + std::to_string(stat_.st_size) + " to " +
         std::to_string(now.st_size) + " bytes");
  }
  if (now.st_mtim.tv_sec != stat_.st_mtim.tv_sec || now.st_mtim.tv_nsec != stat_.st_mtim.tv_nsec) {
    fail("the model file changed while loading: it was modified after it was opened");
  }
}

}  // namespace worker::core
