// The contract's functions over the core objects. The generated exports have already checked
// every static argument rule and resolved every handle; what remains here are the dynamic
// checks (device ordinal against the device count, buffer sizes) and the work itself.
#include "generated/ffi_impl.hpp"

#include <string>

#include "backend/backend.hpp"
#include "core/boundary.hpp"
#include "core/error.hpp"
#include "core/memory.hpp"
#include "core/objects.hpp"

namespace worker::impl {

CudaContext* cuda_init(int gpu_device) {
  std::string why;
  const int count = backend::instance().device_count(why);
  if (count == 0) throw core::Error(CUDA_ERROR_DEVICE_NOT_FOUND, why.empty() ? "no devices" : why);
  if (gpu_device >= count) {
    const std::string allowed = "0.." + std::to_string(count - 1) + " (" + std::to_string(count) +
                                (count == 1 ? " device)" : " devices)");
    core::out_of_range(CUDA_ERROR_INVALID_DEVICE, "gpu_device", std::to_string(gpu_device), allowed.c_str());
  }
  core::Context& context = core::Context::create(gpu_device);
  const std::string note = context.device().open_note();
  if (!note.empty()) boundary::explain("cuda_init", note);
  return context.handle();
}

void cuda_destroy(core::Context& ctx) { ctx.destroy(); }

int cuda_get_device_count() {
  std::string why;
  return backend::instance().device_count(why);
}

CudaModel* cuda_load_model(core::Context& ctx, const char* model_path, uint64_t* vram_bytes_used) {
  core::Model& model = ctx.load_model(model_path);
  *vram_bytes_used = model.weight_bytes();
  return model.handle();
}

void cuda_unload_model(core::Model& model) { model.context().unload(model); }

uint64_t cuda_model_get_vram_usage(core::Model& model) { return model.weight_bytes(); }

uint32_t cuda_model_get_vocab_size(core::Model& model) { return model.shape().n_vocab; }

uint32_t cuda_model_get_context_length(core::Model& model) { return model.shape().context_length; }

InferenceResult* cuda_inference_start(core::Model& model, const char* prompt, int max_tokens, float temperature,
                                      uint64_t seed) {
  return model.start(prompt, max_tokens, temperature, seed).handle();
}

bool cuda_inference_next_token(core::Inference& result, char* token_out, int token_buffer_size, int* token_index) {
  return result.next_piece(token_out, token_buffer_size, token_index);
}

void cuda_inference_cancel(core::Inference& result) { result.cancel(); }

int cuda_inference_stop_reason(core::Inference& result) { return result.stop_reason(); }

void cuda_inference_free(core::Inference& result) { result.model().release(result); }

bool cuda_check_vram_residency(core::Model& model) {
  const std::string problem = model.residency_problem();
  if (problem.empty()) return true;
  boundary::explain("cuda_check_vram_residency", problem);
  return false;
}

uint64_t cuda_get_process_vram_usage(core::Context& ctx) { return ctx.ledger().bytes(); }

bool cuda_check_device_health(core::Context& ctx) {
  std::string why;
  if (ctx.device().healthy(why)) return true;
  boundary::explain("cuda_check_device_health", why);
  return false;
}

void cuda_testing_fail_allocation(int nth) { core::allocation_faults::arm(nth); }

void cuda_testing_fail_call(int nth) { boundary::call_faults::arm(nth); }

void cuda_testing_inject_fault(core::Context& ctx, int fault) { ctx.inject_fault(fault); }

uint64_t cuda_testing_tracked_bytes() { return core::tracked_bytes(); }

uint64_t cuda_testing_live_handles() { return core::live_handles(); }

}  // namespace worker::impl
