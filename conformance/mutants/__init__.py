"""Deliberately broken variants of the host library: proof that the suite catches drift.

Each mutant is one realistic drift, written as exact text edits of native/ (the generated
exports, the core or the header). `python -m conformance.mutants` copies native/ to a temporary
directory, applies each mutant in turn, builds it incrementally with CMake and runs the suite
against it; a mutant is caught when the suite fails. Every mutant must be caught.
"""

from __future__ import annotations

from dataclasses import dataclass

EXPORTS = "src/generated/ffi_exports.cpp"
IMPL = "src/impl/ffi_impl.cpp"
OBJECTS = "src/core/objects.cpp"
HEADER = "include/worker_ffi.h"


@dataclass(frozen=True)
class Edit:
    path: str  # relative to native/
    old: str   # must occur exactly once
    new: str


@dataclass(frozen=True)
class Mutant:
    name: str
    drift: str
    edits: tuple[Edit, ...]


def _m(name: str, drift: str, *edits: tuple[str, str, str]) -> Mutant:
    return Mutant(name, drift, tuple(Edit(*e) for e in edits))


MUTANTS: tuple[Mutant, ...] = (
    _m("undeclared-code", "check_vram_residency reports VRAM_RESIDENCY_FAILED, a code it does not declare",
       (IMPL, '  boundary::explain("cuda_check_vram_residency", problem);\n  return false;',
        "  throw core::Error(CUDA_ERROR_VRAM_RESIDENCY_FAILED, problem);")),
    _m("wrong-code-null-prompt", "a NULL prompt gives INFERENCE_FAILED (declared, but not the rule's code)",
       (EXPORTS, 'if (prompt == nullptr) ::worker::core::invalid_argument("prompt", "must not be NULL");',
        'if (prompt == nullptr) throw ::worker::core::Error(CUDA_ERROR_INFERENCE_FAILED, "prompt is NULL");')),
    _m("null-unchecked", "token_out is not checked for NULL (the copy writes through it)",
       (EXPORTS, 'if (token_out == nullptr) ::worker::core::invalid_argument("token_out", "must not be NULL");', "")),
    _m("range-check-removed", "max_tokens is not range-checked",
       (EXPORTS, "if (!(max_tokens >= 1 && max_tokens <= 2048)) ", "if (false) ")),
    _m("range-off-by-one", "max_tokens = 2048, inside the range, is refused",
       (EXPORTS, "max_tokens <= 2048", "max_tokens < 2048")),
    _m("nan-accepted", "temperature is range-checked without the finiteness rule: NaN passes",
       (EXPORTS, "if (!(std::isfinite(temperature) && temperature >= 0.0f && temperature <= 2.0f))",
        "if (temperature < 0.0f || temperature > 2.0f)")),
    _m("silent-truncation", "a piece that does not fit the buffer is truncated instead of refused",
       (OBJECTS, "  const std::size_t length = utf8::boundary_prefix(pending_, kMaxPiece);",
        "  const std::size_t length = std::min(utf8::boundary_prefix(pending_, kMaxPiece),\n"
        "                                      static_cast<std::size_t>(capacity) - 1);")),
    _m("constant-getter", "cuda_model_get_vram_usage returns a constant",
       (IMPL, "uint64_t cuda_model_get_vram_usage(core::Model& model) { return model.weight_bytes(); }",
        "uint64_t cuda_model_get_vram_usage(core::Model& model) { (void)model; return 4096; }")),
    _m("leak-on-error-path", "a load that fails while uploading weights leaks the half-built model",
       ("src/core/loader.cpp", "  } catch (const Error& e) {\n    throw Error(e.code(),",
        "  } catch (const Error& e) {\n    (void)model.release();\n    throw Error(e.code(),")),
    _m("missing-export", "cuda_get_vram_usage is no longer exported",
       (EXPORTS, 'extern "C" WORKER_FFI_API uint64_t cuda_get_vram_usage(CudaModel* model) {',
        "[[maybe_unused]] static uint64_t cuda_get_vram_usage_unused(CudaModel* model) {")),
    _m("extra-export", "an undeclared cuda_malloc_device is exported (the D9 defect)",
       (EXPORTS, 'extern "C" WORKER_FFI_API uint64_t cuda_testing_live_handles(void) {',
        'extern "C" WORKER_FFI_API void* cuda_malloc_device(size_t bytes) { return ::operator new(bytes); }\n\n'
        'extern "C" WORKER_FFI_API uint64_t cuda_testing_live_handles(void) {')),
    _m("enum-renumbered", "CUDA_ERROR_CANCELLED renumbered from 9 to 10",
       (HEADER, "CUDA_ERROR_CANCELLED = 9,", "CUDA_ERROR_CANCELLED = 10,")),
    _m("header-signature-changed", "token_buffer_size becomes size_t in the header and the export",
       (HEADER, "char* token_out, int token_buffer_size, int* token_index, int* error_code);",
        "char* token_out, size_t token_buffer_size, int* token_index, int* error_code);"),
       (EXPORTS, "char* token_out, int token_buffer_size, int* token_index, int* error_code) {",
        "char* token_out, size_t token_buffer_size, int* token_index, int* error_code) {")),
    _m("thread-unsafe-safe-function", "the error detail is one global string, not per thread",
       ("src/core/boundary.cpp", "thread_local std::string text;", "static std::string text;")),
    _m("cancel-ignored", "cuda_inference_cancel does nothing",
       ("src/core/objects.hpp", "void cancel() noexcept { cancelled_.store(true, std::memory_order_release); }",
        "void cancel() noexcept {}")),
    _m("stale-handle-accepted", "destroying a handle leaves its registry slot live",
       ("src/core/registry.cpp", "state & ~kLive, std::memory_order_acq_rel", "state, std::memory_order_acq_rel"),
       ("src/core/registry.cpp", "  s->object.store(nullptr, std::memory_order_relaxed);\n  live_.fetch_sub",
        "  live_.fetch_sub")),
    _m("wrong-type-handle-accepted", "handle lookup ignores the kind tag (type confusion)",
       ("src/core/registry.hpp", "if ((value & 0xFF) != static_cast<std::uint8_t>(kind_) || (value >> 32) == 0)",
        "if ((value >> 32) == 0)")),
    _m("destroy-null-crash", "cuda_unload_model(NULL) is no longer a no-op",
       (EXPORTS, "auto* model_obj = ::worker::core::resolve_or_null<CudaModel>(model);\n"
        "        if (model_obj == nullptr) return;  // NULL, stale or already destroyed: no-op\n",
        "auto* model_obj = reinterpret_cast<::worker::core::object_t<CudaModel>*>(model);\n")),
    _m("null-error-code-crash", "error_code is written without a NULL check",
       ("src/core/boundary.hpp", "if (error_code != nullptr) *error_code = code;", "*error_code = code;")),
    _m("no-parent-cascade", "destroying a context abandons its models instead of destroying them",
       (OBJECTS, "  doomed.clear();  // each model waits",
        "  for (auto& m : doomed) (void)m.release();  // each model waits")),
    _m("fault-injection-ignored", "cuda_testing_fail_allocation never fails anything",
       ("src/core/memory.cpp", "if (left == 1) {", "if (left == -1) {")),
    _m("health-ignores-fault", "cuda_check_device_health always reports healthy",
       (IMPL, "if (ctx.device().healthy(why)) return true;", "(void)ctx.device().healthy(why);\n  return true;")),
    _m("wrong-error-message", "the message of INVALID_PARAMETER drifts from the table",
       (EXPORTS, 'case 5: return "Invalid function parameter";', 'case 5: return "Invalid parameter";')),
    _m("contract-hash-mismatch", "the library reports another contract hash",
       (EXPORTS, "return WORKER_FFI_CONTRACT_HASH;", 'return "' + "0" * 64 + '";')),
    _m("seed-ignored", "sampling ignores the seed",
       (OBJECTS, "math::random_unit(seed_, steps_)", "math::random_unit(0, steps_)")),
    _m("utf8-split", "pieces are cut at 255 bytes even inside a character",
       (OBJECTS, "const std::size_t length = utf8::boundary_prefix(pending_, kMaxPiece);",
        "const std::size_t length = std::min(pending_.size(), kMaxPiece);")),
    _m("token-index-off-by-one", "token_index counts from 1",
       (OBJECTS, "if (index != nullptr) *index = pieces_;", "if (index != nullptr) *index = pieces_ + 1;")),
    _m("max-tokens-overrun", "one token more than max_tokens is generated",
       (OBJECTS, "std::min<std::size_t>(static_cast<std::size_t>(max_tokens), room)",
        "std::min<std::size_t>(static_cast<std::size_t>(max_tokens) + 1, room)")),
    _m("detail-not-cleared", "a success leaves the previous failure's detail in place",
       ("src/core/boundary.hpp", "R call(const char* fn, int* error_code, R on_error, F&& body) noexcept {\n"
        "  const core::pins::Scope pinned;\n  detail::message().clear();\n",
        "R call(const char* fn, int* error_code, R on_error, F&& body) noexcept {\n"
        "  const core::pins::Scope pinned;\n")),
    _m("tracked-bytes-leak", "freed device buffers are never subtracted from the tracked bytes",
       ("src/core/memory.cpp", "  g_tracked_bytes.fetch_sub(bytes_, std::memory_order_relaxed);\n", "")),
    _m("stop-reason-guessed", "every ended stream reports MAX_TOKENS, EOS included (the old worker's guess)",
       (OBJECTS,
        "if (ended_) return ended_by_eos_ ? CUDA_INFERENCE_STOP_REASON_EOS : CUDA_INFERENCE_STOP_REASON_MAX_TOKENS;",
        "if (ended_) return CUDA_INFERENCE_STOP_REASON_MAX_TOKENS;")),
    _m("internal-failure-misreported", "an unexpected internal exception is reported as INFERENCE_FAILED",
       ("src/core/boundary.hpp",
        "  } catch (const std::exception& e) {\n    record(fn, e.what());\n    return CUDA_ERROR_UNKNOWN;",
        "  } catch (const std::exception& e) {\n    record(fn, e.what());\n    return CUDA_ERROR_INFERENCE_FAILED;")),
    _m("vocab-size-constant", "cuda_model_get_vocab_size returns a constant",
       (IMPL, "return model.shape().n_vocab;", "return 256;")),
)


