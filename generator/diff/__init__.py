"""Classify the changes between two versions of a contract: `source` turns a spec, a git
revision or a lock baseline into a `View`, `classify` and `functions` compare two views rule by
rule (`rules` is the catalogue), `versions` says which bump they need, `report` renders them."""

from generator.diff.classify import diff_views
from generator.diff.differ import Change

__all__ = ["Change", "diff_views"]
