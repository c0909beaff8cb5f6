"""The lock baseline (`coordination/ffi.lock.json`): its format, its integrity seal, and what it
says about the current spec (LOCKED, or a draft and why).

The baseline holds the normalised locked contract (`normalise.canonical`), the documentation
context the lock document renders (`lock_context`), the source line of every function,
parameter, error code and handle, and lock metadata. Two seals make hand edits visible:
`integrity.baseline_sha256` covers everything but the `integrity` block, and
`integrity.document_sha256` is the sha256 of the lock document written with it; the document
in turn prints the baseline seal.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.model import Spec
from generator.normalise import canonical, canonical_json, hashed_contract

BASELINE = "coordination/ffi.lock.json"
DOCUMENT = "coordination/FFI_INTERFACE_LOCKED.md"
TIMELINE = "coordination/master-timeline.md"
FORMAT = "ffispec-lock/1"
_BODY_KEYS = ("format", "lock", "contract", "context", "locations")
_LOCK_KEYS = ("version", "date", "spec", "spec_sha256", "contract_hash", "view_sha256",
              "header", "header_sha256", "generator", "previous", "changes")
RESTORE_HINT = (f"restore it with `git checkout -- {BASELINE}`, or run `ffispec lock` to write "
                "a new lock")


class BaselineError(Exception):
    """The baseline cannot be trusted; the message names the file, the place and the fix."""


@dataclass(frozen=True)
class LockState:
    locked: bool
    reason: str
    date: str | None = None
    changes: tuple[str, ...] = field(default_factory=tuple)
    baseline: dict[str, Any] | None = None
    version: str | None = None
    seal: str | None = None
    previous: dict[str, Any] | None = None


# ----------------------------------------------------------------------- the lock view

def lock_context(spec: Spec) -> dict[str, Any]:
    """Everything the lock document renders that `canonical()` leaves out (documentation,
    consumers, model format, change log), so a lock covers every word of the document."""
    i = spec.interface
    fn_extra: dict[str, Any] = {}
    for fn in spec.functions:
        extra: dict[str, Any] = {}
        if fn.deprecated is not None:
            extra["deprecation_reason"] = fn.deprecated.reason
        docs = {p.name: [a.doc for a in p.allowed] for p in fn.params if p.allowed}
        if docs:
            extra["allowed_docs"] = docs
        if fn.returns.values:
            extra["value_docs"] = {v.name: v.doc for v in fn.returns.values}
        capacities = {p.name: p.capacity for p in fn.params if p.capacity}
        if capacities:
            extra["capacities"] = capacities
        if extra:
            fn_extra[fn.name] = extra
    return {
        "interface": {
            "title": i.title,
            "header": {"guard": i.header.guard, "api_macro": i.header.api_macro,
                       "includes": list(i.header.includes)},
            "consumers": [{"team": c.team, "contact": c.contact, "uses": c.uses}
                          for c in i.consumers],
            "principles": list(i.principles),
        },
        "groups": [{"name": g.name, "title": g.title, "doc": g.doc} for g in spec.groups],
        "errors": {"doc": spec.errors.doc,
                   "python_bases": {c.name: list(c.python_bases) for c in spec.errors.codes
                                    if c.python_bases}},
        "functions": fn_extra,
        "model_format": thaw(spec.model_format),
        "exceptions": [{"id": e.id, "applies_to": list(e.applies_to), "rule": e.rule,
                        "reason": e.reason} for e in spec.exceptions],
        "changelog": [{"version": c.version, "date": c.date, "changes": list(c.changes)}
                      for c in spec.changelog],
        **({"type_docs": {t.name: {"values": {v.name: v.doc for v in t.values},
                                   "fields": {f.name: f.doc for f in t.fields},
                                   "constants": {k.name: k.doc for k in t.constants}}
                          for t in spec.types}} if spec.types else {}),
    }


def thaw(value: Any) -> Any:
    """Undo normalise._freeze: tuples of (str, value) pairs become dicts, tuples lists."""
    if isinstance(value, tuple):
        if value and all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str)
                         for v in value):
            return {k: thaw(v) for k, v in value}
        return [thaw(v) for v in value]
    return value


def view_of(spec: Spec) -> dict[str, Any]:
    return {"contract": canonical(spec), "context": lock_context(spec)}


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


# ------------------------------------------------------------------- reading and sealing

def seal(baseline: dict[str, Any]) -> str:
    """sha256 of everything in the baseline except its `integrity` block."""
    return digest({k: baseline.get(k) for k in _BODY_KEYS})


def read_baseline(path: Path, name: str = BASELINE) -> dict[str, Any] | None:
    """The parsed, verified baseline; None if the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{name}: cannot read the lock baseline: {exc}") from None
    return parse_baseline(text, name)


