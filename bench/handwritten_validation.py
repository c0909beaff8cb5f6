"""The worker's hand-written request validation as it was before the HTTP contract was
generated, kept verbatim as the same-process baseline of bench/bench_validation.py (it is not
used by the worker). Original docstring:

Request validation for the worker's HTTP API (M0-W-1300, M0-W-1302, M0-W-1330).

Pure Python with no dependency on the bindings, so it is unit-tested on its own. Every failing
field yields one :class:`FieldError`; a request is rejected with all of them at once.

Sampling controls that the v1 contract's ``cuda_inference_start`` has no parameter for
(``top_p``, ``top_k``, ``repetition_penalty``, ``min_p``) are range-checked and accepted only at
their neutral value: anything else is reported as unsupported instead of being silently ignored.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

JOB_ID_MAX_CHARS = 256
PROMPT_MAX_CHARS = 32768
MAX_TOKENS_MAX = 2048
STOP_MAX_SEQUENCES = 4
STOP_MAX_BYTES = 100
SEED_MAX = 2**64 - 1


@dataclass(frozen=True)
class FieldError:
    """One failing field: its name, the rule it broke and a sentence for humans."""

    field: str
    constraint: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "constraint": self.constraint, "message": self.message}


class RequestInvalid(Exception):
    """A request body broke one or more rules; ``errors`` holds one entry per failing field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class ExecuteRequest:
    """A validated POST /execute body with every default filled in."""

    job_id: str
    prompt: str
    max_tokens: int
    temperature: float
    seed: int
    stop: tuple[str, ...]
    top_p: float
    top_k: int
    repetition_penalty: float
    min_p: float


@dataclass(frozen=True)
class _Number:
    """Rule for one numeric field: type, inclusive range, default, neutral value if unsupported."""

    integer: bool
    minimum: float
    maximum: float | None
    default: float | int
    neutral: float | int | None = None  # set for controls the contract cannot honour

    def check(self, name: str, value: Any, errors: list[FieldError]) -> Any:
        if self.integer:
            if isinstance(value, bool) or not isinstance(value, int):
                errors.append(FieldError(name, "type", f"{name} must be an integer"))
                return None
        else:
            if isinstance(value, bool) or not isinstance(value, int | float):
                errors.append(FieldError(name, "type", f"{name} must be a number"))
                return None
            if not math.isfinite(value):
                errors.append(FieldError(name, "finite", f"{name} must be finite"))
                return None
            value = float(value)
        if value < self.minimum or (self.maximum is not None and value > self.maximum):
            upper = "" if self.maximum is None else f" and at most {_fmt(self.maximum)}"
            errors.append(
                FieldError(
                    name,
                    "range",
                    f"{name} must be at least {_fmt(self.minimum)}{upper}, got {value!r}",
                )
            )
            return None
        if self.neutral is not None and value != self.neutral:
            errors.append(
                FieldError(
                    name,
                    "unsupported",
                    f"{name}={value!r} is not supported by this build: cuda_inference_start "
                    f"(contract v1) has no {name} parameter; omit it or send {self.neutral!r}",
                )
            )
            return None
        return value


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


_NUMBERS: dict[str, _Number] = {
    "max_tokens": _Number(integer=True, minimum=1, maximum=MAX_TOKENS_MAX, default=MAX_TOKENS_MAX),
    "temperature": _Number(integer=False, minimum=0.0, maximum=2.0, default=1.0),
    "seed": _Number(integer=True, minimum=0, maximum=SEED_MAX, default=-1),
    "top_p": _Number(integer=False, minimum=0.0, maximum=1.0, default=1.0, neutral=1.0),
    # M0-W-1300 bounds top_k by the vocabulary; the bindings do not expose it, so only 0 (off).
    "top_k": _Number(integer=True, minimum=0, maximum=None, default=0, neutral=0),
    "repetition_penalty": _Number(
        integer=False, minimum=0.0, maximum=2.0, default=1.0, neutral=1.0
    ),
    "min_p": _Number(integer=False, minimum=0.0, maximum=1.0, default=0.0, neutral=0.0),
}

