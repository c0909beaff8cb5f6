"""The lock workflow: the baseline and its seals (`state`), the gate of `ffispec check` (`gate`),
`ffispec verify-lock` (`verify`) and the `lock`, `diff` and `verify-lock` commands (`cli`)."""
