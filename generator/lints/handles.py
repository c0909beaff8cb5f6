"""Handles: each has a declared creator that returns it (or writes it through a `Handle**`)
with ownership transferred, and a NULL-safe destroyer that takes it first."""

from __future__ import annotations

from collections.abc import Iterator

from generator.lints.common import fpath, ppath, problem, suggest
from generator.model import Spec
from generator.problems import Problem


def handles(spec: Spec) -> Iterator[Problem]:
    names = {f.name: f for f in spec.functions}
    handle_names = {h.name for h in spec.handles}
    for i, h in enumerate(spec.handles):
        if h.parent is not None and h.parent not in handle_names:
            yield problem("LINT-dangling-reference", f"handle {h.name}: unknown parent "
                          f"{h.parent!r}", h.location, ("handles", i, "parent"),
                          suggest(h.parent, handle_names))
        creator = names.get(h.created_by)
        if creator is None:
            yield problem("LINT-handle-no-creator", f"handle {h.name}: creating function "
                          f"{h.created_by!r} is not declared", h.location,
                          ("handles", i, "created_by"), suggest(h.created_by, names))
        elif creator.created_out is not None:
            pass  # created through a `Handle**` out-parameter (sqlite3_open_v2)
        elif creator.returns.ctype.base != h.name or creator.returns.ctype.depth != 1:
            yield problem("LINT-handle-creator-type", f"handle {h.name}: {creator.name} returns "
                          f"{creator.returns.ctype.c}, not {h.name}*", creator.location,
                          fpath(spec, creator, "returns", "type"),
                          f"the creating function returns `{h.name}*` or writes it through a "
                          f"`{h.name}**` out-parameter")
        elif creator.returns.ownership != "transferred":
            yield problem("LINT-handle-creator-type", f"{creator.name} creates {h.name} but its "
                          "return ownership is not `transferred`", creator.location,
                          fpath(spec, creator, "returns"), "set returns.ownership: transferred")
        destroyer = names.get(h.destroyed_by)
        if destroyer is None:
            yield problem("LINT-handle-no-destroyer", f"handle {h.name}: destroying function "
                          f"{h.destroyed_by!r} is not declared", h.location,
                          ("handles", i, "destroyed_by"), suggest(h.destroyed_by, names))
            continue
        first = destroyer.params[0] if destroyer.params else None
        if first is None or first.handle != h.name:
            yield problem("LINT-handle-destroyer-type", f"{destroyer.name} destroys {h.name} "
                          f"but its first parameter is not a {h.name}*", destroyer.location,
                          fpath(spec, destroyer, "params"),
                          f"make the first parameter `{h.name}*`")
        elif not first.nullable:
            yield problem("LINT-destroyer-not-nullable", f"{destroyer.name} must accept NULL "
                          f"(destroying NULL is a no-op)", first.location,
                          ppath(spec, destroyer, first, "nullable"), "set `nullable: true`")
        elif first.ownership != "transferred":
            yield problem("LINT-destroyer-not-nullable", f"{destroyer.name} takes ownership of "
                          f"{first.name} but does not say so", first.location,
                          ppath(spec, destroyer, first, "ownership"),
                          "set `ownership: transferred`")
