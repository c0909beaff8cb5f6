"""The `role:` values a function of a spec may carry, in two kinds.

Generated roles change what the generator writes: the native body of the function comes from
the spec (the error messages, the thread's detail text, the contract version and hash), and the
bindings' contract check calls the version and hash functions. Changing one of them changes
behaviour callers rely on.

Testing-hook roles are metadata for tooling: they tell the conformance suite which function
injects faults or counts what the library holds, so it finds its hooks without knowing any
interface's names. The function is implemented, exported, declared and bound exactly as
without the role; adding, removing or exchanging such a role changes no artefact's behaviour,
so the contract hash leaves it out and `ffispec diff` classifies the change as documentation.
"""

from __future__ import annotations

GENERATED_ROLES = ("error_message", "last_error_detail", "contract_version", "contract_hash")

# Leak accounting: () -> a count the library holds.
ACCOUNTING_ROLES = ("testing_live_handles", "testing_tracked_bytes")
# Fault injection: armed by the last non-handle parameter, disarmed by its lowest allowed value.
FAULT_ROLES = ("testing_fail_call", "testing_fail_allocation", "testing_inject_fault")
TESTING_ROLES = (*ACCOUNTING_ROLES, *FAULT_ROLES)

ROLES = (*GENERATED_ROLES, *TESTING_ROLES)


def is_tooling_role(role: str | None) -> bool:
    """True for no role and for a testing-hook role: nothing generated depends on either."""
    return role is None or role in TESTING_ROLES
