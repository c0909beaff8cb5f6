// The model file as the loader reads it: opened without ever blocking, refused unless it is a
// regular file, and read with pread into memory the library owns.
//
// The file is never mapped. A mapping turns a file truncated under the reader into SIGBUS on
// the next access, which kills the whole process; pread instead returns fewer bytes, which
// becomes MODEL_LOAD_FAILED with a detail naming the offset. Opening uses O_NONBLOCK after
// checking the path's type, so a FIFO (whose open would wait for a writer), a socket or a
// device is refused instead of hanging or reading an endless stream.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace worker::core {

// Reads exactly `len` bytes at `offset` of `fd` into `dst` (restarting on EINTR). False with
// the reason in `why` when the file ends early or the read fails. Never throws.
bool read_exact(int fd, void* dst, std::size_t len, std::uint64_t offset, std::string& why) noexcept;

class ModelFile {
 public:
  // Throws core::Error(MODEL_LOAD_FAILED) when the path cannot be opened or is not a regular file.
  explicit ModelFile(const std::string& path);
  ~ModelFile();
  ModelFile(const ModelFile&) = delete;
  ModelFile& operator=(const ModelFile&) = delete;

  int fd() const noexcept { return fd_; }
  std::uint64_t size() const noexcept { return static_cast<std::uint64_t>(stat_.st_size); }

  // dst[0..len) = bytes [offset, offset + len). Throws MODEL_LOAD_FAILED on a short read.
  void read(void* dst, std::size_t len, std::uint64_t offset) const;
  // Throws MODEL_LOAD_FAILED when the file's size or modification time differ from when it
  // was opened (it was rewritten while being loaded, so what was read may be a mixture).
  void check_unchanged() const;

 private:
  int fd_ = -1;
  struct stat stat_ {};
};

}  // namespace worker::core
