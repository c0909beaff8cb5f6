"""Request validation for the worker's HTTP API (M0-W-1300, M0-W-1302, M0-W-1330), from the
generated contract (:mod:`worker.contract`): no rule, range or default is typed here.

Every failing field yields one :class:`FieldError`; a request is rejected with all of them at
once. Sampling controls that ``cuda_inference_start`` has no parameter for (``top_p``,
``top_k``, ``repetition_penalty``, ``min_p``) are accepted only at their off value, because the
contract says so (``enum`` of one value), not because this module does.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .contract import Contract, FieldError, RequestInvalid

__all__ = ["ExecuteRequest", "FieldError", "RequestInvalid", "Validator", "parse_cancel",
           "parse_execute"]


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


class Validator:
    """The request rules of one contract document."""

    def __init__(self, contract: Contract) -> None:
        self._execute = contract.request("execute")
        self._cancel = contract.request("cancel")
        seed = self._execute.properties["seed"]
        self._seed_low, self._seed_span = seed["minimum"], seed["maximum"] - seed["minimum"] + 1

    def parse_execute(self, body: Any) -> ExecuteRequest:
        """Validate a decoded JSON body of POST /execute; raise :class:`RequestInvalid`."""
        v = self._execute.validate(body)
        seed = v.get("seed")
        if seed is None:  # M0-W-1300: generated when absent; reported back in the started event
            seed = self._seed_low + secrets.randbelow(self._seed_span)
        # JSON Schema's integers include 2.0; the bindings take Python ints and floats.
        return ExecuteRequest(
            job_id=v["job_id"], prompt=v["prompt"], max_tokens=int(v["max_tokens"]),
            temperature=float(v["temperature"]), seed=int(seed), stop=tuple(v["stop"]),
            top_p=float(v["top_p"]), top_k=int(v["top_k"]),
            repetition_penalty=float(v["repetition_penalty"]), min_p=float(v["min_p"]),
        )

    def parse_cancel(self, body: Any) -> str:
        """Validate a decoded JSON body of POST /cancel and return its job id."""
        return str(self._cancel.validate(body)["job_id"])


@lru_cache(maxsize=1)
def default_validator() -> Validator:
    """The rules of the document shipped with the package (``worker/openapi.json``)."""
    return Validator(Contract.load())


def parse_execute(body: Any) -> ExecuteRequest:
    return default_validator().parse_execute(body)


def parse_cancel(body: Any) -> str:
    return default_validator().parse_cancel(body)
