#include "core/gguf.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_set>

#include "core/error.hpp"
#include "core/utf8.hpp"
#include "worker_ffi.h"

namespace worker::core::gguf {
namespace {

[[noreturn]] void fail(const std::string& why) { throw Error(CUDA_ERROR_MODEL_LOAD_FAILED, why); }

constexpr unsigned kMaxArrayDepth = 4;
constexpr std::uint32_t kMaxDims = 4;
constexpr std::uint32_t kMaxAlignment = 1u << 16;

// Smallest encoded size of each value type; lets counts be checked against the bytes left
// before anything is allocated for them.
std::size_t min_encoded_size(ValueType type) noexcept {
  switch (type) {
    case ValueType::u8: case ValueType::i8: case ValueType::boolean: return 1;
    case ValueType::u16: case ValueType::i16: return 2;
    case ValueType::u32: case ValueType::i32: case ValueType::f32: return 4;
    case ValueType::u64: case ValueType::i64: case ValueType::f64: case ValueType::string: return 8;
    case ValueType::array: return 12;
  }
  return 0;
}

// Bytes per block and elements per block of the ggml tensor types whose layout is fixed.
struct TensorType { std::uint32_t id; const char* name; std::uint32_t block_bytes, block_elems; };
constexpr TensorType kTensorTypes[] = {
    {0, "F32", 4, 1},       {1, "F16", 2, 1},         {2, "Q4_0", 18, 32},    {3, "Q4_1", 20, 32},
    {6, "Q5_0", 22, 32},    {7, "Q5_1", 24, 32},      {8, "Q8_0", 34, 32},    {9, "Q8_1", 36, 32},
    {10, "Q2_K", 84, 256},  {11, "Q3_K", 110, 256},   {12, "Q4_K", 144, 256}, {13, "Q5_K", 176, 256},
    {14, "Q6_K", 210, 256}, {15, "Q8_K", 292, 256},   {24, "I8", 1, 1},       {25, "I16", 2, 1},
    {26, "I32", 4, 1},      {27, "I64", 8, 1},        {28, "F64", 8, 1},      {30, "BF16", 2, 1},
};

const TensorType* find_tensor_type(std::uint32_t id) noexcept {
  for (const auto& t : kTensorTypes) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

// Names come from the file: escaped so the detail stays valid, printable UTF-8.
std::string quoted(std::string_view s) {
  constexpr std::size_t kMax = 64;  // keep details readable when names are garbage
  return "'" + utf8::escaped(s, kMax) + "'";
}

class Cursor {
 public:
  // `data` is the start of a file of `file_size` bytes (data.size() <= file_size).
  Cursor(std::span<const std::uint8_t> data, std::uint64_t file_size) : data_(data), file_size_(file_size) {}

  std::size_t pos() const noexcept { return pos_; }
  // Bytes of the file after the cursor (not only those in memory).
  std::uint64_t left() const noexcept { return file_size_ - pos_; }

  void need(std::uint64_t n, const char* what) const {
    if (n > left()) {
      fail("truncated header: " + std::string(what) + " needs " + std::to_string(n) +
           " bytes at offset " + std::to_string(pos_) + " but the file has " +
           std::to_string(file_size_));
    }
    if (n > data_.size() - pos_) throw NeedMore{pos_ + n};
  }

  template <class T>
  T read(const char* what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, data_.data() + pos_, sizeof(T));  // files are little-endian, so is the host
    pos_ += sizeof(T);
    return value;
  }

  std::string_view string(const char* what) {
    const auto length = read<std::uint64_t>(what);
    if (length > left()) {
      fail("truncated header: " + std::string(what) + " of " + std::to_string(length) +
           " bytes at offset " + std::to_string(pos_) + " runs past the end of the file (" +
           std::to_string(file_size_) + " bytes)");
    }
    need(length, what);
    std::string_view s(reinterpret_cast<const char*>(data_.data() + pos_), length);
    pos_ += length;
    return s;
  }

  void skip(std::size_t n) { pos_ += n; }

 private:
  std::span<const std::uint8_t> data_;
  std::uint64_t file_size_;
  std::size_t pos_ = 0;
};

ValueType read_value_type(Cursor& in, const char* what) {
  const auto raw = in.read<std::uint32_t>(what);
  if (raw > static_cast<std::uint32_t>(ValueType::f64)) {
    fail("unknown metadata value type " + std::to_string(raw) + " at offset " +
         std::to_string(in.pos() - 4));
  }
  return static_cast<ValueType>(raw);
}

void read_value(Cursor& in, ValueType type, Value& out, unsigned depth, std::string_view key) {
  out.type = type;
  switch (type) {
    case ValueType::u8: out.u = in.read<std::uint8_t>("u8 value"); break;
    case ValueType::i8: out.i = in.read<std::int8_t>("i8 value"); break;
    case ValueType::u16: out.u = in.read<std::uint16_t>("u16 value"); break;
    case ValueType::i16: out.i = in.read<std::int16_t>("i16 value"); break;
    case ValueType::u32: out.u = in.read<std::uint32_t>("u32 value"); break;
    case ValueType::i32: out.i = in.read<std::int32_t>("i32 value"); break;
    case ValueType::u64: out.u = in.read<std::uint64_t>("u64 value"); break;
    case ValueType::i64: out.i = in.read<std::int64_t>("i64 value"); break;
    case ValueType::f32: out.f = in.read<float>("f32 value"); break;
    case ValueType::f64: out.f = in.read<double>("f64 value"); break;
    case ValueType::boolean: {
      const auto b = in.read<std::uint8_t>("bool value");
      if (b > 1) fail("metadata " + quoted(key) + ": bool value " + std::to_string(b) + " is not 0 or 1");
      out.u = b;
      break;
    }
    case ValueType::string: out.str = in.string("string value"); break;
    case ValueType::array: {
      if (depth >= kMaxArrayDepth) fail("metadata " + quoted(key) + ": arrays nested too deeply");
      out.elem_type = read_value_type(in, "array element type");
      out.count = in.read<std::uint64_t>("array length");
      if (out.count > in.left() / min_encoded_size(out.elem_type)) {
        fail("absurd count: metadata " + quoted(key) + " claims " + std::to_string(out.count) +
             " array elements but only " + std::to_string(in.left()) + " bytes remain");
      }
      out.elems_offset = in.pos();
      Value element;
      for (std::uint64_t n = 0; n < out.count; ++n) read_value(in, out.elem_type, element, depth + 1, key);
      break;
    }
  }
}

std::uint64_t align_up(std::uint64_t x, std::uint64_t alignment) {
  return (x + alignment - 1) / alignment * alignment;
}

}  // namespace

const char* value_type_name(ValueType type) noexcept {
  switch (type) {
    case ValueType::u8: return "uint8";
    case ValueType::i8: return "int8";
    case ValueType::u16: return "uint16";
    case ValueType::i16: return "int16";
    case ValueType::u32: return "uint32";
    case ValueType::i32: return "int32";
    case ValueType::f32: return "float32";
    case ValueType::boolean: return "bool";
    case ValueType::string: return "string";
    case ValueType::array: return "array";
    case ValueType::u64: return "uint64";
    case ValueType::i64: return "int64";
    case ValueType::f64: return "float64";
  }
  return "unknown";
}

File File::parse(std::span<const std::uint8_t> data, std::uint64_t file_size) {
  File file;
  if (data.size() > file_size) data = data.first(static_cast<std::size_t>(file_size));
  file.data_ = data;
  file.file_size_ = file_size;
  Cursor in(data, file_size);

  if (file_size < 4) {
    fail("truncated header: the file has " + std::to_string(file_size) + " bytes, too few for the GGUF magic");
  }
  const auto magic = in.read<std::uint32_t>("magic");
  if (magic != kMagic) {
    static const char hex[] = "0123456789ABCDEF";
    std::string seen;
    for (int k = 0; k < 4; ++k) {
      const auto b = data[k];
      seen += hex[b >> 4];
      seen += hex[b & 15];
    }
    fail("bad magic: expected 'GGUF' (47475546), found " + seen);
  }
  const auto version = in.read<std::uint32_t>("version");
  if (version != kVersion) fail("unsupported GGUF version " + std::to_string(version) + " (only 3 is supported)");
  const auto tensor_count = in.read<std::uint64_t>("tensor count");
  const auto kv_count = in.read<std::uint64_t>("metadata count");

  // Counts beyond the file size cannot be real (every entry takes bytes); smaller wrong
  // counts are caught as truncation while reading.
  if (kv_count > file_size) {
    fail("absurd count: " + std::to_string(kv_count) + " metadata entries in a file of " +
         std::to_string(file_size) + " bytes");
  }
  if (tensor_count > file_size) {
    fail("absurd count: " + std::to_string(tensor_count) + " tensors in a file of " +
         std::to_string(file_size) + " bytes");
  }

  file.metadata_.reserve(std::min<std::uint64_t>(kv_count, 1024));  // counts are untrusted
  for (std::uint64_t n = 0; n < kv_count; ++n) {
    const std::string_view key = in.string("metadata key");
    Value value;
    read_value(in, read_value_type(in, "metadata value type"), value, 0, key);
    if (!file.metadata_.emplace(key, value).second) fail("duplicate metadata key " + quoted(key));
  }

  if (const Value* a = file.find("general.alignment")) {
    if (a->type != ValueType::u32) fail("general.alignment must be uint32, found " + std::string(value_type_name(a->type)));
    if (a->u == 0 || (a->u & (a->u - 1)) != 0 || a->u > kMaxAlignment) {
      fail("general.alignment " + std::to_string(a->u) + " is not a power of two up to 65536");
    }
    file.alignment_ = static_cast<std::uint32_t>(a->u);
  }

  file.tensors_.reserve(std::min<std::uint64_t>(tensor_count, 1024));
  std::unordered_set<std::string_view> names;
  for (std::uint64_t n = 0; n < tensor_count; ++n) {
    TensorInfo t;
    t.name = in.string("tensor name");
    if (t.name.empty()) fail("tensor " + std::to_string(n) + " has an empty name");
    t.n_dims = in.read<std::uint32_t>("tensor dimension count");
    if (t.n_dims == 0 || t.n_dims > kMaxDims) {
      fail("tensor " + quoted(t.name) + " has " + std::to_string(t.n_dims) + " dimensions (1..4 allowed)");
    }
    std::uint64_t elements = 1;
    for (std::uint32_t k = 0; k < t.n_dims; ++k) {
      t.ne[k] = in.read<std::uint64_t>("tensor dimension");
      if (t.ne[k] == 0 || t.ne[k] > (std::uint64_t{1} << 40) || elements > (std::uint64_t{1} << 62) / t.ne[k]) {
        fail("tensor " + quoted(t.name) + " has an absurd shape (dimension " + std::to_string(k) +
             " is " + std::to_string(t.ne[k]) + ")");
      }
      elements *= t.ne[k];
    }
    t.type = in.read<std::uint32_t>("tensor type");
    const TensorType* type = find_tensor_type(t.type);
    if (type == nullptr) fail("tensor " + quoted(t.name) + " has unknown type " + std::to_string(t.type));
    if (t.ne[0] % type->block_elems != 0) {
      fail("tensor " + quoted(t.name) + " of type " + type->name + " has a first dimension of " +
           std::to_string(t.ne[0]) + ", not a multiple of its block size");
    }
    t.bytes = elements / type->block_elems * type->block_bytes;
    t.offset = in.read<std::uint64_t>("tensor offset");
    if (t.offset % file.alignment_ != 0) {
      fail("tensor " + quoted(t.name) + " offset " + std::to_string(t.offset) +
           " is not a multiple of the alignment " + std::to_string(file.alignment_));
    }
    if (!names.insert(t.name).second) fail("duplicate tensor " + quoted(t.name));
    file.tensors_.push_back(t);
  }

  file.data_offset_ = align_up(in.pos(), file.alignment_);
  for (const auto& t : file.tensors_) {
    const std::uint64_t size = file_size;
    if (t.offset >= size || file.data_offset_ >= size - t.offset) {
      fail("tensor " + quoted(t.name) + " lies outside the file: its data starts " +
           std::to_string(t.offset) + " bytes into the data section at byte " +
           std::to_string(file.data_offset_) + ", but the file has " + std::to_string(size) + " bytes");
    }
    const std::uint64_t begin = file.data_offset_ + t.offset;
    if (t.bytes > size - begin) {
      fail("truncated data: tensor " + quoted(t.name) + " needs bytes " + std::to_string(begin) +
           ".." + std::to_string(begin + t.bytes) + " but the file has " + std::to_string(size));
    }
  }
  return file;
}

const Value* File::find(std::string_view key) const noexcept {
  const auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

const TensorInfo* File::tensor(std::string_view name) const noexcept {
  for (const auto& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::vector<std::string_view> File::strings(const Value& array) const {
  std::vector<std::string_view> out;
  if (array.type != ValueType::array || array.elem_type != ValueType::string) return out;
  out.reserve(array.count);
  Cursor in(data_, file_size_);
  in.skip(array.elems_offset);
  for (std::uint64_t n = 0; n < array.count; ++n) out.push_back(in.string("string element"));
  return out;
}

}  // namespace worker::core::gguf
