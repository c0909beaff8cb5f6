"""POST /execute and /cancel body validation (M0-W-1300, M0-W-1302), without a server.

The limits are read from the generated contract (worker/openapi.json), never typed here, so
these tests follow the spec; `constraint` is the JSON Schema keyword the field broke."""

from __future__ import annotations

import pytest

from worker.contract import Contract
from worker.validation import RequestInvalid, parse_cancel, parse_execute

_EXECUTE = Contract.load().request("execute").properties
MAX_TOKENS_MAX = _EXECUTE["max_tokens"]["maximum"]
PROMPT_MAX_CHARS = _EXECUTE["prompt"]["maxLength"]
SEED_MAX = _EXECUTE["seed"]["maximum"]


def failing(body: object, parse=parse_execute) -> dict[str, str]:
    with pytest.raises(RequestInvalid) as info:
        parse(body)
    fields = [e.field for e in info.value.errors]
    assert len(fields) == len(set(fields)), "one entry per failing field"
    return {e.field: e.constraint for e in info.value.errors}


def test_defaults_follow_the_requirement() -> None:
    req = parse_execute({"job_id": "j", "prompt": "hi"})
    assert (req.max_tokens, req.temperature, req.top_p, req.top_k) == (MAX_TOKENS_MAX, 1.0, 1.0, 0)
    assert (req.repetition_penalty, req.min_p, req.stop) == (1.0, 0.0, ())
    assert 0 <= req.seed <= SEED_MAX


def test_absent_seed_is_generated_and_explicit_seed_kept() -> None:
    seeds = {parse_execute({"job_id": "j", "prompt": "hi"}).seed for _ in range(8)}
    assert len(seeds) > 1
    assert parse_execute({"job_id": "j", "prompt": "p", "seed": SEED_MAX}).seed == SEED_MAX
    assert parse_execute({"job_id": "j", "prompt": "p", "seed": 0}).seed == 0


def test_bounds_are_inclusive() -> None:
    req = parse_execute({"job_id": "j", "prompt": "x" * PROMPT_MAX_CHARS, "max_tokens": 1,
                         "temperature": 2, "stop": ["a", "b", "c", "d" * 100]})
    assert (req.max_tokens, req.temperature, len(req.stop)) == (1, 2.0, 4)
    assert parse_execute({"job_id": "j", "prompt": "p", "max_tokens": 2048,
                          "temperature": 0}).temperature == 0.0


def test_every_failing_field_is_reported_at_once() -> None:
    got = failing({"prompt": "", "max_tokens": 0, "temperature": 2.5, "seed": -1,
                   "stop": ["ok"] * 5, "colour": "red"})
    assert got == {"job_id": "required", "prompt": "minLength", "max_tokens": "minimum",
                   "temperature": "maximum", "seed": "minimum", "stop": "maxItems",
                   "colour": "additionalProperties"}


@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [
        ("job_id", "", "minLength"),
        ("job_id", 7, "type"),
        ("job_id", "x" * 257, "maxLength"),
        ("job_id", "a\nb", "pattern"),
        ("job_id", "a\x85b", "pattern"),  # a C1 control
        ("prompt", "x" * (PROMPT_MAX_CHARS + 1), "maxLength"),
        ("prompt", "a\x00b", "pattern"),
        ("prompt", "a\ud800b", "x-ffispec-utf8"),  # a lone surrogate cannot reach C as UTF-8
        ("prompt", ["a"], "type"),
        ("max_tokens", MAX_TOKENS_MAX + 1, "maximum"),
        ("max_tokens", 5.5, "type"),
        ("max_tokens", True, "type"),
        ("max_tokens", "5", "type"),
        ("max_tokens", None, "type"),
        ("temperature", -0.1, "minimum"),
        ("temperature", "hot", "type"),
        ("seed", SEED_MAX + 1, "maximum"),
        ("seed", 1.5, "type"),
        ("top_p", 1.5, "maximum"),
        ("top_p", 0.9, "enum"),
        ("top_k", -1, "minimum"),
        ("top_k", 40, "enum"),
        ("repetition_penalty", 2.1, "maximum"),
        ("repetition_penalty", 1.1, "enum"),
        ("min_p", 0.05, "enum"),
        ("stop", "x", "type"),
        ("stop", [""], "minLength"),
        ("stop", ["y" * 101], "maxLength"),
        ("stop", [1], "type"),
    ],
)
def test_one_bad_field(field: str, value: object, constraint: str) -> None:
    body = {"job_id": "j", "prompt": "p", field: value}
    assert failing(body) == {field: constraint}


def test_neutral_values_of_unsupported_controls_are_accepted() -> None:
    req = parse_execute({"job_id": "j", "prompt": "p", "top_p": 1, "top_k": 0,
                         "repetition_penalty": 1.0, "min_p": 0})
    assert (req.top_p, req.top_k, req.repetition_penalty, req.min_p) == (1.0, 0, 1.0, 0.0)


def test_integral_floats_are_integers_as_json_schema_says() -> None:
    req = parse_execute({"job_id": "j", "prompt": "p", "max_tokens": 5.0, "seed": 7.0})
    assert (req.max_tokens, req.seed) == (5, 7)
    assert isinstance(req.max_tokens, int) and isinstance(req.seed, int)


def test_messages_never_echo_a_huge_value() -> None:
    with pytest.raises(RequestInvalid) as info:
        parse_execute({"job_id": "j", "prompt": "x" * (PROMPT_MAX_CHARS + 1)})
    assert len(info.value.errors[0].message) < 200


@pytest.mark.parametrize("body", [[], "x", 3, None])
def test_body_must_be_an_object(body: object) -> None:
    assert failing(body) == {"body": "type"}
    assert failing(body, parse_cancel) == {"body": "type"}


def test_cancel_body() -> None:
    assert parse_cancel({"job_id": "abc"}) == "abc"
    assert failing({}, parse_cancel) == {"job_id": "required"}
    assert failing({"job_id": ""}, parse_cancel) == {"job_id": "minLength"}
    assert failing({"job_id": "a", "x": 1}, parse_cancel) == {"x": "additionalProperties"}
