"""The one failure type of the suite: a broken rule, where the spec states it, and a replay."""

from __future__ import annotations

from conformance.rules import Rule


class ContractViolation(AssertionError):
    """An implementation broke a rule of the contract.

    The message starts with `[RULE-ID] spec/file.yaml:LINE:COL`, so reports, CI logs and
    KNOWN_FINDINGS.md can all be keyed by the rule.
    """

    def __init__(self, rule: Rule, message: str, replay: str = ""):
        self.rule = rule
        self.detail = message
        self.replay = replay
        text = f"[{rule.id}] {rule.location}: {message}\n  the spec says: {rule.says}"
        if replay:
            text += "\n\nMinimal replay:\n" + replay
        super().__init__(text)

    def __reduce__(self):  # travels from a forked child back to the test process
        return (ContractViolation, (self.rule, self.detail, self.replay))
