"""The catalogue of change-classification rules used by `ffispec diff`, the lock gate and
`ffispec lock`. Each rule has a stable ID, a fixed severity, the level it concerns and a
one-line explanation written from the caller's point of view.

Severities: `breaking` (needs a major version), `compatible` (needs a minor version),
`documentation` (needs a patch version). Levels: `abi` (binaries built against the old
header misbehave), `api` (sources or behaviour relied on by callers), `doc` (text only).
Direction matters: the same field can break callers in one direction and not in the other,
so such fields have one rule per direction (e.g. FN-param-nullable-tightened / -relaxed).
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.http.rules import HTTP_RULES

BREAKING, COMPATIBLE, DOCUMENTATION = "breaking", "compatible", "documentation"
SEVERITIES = (BREAKING, COMPATIBLE, DOCUMENTATION)
BUMP_FOR = {BREAKING: "major", COMPATIBLE: "minor", DOCUMENTATION: "patch"}


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    level: str
    explanation: str


_RULES = [
    # ---------------------------------------------------------------- functions
    Rule("FN-removed", BREAKING, "abi",
         "function removed: binaries that call it no longer link or load"),
    Rule("FN-added", COMPATIBLE, "api", "function added"),
    Rule("FN-deprecated", COMPATIBLE, "api",
         "function deprecated: it still works; callers should move to the replacement"),
    Rule("FN-undeprecated", COMPATIBLE, "api", "deprecation withdrawn"),
    Rule("FN-role-changed", BREAKING, "api",
         "the generated behaviour role of the function changed"),
    Rule("FN-tooling-role-changed", DOCUMENTATION, "doc",
         "a testing-hook role (metadata for conformance tooling) was added, removed or changed: "
         "the function, its behaviour and the contract hash are unchanged"),
    Rule("FN-alias-changed", BREAKING, "api",
         "the function now forwards to a different implementation"),
    Rule("FN-return-type-changed", BREAKING, "abi",
         "return type changed: old binaries read the result with the wrong type"),
    Rule("FN-return-nullable", BREAKING, "api",
         "the result may now be NULL: callers that dereference it unchecked crash"),
    Rule("FN-return-non-null", COMPATIBLE, "api", "the result is never NULL any more"),
    Rule("FN-return-ownership-changed", BREAKING, "api",
         "who owns the result changed: callers leak it or free memory they do not own"),
    Rule("FN-return-lifetime-extended", COMPATIBLE, "api",
         "the result lives longer than before (borrowed -> static)"),
    Rule("FN-return-on-error-changed", BREAKING, "api",
         "the value returned on error changed: callers' failure checks miss it"),
    Rule("FN-return-values-added", BREAKING, "api",
         "the result may take a new value: exhaustive callers do not handle it"),
    Rule("FN-return-values-removed", COMPATIBLE, "api", "the result no longer takes a value"),
    Rule("FN-return-value-renamed", BREAKING, "api",
         "a result value's name changed: sources using the old macro no longer compile"),
    Rule("FN-return-false-means-changed", COMPATIBLE, "api",
         "what a false result with code 0 means was restated: review callers that branch on it"),
    Rule("FN-param-added", BREAKING, "abi",
         "parameter added: old binaries pass too few arguments"),
    Rule("FN-param-removed", BREAKING, "abi",
         "parameter removed: old binaries pass arguments the function no longer reads"),
    Rule("FN-param-moved", BREAKING, "abi",
         "parameter moved to another position: old binaries pass arguments in the wrong order"),
    Rule("FN-param-renamed", COMPATIBLE, "api",
         "parameter renamed at the same position with the same type: binary compatible; "
         "keyword-argument callers in bindings must follow"),
    Rule("FN-param-type-changed", BREAKING, "abi",
         "parameter type changed: old binaries pass a value of the wrong type"),
    Rule("FN-param-direction-changed", BREAKING, "api",
         "parameter direction changed (in/out/inout)"),
    Rule("FN-param-nullable-tightened", BREAKING, "api",
         "parameter may no longer be NULL: callers that pass NULL now get an error"),
    Rule("FN-param-nullable-relaxed", COMPATIBLE, "api", "parameter may now be NULL"),
    Rule("FN-param-ownership-changed", BREAKING, "api",
         "ownership of the argument changed (borrowed <-> transferred): double free or leak"),
    Rule("FN-param-range-narrowed", BREAKING, "api",
         "input range narrowed: values callers could pass before are now rejected"),
    Rule("FN-param-range-widened", COMPATIBLE, "api",
         "input range widened: every value accepted before is still accepted"),
    Rule("FN-param-range-shifted", BREAKING, "api",
         "input range moved: some values accepted before are now rejected"),
    Rule("FN-param-allowed-removed", BREAKING, "api",
         "an allowed value was removed: callers passing it now get an error"),
    Rule("FN-param-allowed-added", COMPATIBLE, "api", "a new allowed value was added"),
    Rule("FN-param-allowed-renamed", BREAKING, "api",
         "an allowed value's C name changed: sources using the old macro no longer compile"),
    Rule("FN-param-on-violation-changed", BREAKING, "api",
         "a rule violation now reports a different error code"),
    Rule("FN-param-len-changed", BREAKING, "api",
         "the parameter giving this buffer's capacity changed"),
    Rule("FN-param-string-tightened", BREAKING, "api",
         "string rule tightened (UTF-8 now required or a larger minimum length)"),
    Rule("FN-param-string-relaxed", COMPATIBLE, "api",
         "string rule relaxed (UTF-8 no longer required or a smaller minimum length)"),
    Rule("FN-param-written-weakened", BREAKING, "api",
         "the out-parameter is written in fewer cases: callers may read an unset value"),
    Rule("FN-param-written-strengthened", COMPATIBLE, "api",
         "the out-parameter is now always written"),
    Rule("FN-errors-added", BREAKING, "api",
         "new error code in the function's declared set: exhaustive callers do not handle it"),
    Rule("FN-errors-removed", COMPATIBLE, "api",
         "error code no longer reported by the function"),
    Rule("FN-thread-safety-weakened", BREAKING, "api",
         "no longer safe from any thread: concurrent callers race"),
    Rule("FN-thread-safety-strengthened", COMPATIBLE, "api", "now safe from any thread"),
    Rule("FN-sync-added", BREAKING, "api",
         "callers must now also synchronise on another parameter"),
    Rule("FN-sync-removed", COMPATIBLE, "api", "callers need to synchronise on less"),
    Rule("FN-concurrency-removed", BREAKING, "api",
         "no longer allowed to run concurrently with a function on the same handle"),
    Rule("FN-concurrency-added", COMPATIBLE, "api",
         "now allowed to run concurrently with another function on the same handle"),
    Rule("FN-doc-changed", DOCUMENTATION, "doc", "documentation text changed"),
    Rule("FN-metadata-changed", DOCUMENTATION, "doc",
         "group, `since` or requirement references changed"),
    # ------------------------------------------------------------------- errors
    Rule("ERR-code-removed", BREAKING, "api",
         "error code removed from the table: callers that name it no longer compile"),
    Rule("ERR-code-added", COMPATIBLE, "api",
         "error code appended to an extensible table: callers already handle unknown values"),
    Rule("ERR-code-added-closed", BREAKING, "api",
         "error code added to a closed table: exhaustive callers do not handle it"),
    Rule("ERR-value-renumbered", BREAKING, "abi",
         "error value renumbered: binaries compare against the old number"),
    Rule("ERR-renamed", BREAKING, "api",
         "error code's C name changed: sources using the old name no longer compile"),
    Rule("ERR-key-changed", BREAKING, "api",
         "stable string key changed: Python, HTTP and SSE consumers match on it"),
    Rule("ERR-http-status-changed", BREAKING, "api", "HTTP status of the error changed"),
    Rule("ERR-retriable-changed", BREAKING, "api",
         "retriable flag changed: clients' retry behaviour changes"),
    Rule("ERR-message-changed", COMPATIBLE, "api",
         "pinned message changed: the code is unchanged; logs and UIs show new text"),
    Rule("ERR-python-base-removed", BREAKING, "api",
         "Python exception no longer derives from a base class: `except Base` stops catching it"),
    Rule("ERR-python-base-added", COMPATIBLE, "api", "Python exception gained a base class"),
    Rule("ERR-enum-renamed", BREAKING, "api", "the error enum type was renamed"),
    Rule("ERR-enum-opened", BREAKING, "api",
         "the error table became extensible: exhaustive callers may see unknown values"),
    Rule("ERR-enum-closed", COMPATIBLE, "api", "the error table is now closed"),
    Rule("ERR-doc-changed", DOCUMENTATION, "doc", "error documentation changed"),
    # ------------------------------------------------------------------ handles
    Rule("HDL-removed", BREAKING, "api", "handle type removed"),
    Rule("HDL-added", COMPATIBLE, "api", "handle type added"),
    Rule("HDL-parent-changed", BREAKING, "api",
         "handle parent changed: lifetimes and destroy cascades differ"),
    Rule("HDL-lifecycle-changed", BREAKING, "api",
         "the function that creates or destroys the handle changed"),
    Rule("HDL-thread-safety-weakened", BREAKING, "api",
         "handle no longer safe to share between threads"),
    Rule("HDL-thread-safety-strengthened", COMPATIBLE, "api", "handle now safe to share"),
    Rule("HDL-doc-changed", DOCUMENTATION, "doc", "handle documentation changed"),
    # ---------------------------------------------------------------- interface
    Rule("IF-renamed", BREAKING, "api",
         "interface name changed: generated macro names (version, hash) change"),
    Rule("IF-prefix-changed", BREAKING, "api", "the C prefix changed"),
    Rule("IF-header-changed", BREAKING, "api",
         "header path, include guard, export macro or includes changed: sources must follow"),
    Rule("IF-header-includes-added", COMPATIBLE, "api", "the header includes more"),
    Rule("IF-error-param-renamed", COMPATIBLE, "api",
         "the name of the error out-parameter changed"),
    Rule("IF-doc-changed", DOCUMENTATION, "doc",
         "interface documentation, principles, consumers, groups or exceptions changed"),
    Rule("IF-changelog-changed", DOCUMENTATION, "doc", "change log edited"),
    # ------------------------------------------------------------- model format
    Rule("MF-tightened", BREAKING, "api",
         "model format requires more or different content: existing model files may not load"),
    Rule("MF-relaxed", COMPATIBLE, "api", "model format requires less"),
    Rule("MF-doc-changed", DOCUMENTATION, "doc", "model format documentation changed"),
    # ------------------------------------------------------------------ safety net
    Rule("CONTRACT-unclassified", BREAKING, "api",
         "a contract field changed that no rule classifies; treated as breaking until one does"),
]

_RULES += [Rule(*r) for r in HTTP_RULES]  # the HTTP section's rules (generator.http)
RULES: dict[str, Rule] = {r.id: r for r in _RULES}
assert len(RULES) == len(_RULES), "duplicate rule ID"


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]


def worst(severities: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """The most severe of `severities`, or None when there are none."""
    for s in SEVERITIES:
        if s in severities:
            return s
    return None
