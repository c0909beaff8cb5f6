#include "core/objects.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/error.hpp"
#include "core/handles.hpp"
#include "core/math.hpp"

namespace worker::core {

Registry context_registry{HandleKind::context};
Registry model_registry{HandleKind::model};
Registry inference_registry{HandleKind::inference};

std::uint64_t live_handles() noexcept {
  return context_registry.live() + model_registry.live() + inference_registry.live();
}

// ------------------------------------------------------------------------- Registration

bool pin_ancestors(Context&) noexcept { return true; }

bool pin_ancestors(Model& model) noexcept {
  Lookup status;
  return context_registry.acquire(reinterpret_cast<std::uintptr_t>(model.context().handle()), status) != nullptr;
}

bool pin_ancestors(Inference& inference) noexcept {
  Lookup status;
  Model& model = inference.model();
  return model_registry.acquire(reinterpret_cast<std::uintptr_t>(model.handle()), status) != nullptr &&
         pin_ancestors(model);
}

bool Registration::retire() noexcept { return registry_ != nullptr && registry_->retire(value_); }

void Registration::attach(Registry& registry, void* object) {
  value_ = registry.insert(object);
  registry_ = &registry;
}

// ------------------------------------------------------------------------------ Context

Context::Context(std::unique_ptr<backend::Device> device) : device_(std::move(device)) {}

Context::~Context() {
  (void)registration_.retire();  // no new calls on the context; those in flight have returned
  std::vector<std::unique_ptr<Model>> doomed;
  {
    std::lock_guard<std::mutex> lock(models_mutex_);
    doomed.swap(models_);
  }
  doomed.clear();  // each model waits for the calls on it and on its inferences
}

Context& Context::create(int ordinal) {
  // Creating a context reserves device resources on a real GPU, so it is an allocation event
  // for the fault countdown (it charges no bytes: an empty context owns nothing).
  allocation_faults::count("the context on device " + std::to_string(ordinal));
  std::unique_ptr<Context> context(new Context(backend::instance().open(ordinal)));
  context->registration_.attach(context_registry, context.get());
  return *context.release();
}

CudaContext* Context::handle() const noexcept { return to_handle<CudaContext>(registration_.value()); }

void Context::destroy() noexcept {
  // Of two threads destroying the same context, one retires it and deletes it; the other
  // returns at once.
  if (registration_.retire()) delete this;
}

void Context::unload(Model& model) noexcept {
  std::unique_ptr<Model> doomed;  // destroyed after the lock is released
  {
    std::lock_guard<std::mutex> lock(models_mutex_);
    const auto it = std::find_if(models_.begin(), models_.end(), [&](const auto& m) { return m.get() == &model; });
    if (it == models_.end()) return;
    doomed = std::move(*it);
    models_.erase(it);
  }
}

void Context::inject_fault(int fault) {
  std::lock_guard<std::mutex> lock(models_mutex_);
  switch (fault) {
    case CUDA_FAULT_NONE:
      device_->set_lost(false);
      evicting_ = false;
      for (auto& model : models_) model->restore_weights();
      break;
    case CUDA_FAULT_DEVICE_LOST:
      device_->set_lost(true);
      break;
    case CUDA_FAULT_EVICT_WEIGHTS:
      evicting_ = true;
      for (auto& model : models_) model->evict_one_weight();
      break;
    default:
      invalid_argument("fault", "unknown fault " + std::to_string(fault));
  }
}

// -------------------------------------------------------------------------------- Model

Model::Model(Context& context, Shape shape) : context_(context), shape_(shape) {}

Model::~Model() {
  (void)registration_.retire();
  std::vector<std::unique_ptr<Inference>> doomed;
  {
    std::lock_guard<std::mutex> lock(inferences_mutex_);
    doomed.swap(inferences_);
  }
  doomed.clear();
}

CudaModel* Model::handle() const noexcept { return to_handle<CudaModel>(registration_.value()); }

void Model::register_handle() { registration_.attach(model_registry, this); }

void Model::upload_weights(int fd, std::uint64_t embedding_offset, std::uint64_t output_offset) {
  const std::size_t bytes = std::size_t{shape_.d} * shape_.n_vocab * sizeof(float);
  embedding_ = std::make_unique<DeviceBuffer>(context_.device(), context_.ledger(), bytes, "tensor 'token_embd.weight'");
  output_ = std::make_unique<DeviceBuffer>(context_.device(), context_.ledger(), bytes, "tensor 'output.weight'");
  context_.device().upload_file(embedding_->data(), fd, embedding_offset, bytes);
  context_.device().upload_file(output_->data(), fd, output_offset, bytes);
  weight_bytes_ = embedding_->bytes() + output_->bytes();
}

std::string Model::residency_problem() const {
  std::shared_lock lock(weights_mutex_);
  for (const DeviceBuffer* weight : {embedding_.get(), output_.get()}) {
    if (!weight->resident()) {
      return weight->label() + " (" + std::to_string(weight->bytes()) + " bytes) is not in device memory";
    }
  }
  return {};
}

void Model::evict_one_weight() {
  std::unique_lock lock(weights_mutex_);
  output_->evict();
}

void Model::restore_weights() {
  std::unique_lock lock(weights_mutex_);
  embedding_->restore();
  output_->restore();
}

void Model::logits(const float* x, float* out) const {
  std::shared_lock lock(weights_mutex_);
  context_.device().logits(output_->floats(), x, shape_.d, shape_.n_vocab, out);
}

std::int64_t Model::next_token(const float* x, float temperature, float u, float* scratch_device,
                               float* scratch_host) const {
  std::shared_lock lock(weights_mutex_);
  return context_.device().next_token(output_->floats(), x, shape_.d, shape_.n_vocab, temperature, u, scratch_device,
                                      scratch_host);
}

void Model::embed(float* dst, std::int32_t token) const {
  std::shared_lock lock(weights_mutex_);
  context_.device().gather_row(dst, embedding_->floats(), static_cast<std::uint32_t>(token), shape_.d);
}

Inference& Model::start(const std::string& prompt, int max_tokens, float temperature, std::uint64_t seed) {
  // A prompt of `context_length` tokens or more leaves no room to generate. Each token covers
  // at most max_token_bytes() bytes, so a long enough prompt is refused before any work, and
  // tokenisation stops as soon as it reaches the limit.
  const std::size_t limit = shape_.context_length;
  if (vocab_->min_tokens(prompt.size()) >= limit) {
    invalid_argument("prompt", "its " + std::to_string(prompt.size()) + " bytes need at least " +
                                   std::to_string(vocab_->min_tokens(prompt.size())) +
                                   " tokens, which fill the model's context length of " + std::to_string(limit));
  }
  std::vector<std::int32_t> tokens = vocab_->tokenize(prompt, limit);
  if (tokens.size() >= limit) {
    invalid_argument("prompt", "at least " + std::to_string(tokens.size()) + " tokens fill the model's context length of " +
                                   std::to_string(limit));
  }
  auto inference = std::make_unique<Inference>(*this, std::move(tokens), max_tokens, temperature, seed);
  inference->register_handle();
  std::lock_guard<std::mutex> lock(inferences_mutex_);
  inferences_.push_back(std::move(inference));
  return *inferences_.back();
}

void Model::release(Inference& inference) noexcept {
  std::unique_ptr<Inference> doomed;
  {
    std::lock_guard<std::mutex> lock(inferences_mutex_);
    const auto it = std::find_if(inferences_.begin(), inferences_.end(), [&](const auto& i) { return i.get() == &inference; });
    if (it == inferences_.end()) return;
    doomed = std::move(*it);
    inferences_.erase(it);
  }
}

// ---------------------------------------------------------------------------- Inference

namespace {
std::uint32_t generation_budget(const Model& model, std::size_t prompt_tokens, int max_tokens) {
  const std::size_t room = model.shape().context_length - prompt_tokens;  // > 0, checked by start()
  return static_cast<std::uint32_t>(std::min<std::size_t>(static_cast<std::size_t>(max_tokens), room));
}
}  // namespace

Inference::Inference(Model& model, std::vector<std::int32_t> prompt, int max_tokens, float temperature, std::uint64_t seed)
    : model_(model),
      prompt_(std::move(prompt)),
      budget_(generation_budget(model, prompt_.size(), max_tokens)),
      state_rows_(static_cast<std::uint32_t>(max_tokens)),
      temperature_(temperature),
      seed_(seed),
      state_(model.context().device(), model.context().ledger(),
             (static_cast<std::size_t>(max_tokens) * model.shape().d +
              model.context().device().step_scratch_floats(model.shape().n_vocab)) *
                 sizeof(float),
             "the inference state"),
      logits_(model.shape().n_vocab) {
  model_.embed(state_row(0), prompt_.back());  // the first step reads the last prompt token
}

Inference::~Inference() { (void)registration_.retire(); }

InferenceResult* Inference::handle() const noexcept { return to_handle<InferenceResult>(registration_.value()); }

void Inference::register_handle() { registration_.attach(inference_registry, this); }

float* Inference::state_row(std::uint32_t row) const noexcept {
  return state_.floats() + static_cast<std::size_t>(row) * model_.shape().d;
}

float* Inference::logits_scratch() const noexcept {
  return state_.floats() + static_cast<std::size_t>(state_rows_) * model_.shape().d;
}

void Inference::step() {
  // Nothing is committed until every device call of the step succeeded, so a failed step
  // (device lost, non-finite logits) can be retried and yields the same token.
  const std::int64_t picked = model_.next_token(state_row(steps_), temperature_, math::random_unit(seed_, steps_),
                                                logits_scratch(), logits_.data());
  if (picked < 0) {
    throw Error(CUDA_ERROR_INFERENCE_FAILED, "logit of token " + std::to_string(-1 - picked) + " is not finite at step " +
                                                 std::to_string(steps_) + " (weights overflow float32)");
  }
  const int token = static_cast<int>(picked);
  const bool last = token == model_.vocab().eos() || steps_ + 1 == budget_;
  if (!last) model_.embed(state_row(steps_ + 1), token);
  ++steps_;
  if (token != model_.vocab().eos()) decoder_.feed(model_.vocab().piece(token), pending_);
  if (last) {
    decoder_.finish(pending_);
    ended_ = true;
    ended_by_eos_ = token == model_.vocab().eos();
  }
}

int Inference::stop_reason() const noexcept {
  // Why generation stopped: a cancel that arrives after the last token was generated does not
  // rewrite that (the caller may already have seen the end of the stream).
  if (ended_) return ended_by_eos_ ? CUDA_INFERENCE_STOP_REASON_EOS : CUDA_INFERENCE_STOP_REASON_MAX_TOKENS;
  if (cancelled_.load(std::memory_order_acquire)) return CUDA_INFERENCE_STOP_REASON_CANCELLED;
  return CUDA_INFERENCE_STOP_REASON_RUNNING;
}

bool Inference::next_piece(char* out, int capacity, int* index) {
  constexpr std::size_t kMaxPiece = 255;  // the contract promises 256 bytes always suffice
  if (cancelled_.load(std::memory_order_acquire)) {
    throw Error(CUDA_ERROR_CANCELLED, "the inference was cancelled");
  }
  while (pending_.empty()) {
    if (ended_) return false;
    step();
    if (cancelled_.load(std::memory_order_acquire)) {
      throw Error(CUDA_ERROR_CANCELLED, "the inference was cancelled");
    }
  }
  const std::size_t length = utf8::boundary_prefix(pending_, kMaxPiece);
  if (length + 1 > static_cast<std::size_t>(capacity)) {
    invalid_argument("token_out", "piece needs " + std::to_string(length + 1) + " bytes, buffer has " +
                                      std::to_string(capacity));
  }
  std::memcpy(out, pending_.data(), length);
  out[length] = '\0';
  pending_.erase(0, length);
  if (index != nullptr) *index = pieces_;
  ++pieces_;
  return true;
}

}  // namespace worker::core
