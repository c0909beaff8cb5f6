"""Exit status of every `ffispec` command: a bit mask, so one run can report several things.

0  OK        everything asked for holds
1  INTERNAL  a bug in ffispec or an interrupted run (a traceback would be a bug)
2  SPEC      the spec (or a lock baseline, or the command line) is invalid: nothing was checked
4  DRIFT     something is out of date: generated artefacts differ from what the spec
             generates, or the spec changed since the lock without a version bump big enough
             for a compatible or documentation change
8  BREAKING  a breaking change against the lock without a major version bump (`check`,
             `lock`), or one at least as severe as `diff --fail-on` names
16 FINDINGS  `audit` (or `import --report --fail-on-findings`) found contradictions in headers

A header that does not exist, preprocess or parse is a usage problem: 2.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_SPEC = 2
EXIT_DRIFT = 4
EXIT_BREAKING = 8
EXIT_FINDINGS = 16