EXECUTE_FIELDS = frozenset({"job_id", "prompt", "stop", *_NUMBERS})


def _check_job_id(value: Any, errors: list[FieldError]) -> str | None:
    if value is None:
        errors.append(FieldError("job_id", "required", "job_id is required"))
        return None
    if not isinstance(value, str):
        errors.append(FieldError("job_id", "type", "job_id must be a string"))
        return None
    if not value:
        errors.append(FieldError("job_id", "non_empty", "job_id must not be empty"))
        return None
    if len(value) > JOB_ID_MAX_CHARS:
        errors.append(
            FieldError("job_id", "length", f"job_id must be at most {JOB_ID_MAX_CHARS} characters")
        )
        return None
    if any(not ch.isprintable() for ch in value):
        errors.append(
            FieldError("job_id", "printable", "job_id must not contain control characters")
        )
        return None
    return value


def _check_prompt(value: Any, errors: list[FieldError]) -> str | None:
    if value is None:
        errors.append(FieldError("prompt", "required", "prompt is required"))
        return None
    if not isinstance(value, str):
        errors.append(FieldError("prompt", "type", "prompt must be a string"))
        return None
    if not 1 <= len(value) <= PROMPT_MAX_CHARS:
        errors.append(
            FieldError(
                "prompt",
                "length",
                f"prompt must be 1 to {PROMPT_MAX_CHARS} characters, got {len(value)}",
            )
        )
        return None
    if "\x00" in value:
        errors.append(FieldError("prompt", "no_nul", "prompt must not contain NUL characters"))
        return None
    return value


def _check_stop(value: Any, errors: list[FieldError]) -> tuple[str, ...] | None:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        errors.append(FieldError("stop", "type", "stop must be a list of strings"))
        return None
    if len(value) > STOP_MAX_SEQUENCES:
        errors.append(
            FieldError("stop", "length", f"stop takes at most {STOP_MAX_SEQUENCES} sequences")
        )
        return None
    for s in value:
        if not s or len(s.encode("utf-8", "surrogatepass")) > STOP_MAX_BYTES or "\x00" in s:
            errors.append(
                FieldError(
                    "stop",
                    "item",
                    f"each stop sequence must be 1 to {STOP_MAX_BYTES} UTF-8 bytes without NUL",
                )
            )
            return None
    return tuple(value)


def parse_execute(body: Any) -> ExecuteRequest:
    """Validate a decoded JSON body of POST /execute; raise :class:`RequestInvalid`."""
    if not isinstance(body, Mapping):
        raise RequestInvalid([FieldError("body", "type", "the body must be a JSON object")])
    errors: list[FieldError] = []
    for name in sorted(set(body) - EXECUTE_FIELDS):
        errors.append(FieldError(name, "unknown", f"unknown field {name!r}"))
    job_id = _check_job_id(body.get("job_id"), errors)
    prompt = _check_prompt(body.get("prompt"), errors)
    stop = _check_stop(body.get("stop"), errors)
    numbers: dict[str, Any] = {}
    for name, rule in _NUMBERS.items():
        raw = body.get(name)
        numbers[name] = rule.default if raw is None else rule.check(name, raw, errors)
    if errors:
        raise RequestInvalid(errors)
    assert job_id is not None and prompt is not None and stop is not None
    seed = numbers.pop("seed")
    if seed == -1:  # M0-W-1300: generated when absent; reported back in the started event
        seed = secrets.randbits(64)
    return ExecuteRequest(job_id=job_id, prompt=prompt, stop=stop, seed=seed, **numbers)


def parse_cancel(body: Any) -> str:
    """Validate a decoded JSON body of POST /cancel and return its job id."""
    if not isinstance(body, Mapping):
        raise RequestInvalid([FieldError("body", "type", "the body must be a JSON object")])
    errors: list[FieldError] = [
        FieldError(name, "unknown", f"unknown field {name!r}")
        for name in sorted(set(body) - {"job_id"})
    ]
    job_id = _check_job_id(body.get("job_id"), errors)
    if errors:
        raise RequestInvalid(errors)
    assert job_id is not None
    return job_id
