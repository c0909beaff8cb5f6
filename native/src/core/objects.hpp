// The objects behind the three handle types, and their ownership tree:
// Context owns Models, a Model owns its Inferences. Destroying a parent destroys its live
// children first (members are declared so that children go before what they use), and every
// destructor unregisters its handle, so later uses of a child's handle report it stale.
//
// Thread safety: calls on *different* handles may run concurrently, so anything a child
// changes in its parent (the child lists, the ledger) is synchronised here. A destroyer may
// also run while other threads call into the handle or its descendants: each destructor
// first retires its handle (Registration::retire waits for the calls in flight), and child
// lists are emptied under their mutex before the children are destroyed outside it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "core/memory.hpp"
#include "core/registry.hpp"
#include "core/utf8.hpp"
#include "core/vocab.hpp"
#include "worker_ffi.h"

namespace worker::core {

class Model;
class Inference;

// Registers `object` in `registry` for the lifetime of the Registration. Destructors call
// retire() first: from then on the handle is stale, and calls that already resolved it
// (other threads) have returned, so the object can be taken apart.
class Registration {
 public:
  Registration() = default;
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;
  ~Registration() { (void)retire(); }
  void attach(Registry& registry, void* object);
  // True when this call made the handle stale (false: it already was, or never registered).
  bool retire() noexcept;
  std::uint64_t value() const noexcept { return value_; }

 private:
  Registry* registry_ = nullptr;
  std::uint64_t value_ = 0;
};

class Context {
 public:
  // Opens device `ordinal` and registers the context. Throws core::Error.
  static Context& create(int ordinal);
  ~Context();

  CudaContext* handle() const noexcept;
  backend::Device& device() noexcept { return *device_; }
  Ledger& ledger() noexcept { return ledger_; }

  Model& load_model(const std::string& path);
  void unload(Model& model) noexcept;
  void destroy() noexcept;  // `delete this` (the registry holds the only reference)

  void inject_fault(int fault);

 private:
  explicit Context(std::unique_ptr<backend::Device> device);

  std::unique_ptr<backend::Device> device_;
  Ledger ledger_;
  bool evicting_ = false;  // EVICT_WEIGHTS is in force (also for models loaded later)
  std::mutex models_mutex_;
  std::vector<std::unique_ptr<Model>> models_;  // after device_: freed while it is open
  Registration registration_;
};

// The weights and tokenizer of a loaded worker-tiny model.
class Model {
 public:
  struct Shape {
    std::uint32_t d;              // embedding width
    std::uint32_t n_vocab;
    std::uint32_t context_length;
  };

  // The tokenizer comes later (adopt_vocab), so it can be built while the weights upload.
  Model(Context& context, Shape shape);
  ~Model();

  CudaModel* handle() const noexcept;
  Context& context() noexcept { return context_; }
  const Shape& shape() const noexcept { return shape_; }
  const Vocab& vocab() const noexcept { return *vocab_; }  // set before the handle exists
  std::uint64_t weight_bytes() const noexcept { return weight_bytes_; }

  // Allocates both weight tensors (token_embd.weight, output.weight) and reads them from the
  // open model file `fd` at the given offsets (Device::upload_file).
  void upload_weights(int fd, std::uint64_t embedding_offset, std::uint64_t output_offset);
  // Installs the tokenizer; called once, before register_handle() publishes the model.
  void adopt_vocab(Vocab vocab) { vocab_.emplace(std::move(vocab)); }
  void register_handle();

  // First non-resident weight's description, or "" when all are resident.
  std::string residency_problem() const;
  void evict_one_weight();
  void restore_weights();

  // Computes logits of the token embedded at `x` (a row of device state) into `out`.
  void logits(const float* x, float* out) const;
  // The next token after the one embedded at `x` (Device::next_token: the token, or -1 - v
  // when logit v is not finite), with n_vocab floats of device and host scratch.
  std::int64_t next_token(const float* x, float temperature, float u, float* scratch_device, float* scratch_host) const;
  void embed(float* dst, std::int32_t token) const;

  Inference& start(const std::string& prompt, int max_tokens, float temperature, std::uint64_t seed);
  void release(Inference& inference) noexcept;

 private:
  Context& context_;
  Shape shape_;
  std::optional<Vocab> vocab_;
  std::uint64_t weight_bytes_ = 0;
  // Readers (kernels, residency) hold it shared; eviction, which moves weights, exclusively.
  mutable std::shared_mutex weights_mutex_;
  std::unique_ptr<DeviceBuffer> embedding_;
  std::unique_ptr<DeviceBuffer> output_;
  std::mutex inferences_mutex_;
  std::vector<std::unique_ptr<Inference>> inferences_;  // destroyed before the weights
  Registration registration_;
};

// One generation: per-step state in device memory, the sampler, and the UTF-8 stream.
class Inference {
 public:
  Inference(Model& model, std::vector<std::int32_t> prompt, int max_tokens, float temperature, std::uint64_t seed);
  ~Inference();

  InferenceResult* handle() const noexcept;
  Model& model() noexcept { return model_; }
  void register_handle();

  // The next piece into out[0..capacity) (NUL-terminated); false at the end of the sequence.
  bool next_piece(char* out, int capacity, int* index);
  void cancel() noexcept { cancelled_.store(true, std::memory_order_release); }
  // Why generation stopped (a CUDA_INFERENCE_STOP_REASON_* value of the header).
  int stop_reason() const noexcept;

 private:
  void step();  // generates one token into pending_ (or ends the sequence)
  float* state_row(std::uint32_t row) const noexcept;
  float* logits_scratch() const noexcept;

  Model& model_;
  const std::vector<std::int32_t> prompt_;
  const std::uint32_t budget_;  // tokens that may be generated (max_tokens, context length)
  const std::uint32_t state_rows_;  // rows of state_ (max_tokens); the logits scratch follows
  const float temperature_;
  const std::uint64_t seed_;
  DeviceBuffer state_;          // row s: embedding of the token fed at step s; then the
                                // device's logits scratch (Device::step_scratch_floats)
  std::vector<float> logits_;   // host scratch
  std::uint32_t steps_ = 0;
  bool ended_ = false;          // EOS or budget reached; the decoder is flushed
  bool ended_by_eos_ = false;   // ... and which of the two
  utf8::Decoder decoder_;
  std::string pending_;         // decoded, valid UTF-8 not yet handed out
  int pieces_ = 0;
  std::atomic<bool> cancelled_{false};
  Registration registration_;
};

std::uint64_t live_handles() noexcept;

}  // namespace worker::core
