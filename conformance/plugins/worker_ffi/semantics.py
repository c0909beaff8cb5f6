"""The worker's semantic rules (SEM-*, and the THR-/DIFF- rules of its own tests), each tied to
the spec line it checks, and the helpers its tests share."""

from __future__ import annotations

from conformance.calls import Buf, Caller, HandleRef


def add_rules(book) -> None:
    spec = book.spec
    fn = spec.function
    start, nxt, cancel = fn("cuda_inference_start"), fn("cuda_inference_next_token"), fn("cuda_inference_cancel")
    params = {p.name: p for p in start.params}
    add, key = book.add, book.key_location
    add("SEM-seed-reproducible", params["seed"].location,
        "the same model, prompt, seed and temperature give the same stream")
    add("SEM-temperature-zero-greedy", params["temperature"].location,
        "temperature 0 is greedy and ignores the seed")
    add("SEM-max-tokens-bound", params["max_tokens"].location, "the stream has at most max_tokens pieces")
    add("SEM-pieces-utf8", key(nxt.location, "details"),
        "every piece is valid UTF-8 and the pieces concatenate to the decoded text")
    add("SEM-token-index", next(p for p in nxt.params if p.name == "token_index").location,
        "token_index counts pieces from 0")
    add("SEM-cancel", key(cancel.location, "details"),
        "after cancel, next_token returns false with CANCELLED; cancel is idempotent")
    add("SEM-stop-reason", key(fn("cuda_inference_stop_reason").location, "returns"),
        "the stop reason is RUNNING before the end, EOS or MAX_TOKENS as the reference model says "
        "at the end, CANCELLED after cancel")
    add("SEM-model-shape", fn("cuda_model_get_vocab_size").location,
        "vocabulary size and context length are the model file's")
    add("SEM-vram-usage", fn("cuda_model_get_vram_usage").location,
        "a loaded model reports the same non-zero bytes from load and from the getters")
    add("SEM-process-vram", fn("cuda_get_process_vram_usage").location,
        "the context's bytes are those of its models and inferences")
    add("SEM-residency-fault", fn("cuda_check_vram_residency").location,
        "EVICT_WEIGHTS makes the residency check report false")
    add("SEM-health-fault", fn("cuda_check_device_health").location,
        "DEVICE_LOST makes the health check report false; NONE restores it")
    add("SEM-load-bad-model", fn("cuda_load_model").location,
        "a missing or corrupt model file gives MODEL_LOAD_FAILED")
    add("THR-cancel-races-next-token", key(cancel.location, "thread_safety"),
        "cancel may run concurrently with next_token on the same handle")
    add("THR-independent-contexts", key(fn("cuda_init").location, "thread_safety"),
        "handles of different contexts are used from different threads at once")
    add("DIFF-stream", start.location, "two implementations give the same token stream")


def start(caller: Caller, model: HandleRef, prompt: bytes, max_tokens: int, temperature: float,
          seed: int) -> HandleRef:
    o = caller.call("cuda_inference_start", model=model, prompt=prompt, max_tokens=max_tokens,
                    temperature=temperature, seed=seed)
    if o.ret is None:
        raise caller.violation("FN-cuda_inference_start-returns",
                               f"valid start failed: {caller.code_key(o.code)} {o.detail}")
    return o.ret


def stream(caller: Caller, result: HandleRef, size: int = 256, grow: bool = False):
    """All pieces of an inference; with `grow`, a too-small buffer is retried bigger."""
    pieces, o = [], None
    while True:
        o = caller.call("cuda_inference_next_token", result=result, token_out=Buf(size))
        if o.code == caller.keys["INVALID_PARAMETER"] and grow:
            if "needs" not in o.detail:
                raise caller.violation("FN-cuda_inference_next_token-token_out-len",
                                       f"a {size}-byte buffer was refused without saying the size "
                                       f"needed: {o.detail!r}")
            size *= 2
            continue
        if not o.ret:
            return pieces, o
        pieces.append((o.outs["token_index"], Caller.piece(o)))
        if len(pieces) > 4 * 2048:  # more pieces than any max_tokens allows: it never ends
            raise caller.violation("SEM-max-tokens-bound", f"the stream did not end after "
                                   f"{len(pieces)} pieces (last {pieces[-1][1]!r})")
