// A strict, bounds-checked reader of GGUF v3 files (little-endian).
//
// The parser works on an in-memory copy of the start of the file (the loader reads it with
// pread; the file is never mapped, so a file truncated under the reader cannot fault) and
// never reads outside it: every length, count and offset is checked against the file's size
// before it is used, so corrupt or hostile files fail with a MODEL_LOAD_FAILED error that
// names the problem instead of crashing. When the header runs past the bytes read so far, the
// parser throws NeedMore and the loader reads a longer prefix. Strings are views into the
// prefix; tensor data is located by file offset and read separately.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace worker::core::gguf {

inline constexpr std::uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian u32
inline constexpr std::uint32_t kVersion = 3;
inline constexpr std::uint32_t kDefaultAlignment = 32;

enum class ValueType : std::uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
  string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};

const char* value_type_name(ValueType type) noexcept;

// ggml tensor types this reader can size; only F32 is used by worker-tiny.
inline constexpr std::uint32_t kTensorF32 = 0;

struct Value {
  ValueType type{};
  std::uint64_t u = 0;         // unsigned integers and bool
  std::int64_t i = 0;          // signed integers
  double f = 0;                // floats
  std::string_view str;        // string
  ValueType elem_type{};       // array: element type
  std::uint64_t count = 0;     // array: element count
  std::size_t elems_offset = 0;  // array: offset of the first element in the file
};

struct TensorInfo {
  std::string_view name;
  std::uint32_t n_dims = 0;
  std::uint64_t ne[4] = {1, 1, 1, 1};
  std::uint32_t type = 0;
  std::uint64_t offset = 0;  // relative to the data section
  std::uint64_t bytes = 0;
};

// Thrown by File::parse when the header continues past the prefix it was given (and the file
// is long enough to hold it): parse again with at least `bytes` bytes.
struct NeedMore {
  std::uint64_t bytes;
};

class File {
 public:
  // Parses and validates the header, metadata and tensor infos of a file of `file_size`
  // bytes whose first bytes are `prefix`, and checks that every tensor's data lies inside the
  // file. Throws core::Error(MODEL_LOAD_FAILED), or NeedMore when `prefix` is too short.
  static File parse(std::span<const std::uint8_t> prefix, std::uint64_t file_size);
  // A whole file in memory.
  static File parse(std::span<const std::uint8_t> data) { return parse(data, data.size()); }

  const Value* find(std::string_view key) const noexcept;
  const TensorInfo* tensor(std::string_view name) const noexcept;
  const std::vector<TensorInfo>& tensors() const noexcept { return tensors_; }
  // Where a tensor's data starts in the file (inside the file: checked by parse()).
  std::uint64_t file_offset(const TensorInfo& info) const noexcept { return data_offset_ + info.offset; }
  // Elements of a string array (already validated by parse()).
  std::vector<std::string_view> strings(const Value& array) const;

  std::uint32_t alignment() const noexcept { return alignment_; }
  std::size_t data_offset() const noexcept { return data_offset_; }

 private:
  std::span<const std::uint8_t> data_;  // the prefix that was parsed
  std::uint64_t file_size_ = 0;
  std::unordered_map<std::string_view, Value> metadata_;
  std::vector<TensorInfo> tensors_;
  std::uint32_t alignment_ = kDefaultAlignment;
  std::size_t data_offset_ = 0;
};

}  // namespace worker::core::gguf
