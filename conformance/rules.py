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
  HDR-*, BIN-*, ERR-*, HANDLE-*, RES-*, THR-*, OWN-*, DIFF-*   see the modules that use them
  SEM-*                                a plug-in's semantic rules
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
        from conformance import contract

        if spec is contract.load():
            contract.plugin().rules(self)

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
        from conformance import contract

        path = Path(self.spec.source)
        if not path.is_absolute():
            path = contract.root() / path
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
        role = {f.role: f for f in spec.functions if f.role}
        for fn in spec.functions:
            self._build_function(fn)
        for code in spec.errors.codes:
            self._add(f"ERR-{code.name}-value", code.location, f"{code.name} = {code.value}")
            if "error_message" in role:
                self._add(f"ERR-{code.name}-message", code.location,
                          f"{role['error_message'].name}({code.value}) is {code.message!r}")
        for h in spec.handles:
            loc = h.location
            self._add(f"HANDLE-{h.name}-lifecycle", loc,
                      f"{h.created_by} creates and {h.destroyed_by} destroys a {h.name}")
            self._add(f"HANDLE-{h.name}-destroy-noop", self._key_location(loc, "destroyed_by"),
                      f"{h.destroyed_by} accepts NULL, stale and forged handles as a no-op")
            self._add(f"HANDLE-{h.name}-use-after-destroy", loc,
                      f"a destroyed {h.name} is rejected, never used")
            if h.parent:
                self._add(f"HANDLE-{h.name}-parent-cascade", self._key_location(loc, "parent"),
                          f"destroying the parent {h.parent} destroys its live {h.name} children")
        first = spec.functions[0].location
        errors_loc = spec.errors.codes[0].location if spec.errors.codes else first
        self._add("HDR-enum", errors_loc, f"enum {spec.errors.enum} has exactly the spec's codes")
        self._add("HDR-typedefs", spec.handles[0].location if spec.handles else first,
                  "every handle is an opaque struct typedef")
        self._add("HDR-undeclared", first, "the header declares no function the spec lacks")
        self._add("BIN-undeclared-export", first,
                  f"the library exports no `{spec.interface.c_prefix}*` symbol the spec lacks")
        if "contract_hash" in role:
            self._add("BIN-contract-hash", role["contract_hash"].location,
                      f"{role['contract_hash'].name}() is the spec's contract hash "
                      f"{spec.contract_hash[:12]}...")
        if "contract_version" in role:
            self._add("BIN-contract-version", role["contract_version"].location,
                      f"{role['contract_version'].name}() is {spec.interface.version}")
        if "error_message" in role:
            self._add("ERR-unrecognized-message", errors_loc,
                      f"unknown codes give {spec.errors.unrecognized_message!r}")
        detail = role.get("last_error_detail")
        self._add("SEM-last-error-detail", detail.location if detail else first,
                  "the detail is set after a failure and empty after a success" if detail else
                  "a function without an error channel reports failure by its on_error value")
        self._add("DIFF-codes", first, "two implementations give the same codes")
        self._build_hooks()

    def _build_hooks(self) -> None:
        from conformance import contract
        from conformance.hooks import Hooks

        hooks = contract.hooks() if self.spec is contract.load() else Hooks(self.spec)
        accounting = hooks.get("testing_live_handles") or hooks.get("testing_tracked_bytes")
        if accounting is not None:
            self._add("RES-baseline", accounting.location,
                      "tracked bytes and live handles return to baseline when all handles are gone")
        fail = hooks.get("testing_fail_allocation")
        if fail is not None:
            self._add("RES-fail-allocation", self._key_location(fail.location, "details"),
                      "a failed allocation gives a declared code, the error result and no leak")
        internal = hooks.get("testing_fail_call")
        if internal is not None:
            self._add("RES-internal-failure", self._key_location(internal.location, "details"),
                      "an internal failure gives a declared code with a detail, the error result "
                      "and no leak")

    def add(self, rule_id: str, location: Location, says: str) -> None:
        """A plug-in's rule (SEM-*, ...): same ID scheme, its own spec location."""
        self._add(rule_id, location, says)

    def key_location(self, start: Location, key: str) -> Location:
        return self._key_location(start, key)

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
        own = fn.returns.ownership
        if fn.returns.ctype.pointer and not fn.returns.handle and own in ("static", "borrowed"):
            self._add(f"OWN-{fn.name}-{own}", self._key_location(loc, "returns"),
                      f"{fn.name} returns a {own} pointer: " + (
                          "the same pointer and text on every call, from any thread" if own == "static"
                          else "valid and unchanged until the caller's next call on its thread; "
                               "other threads' calls do not disturb it"))
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
                      f"{fn.name}: a stale or forged {p.handle} is rejected with a declared code")
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
