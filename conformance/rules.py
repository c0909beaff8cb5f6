"""Stable rule IDs derived from the spec, each tied to the spec line it checks.

A rule ID is what a failure is known by in reports, CI history and KNOWN_FINDINGS.md, so the
IDs are built only from names in the spec (never from line numbers or test names):

  FN-<function>-errors                 the call's code is in the function's declared set
  FN-<function>-returns                result on error / on success as the spec says
  FN-<function>-<param>-nullable       NULL for a non-nullable pointer gives the declared code
  FN-<function>-<param>-handle         stale and forged handles give the declared code
  FN-<function>-<param>-range          values outside the range give the declared code
  FN-<function>-<param>-allowed        values outside `allowed` give the declared code
  FN-<function>-<param>-string         invalid UTF-8 / too short strings are rejected
  FN-<function>-<param>-len            a too-small buffer is an error, never truncation
  FN-<function>-<param>-written        out-parameters are written as promised
  HDR-*, BIN-*, ERR-*, HANDLE-*, RES-*, THR-*, SEM-*, DIFF-*   see the modules that use them
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from generator.model import Function, Param, Spec
from generator.problems import Location


@dataclass(frozen=True)
class Rule:
    id: str
    location: Location
    says: str  # what the spec promises, in one line

    def __str__(self) -> str:
        return f"{self.id} ({self.location})"


class RuleBook:
    """Every rule the suite can report, keyed by ID, with the spec line of each."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self._rules: dict[str, Rule] = {}
        self._build()

    def __getitem__(self, rule_id: str) -> Rule:
        return self._rules[rule_id]

    def __contains__(self, rule_id: str) -> bool:
        return rule_id in self._rules

    def __iter__(self):
        return iter(self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)

    # ------------------------------------------------------------------ locations
    @cached_property
    def _lines(self) -> list[str]:
        path = Path(self.spec.source)
        if not path.is_absolute():
            path = Path(__file__).resolve().parent.parent / path
        return path.read_text(encoding="utf-8").splitlines()

    def _key_location(self, start: Location, key: str) -> Location:
        """The line of `key:` inside the YAML node that starts at `start` (or `start` itself)."""
        pattern = re.compile(rf"(^|[\s{{,]){re.escape(key)}:")
        indent = start.column - 1
        for i in range(start.line - 1, min(len(self._lines), start.line + 60)):
            line = self._lines[i]
            if i > start.line - 1 and line.strip() and not line.startswith(" " * indent):
                break  # left the node
            m = pattern.search(line)
            if m:
                return Location(start.file, i + 1, m.start() + len(m.group(1)) + 1)
        return start

    # ------------------------------------------------------------------ building
    def _add(self, rule_id: str, location: Location, says: str) -> None:
        self._rules[rule_id] = Rule(rule_id, location, says)

    def _build(self) -> None:
        spec = self.spec
        for fn in spec.functions:
            self._build_function(fn)
        for code in spec.errors.codes:
            self._add(f"ERR-{code.name}-value", code.location, f"{code.name} = {code.value}")
            self._add(f"ERR-{code.name}-message", code.location,
                      f"cuda_error_message({code.value}) is {code.message!r}")
        for h in spec.handles:
            loc = h.location
            self._add(f"HANDLE-{h.name}-lifecycle", loc,
                      f"{h.created_by} creates and {h.destroyed_by} destroys a {h.name}")
            self._add(f"HANDLE-{h.name}-destroy-noop", self._key_location(loc, "destroyed_by"),
                      f"{h.destroyed_by} accepts NULL, stale and forged handles as a no-op")
            self._add(f"HANDLE-{h.name}-use-after-destroy", loc,
                      f"a destroyed {h.name} is rejected with INVALID_PARAMETER")
            if h.parent:
                self._add(f"HANDLE-{h.name}-parent-cascade", self._key_location(loc, "parent"),
                          f"destroying the parent {h.parent} destroys its live {h.name} children")
        errors_loc = spec.errors.codes[0].location
        self._add("HDR-enum", errors_loc, f"enum {spec.errors.enum} has exactly the spec's codes")
        self._add("HDR-typedefs", spec.handles[0].location, "every handle is an opaque struct typedef")
        self._add("HDR-undeclared", spec.functions[0].location,
                  "the header declares no function the spec lacks")
        self._add("BIN-undeclared-export", spec.functions[0].location,
                  f"the library exports no `{spec.interface.c_prefix}*` symbol the spec lacks")
        self._add("BIN-contract-hash", spec.functions[0].location,
                  f"cuda_contract_hash() is the spec's contract hash {spec.contract_hash[:12]}...")
        self._add("BIN-contract-version", spec.functions[0].location,
                  f"cuda_contract_version() is {spec.interface.version}")
        self._add("ERR-unrecognized-message", errors_loc,
                  f"unknown codes give {spec.errors.unrecognized_message!r}")
        self._build_semantics()

    def _build_function(self, fn: Function) -> None:
        loc = fn.location
        declared = ", ".join(fn.errors) or "none"
        self._add(f"FN-{fn.name}-errors", self._key_location(loc, "errors"),
                  f"{fn.name} reports only OK or one of: {declared}")
        self._add(f"FN-{fn.name}-returns", self._key_location(loc, "returns"),
                  f"{fn.name} returns {fn.returns.on_error or 'its declared value'} on error")
        self._add(f"HDR-{fn.name}", loc, f"the header declares `{fn.c_signature}`")
        self._add(f"BIN-{fn.name}-export", loc, f"the library exports `{fn.name}`")
        if fn.thread_safety.cls == "safe":
            self._add(f"THR-{fn.name}-safe", self._key_location(loc, "thread_safety"),
                      f"{fn.name} is safe to call from any thread at once")
        for p in fn.params:
            self._build_param(fn, p)

    def _build_param(self, fn: Function, p: Param) -> None:
        pid = f"FN-{fn.name}-{p.name}"
        loc = p.location
        if p.is_error_out:
            self._add(f"{pid}-nullable", loc, f"{fn.name} tolerates a NULL {p.name}")
            self._add(f"{pid}-written", loc, f"{fn.name} always writes {p.name}")
            return
        if p.is_pointer and not p.nullable:
            self._add(f"{pid}-nullable", loc, f"{fn.name}: {p.name} must not be NULL")
        if p.handle and not fn.destroys:
            self._add(f"{pid}-handle", loc,
                      f"{fn.name}: a stale or forged {p.handle} gives INVALID_PARAMETER")
        if p.range:
            self._add(f"{pid}-range", self._key_location(loc, "range"),
                      f"{fn.name}: {p.name} {p.constraint_text} else {p.on_violation}")
        if p.allowed:
            self._add(f"{pid}-allowed", self._key_location(loc, "allowed"),
                      f"{fn.name}: {p.name} {p.constraint_text}")
        if p.utf8 or p.min_bytes:
            self._add(f"{pid}-string", self._key_location(loc, "string"),
                      f"{fn.name}: {p.name} {p.constraint_text}")
        if p.len:
            self._add(f"{pid}-len", self._key_location(loc, "len"),
                      f"{fn.name}: a piece that does not fit {p.len} bytes is an error, not truncated")
        if p.written:
            self._add(f"{pid}-written", self._key_location(loc, "written"),
                      f"{fn.name}: {p.name} is written {p.written.replace('_', ' ')}")

    def _build_semantics(self) -> None:
        spec = self.spec
        start = spec.function("cuda_inference_start")
        nxt = spec.function("cuda_inference_next_token")
        cancel = spec.function("cuda_inference_cancel")
        params = {p.name: p for p in start.params}
        self._add("SEM-seed-reproducible", params["seed"].location,
                  "the same model, prompt, seed and temperature give the same stream")
        self._add("SEM-temperature-zero-greedy", params["temperature"].location,
                  "temperature 0 is greedy and ignores the seed")
        self._add("SEM-max-tokens-bound", params["max_tokens"].location,
                  "the stream has at most max_tokens pieces")
        self._add("SEM-pieces-utf8", self._key_location(nxt.location, "details"),
                  "every piece is valid UTF-8 and the pieces concatenate to the decoded text")
        self._add("SEM-token-index", next(p for p in nxt.params if p.name == "token_index").location,
                  "token_index counts pieces from 0")
        self._add("SEM-cancel", self._key_location(cancel.location, "details"),
                  "after cancel, next_token returns false with CANCELLED; cancel is idempotent")
        stop = spec.function("cuda_inference_stop_reason")
        self._add("SEM-stop-reason", self._key_location(stop.location, "returns"),
                  "the stop reason is RUNNING before the end, EOS or MAX_TOKENS as the reference "
                  "model says at the end, CANCELLED after cancel")
        self._add("SEM-model-shape", spec.function("cuda_model_get_vocab_size").location,
                  "vocabulary size and context length are the model file's")
        self._add("SEM-vram-usage", spec.function("cuda_model_get_vram_usage").location,
                  "a loaded model reports the same non-zero bytes from load and from the getters")
        self._add("SEM-process-vram", spec.function("cuda_get_process_vram_usage").location,
                  "the context's bytes are those of its models and inferences")
        self._add("SEM-residency-fault", spec.function("cuda_check_vram_residency").location,
                  "EVICT_WEIGHTS makes the residency check report false")
        self._add("SEM-health-fault", spec.function("cuda_check_device_health").location,
                  "DEVICE_LOST makes the health check report false; NONE restores it")
        self._add("SEM-load-bad-model", spec.function("cuda_load_model").location,
                  "a missing or corrupt model file gives MODEL_LOAD_FAILED")
        self._add("SEM-last-error-detail", spec.function("cuda_last_error_detail").location,
                  "the detail is set after a failure and empty after a success")
        self._add("RES-baseline", spec.function("cuda_testing_tracked_bytes").location,
                  "tracked bytes and live handles return to baseline when all handles are gone")
        fail = spec.function("cuda_testing_fail_allocation")
        self._add("RES-fail-allocation", self._key_location(fail.location, "details"),
                  "a failed allocation gives VRAM_OOM, a NULL out-handle and no leak")
        internal = spec.function("cuda_testing_fail_call")
        self._add("RES-internal-failure", self._key_location(internal.location, "details"),
                  "an internal failure gives UNKNOWN with a detail, the error result and no leak")
        self._add("THR-cancel-races-next-token", self._key_location(cancel.location, "thread_safety"),
                  "cancel may run concurrently with next_token on the same handle")
        self._add("THR-independent-contexts", self._key_location(
            spec.function("cuda_init").location, "thread_safety"),
            "handles of different contexts are used from different threads at once")
        self._add("DIFF-codes", start.location, "two implementations give the same codes")
        self._add("DIFF-stream", start.location, "two implementations give the same token stream")