def parse_baseline(text: str, name: str = BASELINE) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{name}:{exc.lineno}:{exc.colno}: corrupt lock baseline: not "
                            f"valid JSON ({exc.msg}); {RESTORE_HINT}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BaselineError(f"{name}:1: not an ffispec lock baseline (expected \"format\": "
                            f"\"{FORMAT}\"); {RESTORE_HINT}")
    for key in (*_BODY_KEYS, "integrity"):
        if not isinstance(data.get(key), dict) and key != "format":
            raise BaselineError(f"{name}:{_line_of(text, key)}: corrupt lock baseline: "
                                f"`{key}` is missing or not an object; {RESTORE_HINT}")
    missing = [k for k in _LOCK_KEYS if k not in data["lock"]]
    if missing:
        raise BaselineError(f"{name}:{_line_of(text, 'lock')}: corrupt lock baseline: `lock` "
                            f"lacks {', '.join(missing)}; {RESTORE_HINT}")
    recorded = data["integrity"].get("baseline_sha256")
    actual = seal(data)
    if recorded != actual:
        raise BaselineError(
            f"{name}:{_line_of(text, 'baseline_sha256')}: the lock baseline was edited by hand "
            f"or corrupted: its content hashes to {actual[:16]}, but its seal says "
            f"{str(recorded)[:16]}; {RESTORE_HINT}")
    hash_now = digest(hashed_contract(data["contract"]))
    if hash_now != data["lock"]["contract_hash"]:
        raise BaselineError(
            f"{name}:{_line_of(text, 'contract_hash')}: the locked contract hashes to "
            f"{hash_now[:16]}, not the recorded contract hash "
            f"{str(data['lock']['contract_hash'])[:16]}: the baseline was edited and re-sealed "
            f"by hand; {RESTORE_HINT}")
    return dict(data)


def _line_of(text: str, key: str) -> int:
    idx = text.find(f'"{key}"')
    return 1 if idx < 0 else text.count("\n", 0, idx) + 1


def dump_baseline(body: dict[str, Any], document_sha256: str) -> str:
    data = {k: body[k] for k in _BODY_KEYS}
    data["integrity"] = {"baseline_sha256": seal(body), "document_sha256": document_sha256}
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


# ----------------------------------------------------------------- state for rendering

def lock_state(spec: Spec, root: Path) -> LockState:
    """LOCKED when the committed baseline was written from exactly this contract and text."""
    try:
        baseline = read_baseline(root / BASELINE)
    except BaselineError as exc:
        return LockState(False, f"{BASELINE} is corrupt ({_short(exc)}); run "
                                "`ffispec verify-lock`")
    if baseline is None:
        return LockState(False, "no lock baseline yet; run `ffispec lock`")
    return state_from_baseline(spec, baseline)


def state_from_baseline(spec: Spec, baseline: dict[str, Any]) -> LockState:
    lock = baseline["lock"]
    same = (lock["contract_hash"] == spec.contract_hash
            and lock["view_sha256"] == digest(view_of(spec)))
    if not same:
        return LockState(False, f"the spec differs from lock {lock['version']}; run "
                                "`ffispec diff`, then `ffispec lock`", baseline=baseline,
                         version=lock["version"])
    return LockState(True, "", lock["date"], tuple(lock.get("changes") or ()), baseline,
                     lock["version"], baseline["integrity"]["baseline_sha256"],
                     lock.get("previous"))


def _short(exc: BaselineError) -> str:
    text = str(exc).split("; restore", 1)[0]
    return text.split(": ", 1)[1] if ": " in text else text
