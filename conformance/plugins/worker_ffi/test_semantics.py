"""Semantics from the requirements: seeded streams against the float32 reference oracle, greedy
decoding, max_tokens, UTF-8 pieces, small buffers, cancel, usage getters, injected faults and
broken model files. These are the rules the spec states in prose (details, notes, model_format)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, note
from hypothesis import strategies as st

from conformance import contract
from conformance.plugins.worker_ffi import models as tiny
from conformance.plugins.worker_ffi.semantics import start, stream

pytestmark = [pytest.mark.isolated, pytest.mark.gpu]


@pytest.fixture
def models(plugin):
    return plugin.models

_EMB, _OUT, _TOKENS, _EOS = tiny.tiny_weights()
# The stop reasons, as the spec numbers them.
_STOP = {v.name: v.value for v in contract.load().function("cuda_inference_stop_reason").returns.values}
STOP_RUNNING, STOP_EOS, STOP_MAX_TOKENS, STOP_CANCELLED = (
    _STOP["RUNNING"], _STOP["EOS"], _STOP["MAX_TOKENS"], _STOP["CANCELLED"])
PROMPTS = sorted(tiny.GREEDY_CASES)
PROMPT_BYTES = b"Hello"


prompts = st.one_of(st.sampled_from(PROMPTS),
                    st.text(min_size=1, max_size=12).filter(lambda s: "\0" not in s))
temperatures = st.one_of(st.just(0.0), st.sampled_from([0.5, 1.0, 2.0]),
                         st.floats(0.0, 2.0, width=32))


@given(prompt=prompts, max_tokens=st.integers(1, 48), temperature=temperatures,
       seed=st.integers(0, 2**64 - 1))
@example(prompt="Hello", max_tokens=48, temperature=0.0, seed=0)
@example(prompt="Long", max_tokens=4, temperature=0.0, seed=0)
@example(prompt="Hi", max_tokens=48, temperature=1.0, seed=7)
def test_stream_matches_reference_oracle(world, caller, rules, prompt, max_tokens, temperature, seed):
    caller.begin_example()
    note(f"oracle: reference_generate(prompt={prompt!r}, max_tokens={max_tokens}, "
         f"temperature={temperature!r}, seed={seed})")
    generated, want = tiny.reference_generate(_EMB, _OUT, _TOKENS, _EOS, prompt, max_tokens,
                                              temperature, seed)
    result = start(caller, world.live("CudaModel"), prompt.encode(), max_tokens, temperature, seed)
    before = caller.call("cuda_inference_stop_reason", result=result).ret
    pieces, end = stream(caller, result)
    reason = caller.call("cuda_inference_stop_reason", result=result).ret
    expected = STOP_MAX_TOKENS if len(generated) == max_tokens else STOP_EOS
    if before != STOP_RUNNING or reason != expected:
        raise caller.violation("SEM-stop-reason", f"stop reason went {before} -> {reason}; the reference "
                               f"model says {STOP_RUNNING} -> {expected} ({len(generated)} of {max_tokens} tokens)")
    indices = [i for i, _ in pieces]
    if end.code != 0:
        raise caller.violation("SEM-pieces-utf8", f"the stream ended with {caller.code_key(end.code)}")
    if indices != list(range(len(pieces))):
        raise caller.violation("SEM-token-index", f"token_index went {indices}")
    text = "".join(p.decode("utf-8") for _, p in pieces)
    if text != want and text.startswith(want):
        raise caller.violation("SEM-max-tokens-bound", f"stream {text!r} runs past the reference "
                               f"{want!r} of at most {max_tokens} tokens")
    if text != want:
        rule = "SEM-temperature-zero-greedy" if temperature == 0 else "SEM-seed-reproducible"
        raise caller.violation(rule, f"stream {text!r} differs from the reference {want!r}")
    # Ended streams stay ended (false with OK), never restart.
    o = caller.call("cuda_inference_next_token", result=result)
    if o.ret or o.code != 0:
        raise caller.violation("FN-cuda_inference_next_token-returns",
                               f"after the end next_token gave {o.ret} / {caller.code_key(o.code)}")
    caller.call("cuda_inference_free", result=result)


@given(prompt=prompts, seeds=st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1)),
       temperature=temperatures)
def test_same_seed_same_stream_and_greedy_ignores_seed(world, caller, rules, prompt, seeds, temperature):
    caller.begin_example()
    runs = []
    for seed in (seeds[0], seeds[0], seeds[1]):
        r = start(caller, world.live("CudaModel"), prompt.encode(), 16, temperature, seed)
        runs.append([p for _, p in stream(caller, r)[0]])
        caller.call("cuda_inference_free", result=r)
    if runs[0] != runs[1]:
        raise caller.violation("SEM-seed-reproducible", f"seed {seeds[0]} gave {runs[0]} then {runs[1]}")
    if temperature == 0 and runs[0] != runs[2]:
        raise caller.violation("SEM-temperature-zero-greedy",
                               f"temperature 0 gave {runs[0]} with seed {seeds[0]} but {runs[2]} "
                               f"with seed {seeds[1]}")


@given(prompt=st.sampled_from(PROMPTS), size=st.integers(1, 12))
@example(prompt="Long", size=1)
@example(prompt="Hello", size=2)
def test_small_buffer_is_an_error_never_truncation(world, caller, rules, prompt, size):
    caller.begin_example()
    caller.trace.rule("FN-cuda_inference_next_token-token_out-len")
    r = start(caller, world.live("CudaModel"), prompt.encode(), 32, 0.0, 0)
    want = [p for _, p in stream(caller, r)[0]]
    caller.call("cuda_inference_free", result=r)
    r = start(caller, world.live("CudaModel"), prompt.encode(), 32, 0.0, 0)
    got = stream(caller, r, size=size, grow=True)[0]
    if [p for _, p in got] != want:
        raise caller.violation("FN-cuda_inference_next_token-token_out-len",
                               f"with a {size}-byte buffer the pieces were {[p for _, p in got]}, "
                               f"with 256 bytes {want}")
    if [i for i, _ in got] != list(range(len(got))):
        raise caller.violation("SEM-token-index", "a refused piece advanced token_index")
    caller.call("cuda_inference_free", result=r)


@given(taken=st.integers(0, 5), prompt=st.sampled_from(PROMPTS))
def test_cancel_ends_the_stream_with_cancelled_idempotently(world, caller, rules, taken, prompt):
    caller.begin_example()
    r = start(caller, world.live("CudaModel"), prompt.encode(), 2048, 1.0, 3)
    for _ in range(taken):
        caller.call("cuda_inference_next_token", result=r)
    # A cancel stops a running generation; one that already ended keeps its reason.
    before = caller.call("cuda_inference_stop_reason", result=r).ret
    expected = STOP_CANCELLED if before == STOP_RUNNING else before
    for attempt in range(2):
        caller.call("cuda_inference_cancel", result=r)
        o = caller.call("cuda_inference_next_token", result=r)
        if o.ret or caller.code_key(o.code) != "CANCELLED":
            raise caller.violation("SEM-cancel", f"after cancel #{attempt + 1} next_token gave "
                                   f"{o.ret} / {caller.code_key(o.code)}, expected false / CANCELLED")
        reason = caller.call("cuda_inference_stop_reason", result=r).ret
        if reason != expected:
            raise caller.violation("SEM-stop-reason", f"after cancel the stop reason is {reason}, "
                                   f"expected {expected} (it was {before} before the cancel)")
    caller.call("cuda_inference_free", result=r)


def test_usage_getters_report_real_sizes(world, caller, rules, models):
    ctx = world.live("CudaContext")
    before = caller.call("cuda_get_process_vram_usage", ctx=ctx).ret
    o = caller.call("cuda_load_model", ctx=ctx, model_path=bytes(models["tiny"]))
    model, loaded = o.ret, o.outs["vram_bytes_used"]
    expected_weights = 2 * _EMB.size * 4
    for getter in ("cuda_model_get_vram_usage", "cuda_get_vram_usage"):
        got = caller.call(getter, model=model).ret
        if got != loaded or loaded < expected_weights:
            raise caller.violation("SEM-vram-usage", f"load reported {loaded} bytes, {getter} "
                                   f"{got}; the weights alone are {expected_weights} bytes")
    after = caller.call("cuda_get_process_vram_usage", ctx=ctx).ret
    if after - before != loaded:
        raise caller.violation("SEM-process-vram", f"loading {loaded} bytes moved the context's "
                               f"usage from {before} to {after}")
    vocab = caller.call("cuda_model_get_vocab_size", model=model).ret
    context = caller.call("cuda_model_get_context_length", model=model).ret
    if (vocab, context) != (len(_TOKENS), tiny.CONTEXT_LENGTH):
        raise caller.violation("SEM-model-shape", f"the model reports vocabulary {vocab} and context "
                               f"{context}; its file says {len(_TOKENS)} and {tiny.CONTEXT_LENGTH}")
    r = start(caller, model, b"Hello", 64, 0.0, 0)
    running = caller.call("cuda_get_process_vram_usage", ctx=ctx).ret
    if running <= after:
        raise caller.violation("SEM-process-vram", "an inference allocated no device bytes "
                               f"({after} -> {running})")
    caller.call("cuda_inference_free", result=r)
    caller.call("cuda_unload_model", model=model)
    final = caller.call("cuda_get_process_vram_usage", ctx=ctx).ret
    if final != before:
        raise caller.violation("SEM-process-vram", f"after unload the context owns {final} bytes, "
                               f"before the load {before}")


def test_residency_and_health_reflect_injected_faults(world, caller, rules):
    def expect(fn: str, handle_kw: dict, want: bool, rule: str, when: str) -> None:
        o = caller.call(fn, **handle_kw)
        if o.ret is not want or o.code != 0:
            raise caller.violation(rule, f"{when}: {fn} gave {o.ret} / {caller.code_key(o.code)}, "
                                   f"expected {want} / OK")
        if not want and not o.detail:
            raise caller.violation(rule, f"{when}: {fn} said false without a detail message")

    residency, health = {"model": world.live("CudaModel")}, {"ctx": world.live("CudaContext")}
    expect("cuda_check_vram_residency", residency, True, "SEM-residency-fault", "fresh model")
    expect("cuda_check_device_health", health, True, "SEM-health-fault", "fresh context")
    caller.call("cuda_testing_inject_fault", ctx=world.live("CudaContext"), fault=2)
    expect("cuda_check_vram_residency", residency, False, "SEM-residency-fault", "EVICT_WEIGHTS")
    # Loading under the fault: the residency check inside the load may refuse it (declared code).
    caller.call("cuda_load_model", ctx=world.live("CudaContext"), model_path=bytes(world.plugin.models["tiny"]))
    caller.call("cuda_testing_inject_fault", ctx=world.live("CudaContext"), fault=0)
    expect("cuda_check_vram_residency", residency, True, "SEM-residency-fault", "after NONE")
    caller.call("cuda_testing_inject_fault", ctx=world.live("CudaContext"), fault=1)
    expect("cuda_check_device_health", health, False, "SEM-health-fault", "DEVICE_LOST")
    o = caller.call("cuda_inference_next_token", result=world.live("InferenceResult"))
    if o.ret or o.code == 0:
        raise caller.violation("SEM-health-fault", "a lost device still produced a token")
    caller.call("cuda_inference_start", model=world.live("CudaModel"), prompt=PROMPT_BYTES, max_tokens=4,
                temperature=0.0, seed=0)  # any outcome, but only a declared code
    caller.call("cuda_testing_inject_fault", ctx=world.live("CudaContext"), fault=0)
    expect("cuda_check_device_health", health, True, "SEM-health-fault", "after NONE")


BROKEN = [*tiny.INVALID_VARIANTS, "empty", "missing"]


@pytest.mark.parametrize("variant", BROKEN)
def test_broken_model_files_are_refused_without_leaks(world, caller, rules, models, variant):
    bytes_before = caller.call("cuda_testing_tracked_bytes").ret
    live_before = caller.call("cuda_testing_live_handles").ret
    o = caller.call("cuda_load_model", ctx=world.live("CudaContext"), model_path=bytes(models[variant]))
    if caller.code_key(o.code) != "MODEL_LOAD_FAILED":
        raise caller.violation("SEM-load-bad-model", f"{variant}.gguf gave "
                               f"{caller.code_key(o.code)}, expected MODEL_LOAD_FAILED")
    after = (caller.call("cuda_testing_tracked_bytes").ret,
             caller.call("cuda_testing_live_handles").ret)
    if after != (bytes_before, live_before):
        raise caller.violation("RES-baseline", f"refusing {variant}.gguf left (bytes, handles) "
                               f"at {after}, before {(bytes_before, live_before)}")


def test_overflowing_weights_fail_inference_not_load(world, caller, rules, models):
    o = caller.call("cuda_load_model", ctx=world.live("CudaContext"), model_path=bytes(models["overflow"]))
    r = start(caller, o.ret, b"Hello", 4, 0.0, 0)
    o = caller.call("cuda_inference_next_token", result=r)
    if o.ret or caller.code_key(o.code) != "INFERENCE_FAILED":
        raise caller.violation("FN-cuda_inference_next_token-errors",
                               f"non-finite logits gave {o.ret} / {caller.code_key(o.code)}, "
                               "expected false / INFERENCE_FAILED")