# The test that caught each mutant in the last full run. The runner tries it alone first and,
# when it fails, the mutant is caught without the minutes of suite before it; when it passes
# (the code moved, the suite changed), the whole suite runs as before. So the verdict is the
# suite's either way: a hint only saves time. tests/test_mutant_catalogue.py checks every hint
# names a mutant and a test the suite collects.
FIRST_TRY: dict[str, str] = {
    "undeclared-code":
        "conformance/test_plugin.py::test_semantics__residency_and_health_reflect_injected_faults",
    "wrong-code-null-prompt":
        "conformance/test_negative.py::test_negative_input[cuda_inference_start-prompt-null]",
    "null-unchecked":
        "conformance/test_negative.py::test_negative_input[cuda_inference_next_token-token_out-null]",
    "range-check-removed":
        "conformance/test_negative.py::test_negative_input[cuda_inference_start-max_tokens-below-min]",
    "range-off-by-one":
        "conformance/test_plugin.py::test_semantics__cancel_ends_the_stream_with_cancelled_idempotently",
    "nan-accepted":
        "conformance/test_negative.py::test_negative_input[cuda_inference_start-temperature-nan]",
    "silent-truncation":
        "conformance/test_plugin.py::test_semantics__small_buffer_is_an_error_never_truncation",
    "constant-getter":
        "conformance/test_plugin.py::test_semantics__usage_getters_report_real_sizes",
    "leak-on-error-path":
        "conformance/test_resources.py::test_nth_allocation_failure_is_declared_and_leak_free",
    "missing-export":
        "conformance/test_static.py::test_binary_exports_exactly_the_spec_functions",
    "extra-export":
        "conformance/test_static.py::test_binary_exports_exactly_the_spec_functions",
    "enum-renumbered":
        "conformance/test_static.py::test_header_enum_and_handle_types_match_the_spec",
    "header-signature-changed":
        "conformance/test_static.py::test_header_declares_every_function_as_specified",
    "thread-unsafe-safe-function":
        "conformance/test_threads.py::test_error_detail_is_per_thread",
    "cancel-ignored":
        "conformance/test_plugin.py::test_semantics__cancel_ends_the_stream_with_cancelled_idempotently",
    "stale-handle-accepted":
        "conformance/test_plugin.py::test_concurrency__independent_contexts_in_parallel",
    "wrong-type-handle-accepted":
        "conformance/test_negative.py::test_negative_input[cuda_destroy-ctx-wrong-type-CudaModel]",
    "destroy-null-crash":
        "conformance/test_plugin.py::test_semantics__stream_matches_reference_oracle",
    "null-error-code-crash":
        "conformance/test_plugin.py::test_semantics__usage_getters_report_real_sizes",
    "no-parent-cascade":
        "conformance/test_plugin.py::test_concurrency__independent_contexts_in_parallel",
    "fault-injection-ignored":
        "conformance/test_resources.py::test_nth_allocation_failure_is_declared_and_leak_free",
    "health-ignores-fault":
        "conformance/test_plugin.py::test_semantics__residency_and_health_reflect_injected_faults",
    "wrong-error-message":
        "conformance/test_static.py::test_error_messages_are_the_pinned_ones",
    "contract-hash-mismatch":
        "conformance/test_static.py::test_binary_reports_the_spec_contract",
    "seed-ignored":
        "conformance/test_plugin.py::test_semantics__stream_matches_reference_oracle",
    "utf8-split":
        "conformance/test_plugin.py::test_semantics__stream_matches_reference_oracle",
    "token-index-off-by-one":
        "conformance/test_plugin.py::test_semantics__stream_matches_reference_oracle",
    "max-tokens-overrun":
        "conformance/test_plugin.py::test_semantics__stream_matches_reference_oracle",
    "detail-not-cleared":
        "conformance/test_plugin.py::test_semantics__small_buffer_is_an_error_never_truncation",
    "tracked-bytes-leak":
        "conformance/test_resources.py::test_nth_allocation_failure_is_declared_and_leak_free",
    "stop-reason-guessed":
        "conformance/test_plugin.py::test_semantics__stream_matches_reference_oracle",
    "internal-failure-misreported":
        "conformance/test_negative.py::test_internal_failure_is_declared_and_leaves_nothing[cuda_init]",
    "vocab-size-constant":
        "conformance/test_plugin.py::test_semantics__usage_getters_report_real_sizes",
}
