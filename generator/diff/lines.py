"""Source lines of a spec keyed by names ("functions/cuda_init/params/ctx"), the form a diff
report and a lock baseline give locations in: resolved on demand from a parsed spec
(`SourceLines`), read from the model, or compacted for a baseline."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from generator.loader import Locations, RawSpec
from generator.model import Spec
from generator.problems import Location


class SourceLines(Mapping[str, int]):
    """Lines of a parsed spec keyed by names ("functions/cuda_init/params/ctx/nullable"),
    resolved on demand: a diff looks up only the few nodes that changed. Iterating (to record
    every line in a baseline) or pickling builds the full table once."""

    def __init__(self, raw: RawSpec):
        self._raw = raw
        d = raw.data
        self._index = {
            "functions": _positions(d.get("functions")),
            "handles": _positions(d.get("handles")),
            "errors": _positions((d.get("errors") or {}).get("codes")),
        }
        self._params: dict[int, dict[str, int]] = {}
        self._all: dict[str, int] | None = None

    def _raw_path(self, key: str) -> tuple[str | int, ...] | None:
        parts: list[str | int] = [int(p) if p.isdigit() else p for p in key.split("/")]
        head = parts[0]
        i = self._index[str(head)].get(str(parts[1])) if head in self._index and \
            len(parts) > 1 else None
        if i is not None:
            if head == "errors":
                return ("errors", "codes", i, *parts[2:])
            if head == "functions" and len(parts) > 3 and parts[2] == "params":
                if i not in self._params:
                    self._params[i] = _positions(self._raw.data["functions"][i].get("params"))
                j = self._params[i].get(str(parts[3]))
                return None if j is None else ("functions", i, "params", j, *parts[4:])
            return (head, i, *parts[2:])
        return tuple(parts)

    def __getitem__(self, key: str) -> int:
        if self._all is not None and key in self._all:
            return self._all[key]
        path = self._raw_path(key)
        loc = None if path is None else self._raw.locations.get(path)
        if loc is None:
            raise KeyError(key)
        return loc.line

    def _table(self) -> dict[str, int]:
        if self._all is None:
            self._all = source_lines(self._raw)
        return self._all

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __bool__(self) -> bool:
        return True  # a parsed spec has lines; telling so needs no table

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (compact_lines(self._table()),))


def _positions(items: Any) -> dict[str, int]:
    return {str(x["name"]): i for i, x in enumerate(items or [])
            if isinstance(x, dict) and "name" in x}


def source_lines(raw: RawSpec) -> dict[str, int]:
    """The line of every node, keyed by names rather than list positions."""
    d = raw.data
    names = {
        "functions": [f.get("name") if isinstance(f, dict) else None
                      for f in d.get("functions") or []],
        "handles": [h.get("name") if isinstance(h, dict) else None
                    for h in d.get("handles") or []],
    }
    codes = [c.get("name") if isinstance(c, dict) else None
             for c in (d.get("errors") or {}).get("codes") or []]
    out: dict[str, int] = {}
    for path, line in _node_lines(raw.locations):
        if path and path[-1] == "<key>":
            continue
        key = _named(path, names, codes, d)
        if key is not None and key not in out:
            out[key] = line
    return out


def _node_lines(locations: Mapping[tuple[str | int, ...], Location]
                ) -> Iterator[tuple[tuple[str | int, ...], int]]:
    if isinstance(locations, Locations):
        return locations.lines()  # without a Location per node
    return ((path, loc.line) for path, loc in locations.items())


def _named(path: tuple[str | int, ...], names: dict[str, list[Any]], codes: list[Any],
           data: dict[str, Any]) -> str | None:
    if not path:
        return None
    head = path[0]
    if head in names and len(path) > 1 and isinstance(path[1], int):
        name = names[str(head)][path[1]]
        if name is None:
            return None
        rest: list[str] = [str(head), str(name)]
        tail = list(path[2:])
        if head == "functions" and len(tail) >= 2 and tail[0] == "params" \
                and isinstance(tail[1], int):
            params = data["functions"][path[1]].get("params") or []
            pname = params[tail[1]].get("name") if tail[1] < len(params) else None
            if not isinstance(pname, str):
                return None
            rest += ["params", pname]
            tail = tail[2:]
        return "/".join(rest + [str(t) for t in tail[:2]])
    if head == "errors" and len(path) > 2 and path[1] == "codes" and isinstance(path[2], int):
        name = codes[path[2]]
        return None if name is None else "/".join(["errors", str(name), *map(str, path[3:4])])
    return "/".join(str(p) for p in path[:3])


def compact_lines(lines: Mapping[str, int]) -> dict[str, int]:
    """Every function, parameter, error code and handle, plus the fields that sit on a line
    of their own (lookups of the others walk up to their parent's line)."""
    lines = dict(lines)
    out = {}
    for key in sorted(lines):
        parts = key.split("/")
        if len(parts) == 2 or (len(parts) == 4 and parts[2] == "params"):
            out[key] = lines[key]
            continue
        parent = key.rpartition("/")[0]
        while parent and parent not in lines:
            parent = parent.rpartition("/")[0]
        if not parent or lines[parent] != lines[key]:
            out[key] = lines[key]
    return out


def lines_from_model(spec: Spec) -> dict[str, int]:
    """Source lines recorded in the model (functions, parameters, error codes, handles), for
    callers that hold a loaded Spec but not its raw document."""
    out: dict[str, int] = {}
    for fn in spec.functions:
        out[f"functions/{fn.name}"] = fn.location.line
        for p in fn.params:
            out[f"functions/{fn.name}/params/{p.name}"] = p.location.line
    for c in spec.errors.codes:
        out[f"errors/{c.name}"] = c.location.line
    for h in spec.handles:
        out[f"handles/{h.name}"] = h.location.line
    return out
