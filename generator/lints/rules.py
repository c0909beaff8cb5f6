"""The catalogue of semantic lint rules: every rule ID the lints of this package can report
for a spec the schema accepts, with a one-line summary of what it refuses.

The lints report only these IDs (`common.problem` refuses any other), an `exceptions:` entry
of a spec can waive only these, and tests/test_lint_rules.py holds a broken spec for each.
The schema's and loader's own findings (SPEC-*) and the HTTP section's (HTTP-*) are not lint
rules and are not listed here."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

LINT_RULES: Mapping[str, str] = MappingProxyType({
    # ----------------------------------------------------------------- names
    "LINT-duplicate-name": "a function, parameter, handle, type, error name or key, allowed or "
                           "result value, or role is declared twice",
    "LINT-reserved-name": "a name is a keyword of C, C++ or (for parameters) Python",
    "LINT-prefix": "a function name does not start with the interface's C prefix",
    "LINT-dangling-reference": "a reference (alias_of, replacement, parent, group, fixed, error "
                               "channel function, exception target or rule) names nothing",
    # ---------------------------------------------------------------- errors
    "LINT-duplicate-error-value": "two error codes share a pinned value",
    "LINT-no-success-code": "no success code: the table has no value 0, or a status channel "
                            "has no success key",
    "LINT-unknown-error": "an error key (of a function, an on_violation or a success list) is "
                          "not in the table, or a success code is listed as an error",
    "LINT-unused-error": "an error code no function reports",
    "LINT-missing-unknown": "a fallible function does not declare the code for unexpected failures",
    "LINT-http-partial": "some error codes have http_status and retriable and others not",
    # ---------------------------------------------------------- error channel
    "LINT-error-param-shape": "the error channel's parameter, status return or code/detail "
                              "function has the wrong shape",
    "LINT-fallible-no-errors": "a function has an error channel but declares no error code",
    "LINT-fallible-needs-error-channel": "a function declares errors but has no error channel",
    "LINT-role-missing": "a sentinel failure cannot be told from a result: no detail role, "
                         "code or detail function",
    # ------------------------------------------------------------- parameters
    "LINT-out-not-pointer": "an out or inout parameter is not a pointer",
    "LINT-out-written": "an out-parameter does not say when it is written, or `written` is "
                        "misused",
    "LINT-nullable-scalar": "a parameter that is not a pointer is marked nullable",
    "LINT-unknown-type": "a type is neither a C scalar, a declared handle nor a declared type",
    "LINT-declaration-conflict": "a function, handle or type differs from (or is missing in) the "
                                 "declaration of the library header the generated header includes",
    "LINT-len-unknown": "`len` names a parameter the function does not have",
    "LINT-len-not-integer": "`len` names a parameter that is not an integer",
    "LINT-string-rule-type": "string rules on a parameter that is not a string",
    "LINT-range-type": "a range, allowed values or result values on a type they cannot apply to, "
                       "or a bound the type cannot hold",
    "LINT-range-empty": "a range whose min is above its max",
    "LINT-precondition-code": "a precondition (never checked) names an on_violation code",
    "LINT-violation-missing": "a checked rule has no error code to report when it is broken",
    "LINT-undeclared-violation": "a parameter's on_violation code is not among the function's "
                                 "errors",
    # --------------------------------------------------------------- results
    "LINT-bool-ambiguous": "a bool result does not say what false with no error means",
    "LINT-on-error-missing": "a fallible function does not say what it returns on failure",
    "LINT-on-error-type": "the failure result does not fit the return type, or is also a "
                          "success value",
    "LINT-ownership-missing": "a pointer result does not say who owns it",
    # --------------------------------------------------------------- handles
    "LINT-handle-no-creator": "a handle's creating function is not declared",
    "LINT-handle-creator-type": "a handle's creating function does not return a transferred "
                                "pointer to it",
    "LINT-handle-no-destroyer": "a handle's destroying function is not declared",
    "LINT-handle-destroyer-type": "a handle's destroying function does not take it first",
    "LINT-destroyer-not-nullable": "a destroying function does not accept NULL or does not take "
                                   "ownership",
    # --------------------------------------------------- functions and versions
    "LINT-unmarked-alias": "two functions with one signature and meaning, neither marked as the "
                           "other's alias",
    "LINT-alias-signature": "an alias's signature differs from its target's",
    "LINT-since-after-version": "a function's `since` is after the interface version",
    "LINT-thread-safety-reference": "thread_safety names an unknown function or parameter, or "
                                    "external synchronisation names nothing to sync on",
    "LINT-thread-safety-asymmetric": "one function may run concurrently with another that does "
                                     "not say the same",
    # ------------------------------------------------------ types and targets
    "LINT-type-shape": "a declared type lacks the part its kind needs, or has a part it cannot",
    "LINT-target-unsupported": "a target the spec enables cannot render a feature it uses",
})
