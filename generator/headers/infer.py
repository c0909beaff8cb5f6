"""Headers -> a draft spec. Every field that is not a plain copy of a declaration carries its
provenance (header:line and the words it came from), so a reviewer knows what to confirm; a
field the headers do not state is left out, and the spec's lints then ask for it.

The work is split by subject: infer_errors (error table and channel), infer_handles,
infer_functions; infer_base holds the shared state and helpers."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path, PurePath
from typing import Any

from generator.headers.doctext import parse
from generator.headers.infer_base import (
    Draft,
    _slug,
)
from generator.headers.infer_errors import ErrorsPart
from generator.headers.infer_functions import FunctionsPart
from generator.headers.infer_handles import HandlesPart
from generator.headers.infer_types import TypesPart
from generator.headers.ir import HeaderSet
from generator.headers.problems import Where


def infer(hs: HeaderSet, prefix: str | None = None) -> Draft:
    return _Inferrer(hs, prefix).run()


class _Inferrer(ErrorsPart, HandlesPart, TypesPart, FunctionsPart):
    def run(self) -> Draft:
        hs = self.hs
        self.existing = not self._generated()
        self.table = self._error_table()
        self.err_param = self._error_param()
        self.handles = self._handles()
        self.handle_names = {h["name"] for h in self.handles}
        self.groups, self.group_of = self._groups()
        self.code_keys, self.result_keys = {}, set()
        errors = self._errors()   # before the interface: channels name codes by key
        data: dict[str, Any] = {"spec_format": 1, "interface": self._interface()}
        if self.existing:
            name = data["interface"]["name"]
            data["targets"] = {"mode": "existing_library", "native": {"library": name}}
            self.note(("targets",), hs.headers[0], f"the header exists, so the spec describes an existing "
                      f"library; its shared library is assumed to be lib{name}.so — confirm")
        data["groups"] = self.groups
        data["errors"] = errors
        data["handles"] = self.handles
        self.exceptions: dict[str, dict[str, Any]] = {}
        self.types = self._stated_types()
        self.channel_none: set[str] = set()
        self.preconditions = set()
        data["functions"] = [self._function(i, f) for i, f in enumerate(hs.functions)]
        self._rule_kinds(data)
        if self.types:
            data["types"] = list(self.types.values())
            keys = list(data)
            keys.remove("types")
            keys.insert(keys.index("handles") + 1, "types")
            data = {k: data[k] for k in keys}
        if self.exceptions:
            data["exceptions"] = list(self.exceptions.values())
        self.summary += [f"{len(hs.functions)} function(s) imported"]
        if hs.skipped:
            kinds = Counter(s.kind for s in hs.skipped)
            self.summary.append("skipped (the spec language cannot state these; see `ffispec audit`): " +
                                ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
            for s in hs.skipped:
                self.summary.append(f"  skipped {s.kind} {s.name} at {s.where}: {s.reason}")
        return Draft(data, self.prov, self.summary)

    # ------------------------------------------------------------ interface
    def _rule_kinds(self, data: dict[str, Any]) -> None:
        """When the header calls rules preconditions, that is the interface's default, and a
        parameter whose rules it does not call so is checked."""
        if not self.preconditions:
            return
        data["interface"]["rules"] = "precondition"
        for i, fn in enumerate(data["functions"]):
            for j, p in enumerate(fn["params"]):
                has_rules = any(k in p for k in ("range", "allowed", "string")) or (
                    p["type"].endswith("*") and not p.get("nullable"))
                if has_rules and ("functions", i, "params", j) not in self.preconditions:
                    p["rule"] = "checked"

    def _interface(self) -> dict[str, Any]:
        hs = self.hs
        main = hs.headers[0]
        stem = re.sub(r"\W", "_", Path(main).stem)
        name = stem if re.match(r"^[A-Za-z_]", stem) else f"h_{stem}"
        out: dict[str, Any] = {"name": name}
        self.note(("interface", "name"), main, "the first header's file name")
        doc = hs.file_docs.get(main)
        facts = parse(doc) if doc else None
        version = self._version(name)
        if facts and facts.brief:
            title = re.sub(r"\s+v?\d+\.\d+\.\d+\s*$", "", facts.brief.text.strip())
            out["title"] = title
        out["version"] = self.version = version[0] if version else "0.1.0"
        self.note(("interface", "version"), *(version[1:] if version else
                                                (main, "no version macro found; 0.1.0 assumed — confirm")))
        out["c_prefix"] = self.prefix
        self.note(("interface", "c_prefix"), main, "the prefix most function names share")
        body = [t.text for t in facts.details] if facts else []
        if body:
            out["doc"] = " ".join(body) if len(body) == 1 else "\n\n".join(body)
        elif facts and facts.brief and not out.get("title"):
            out["doc"] = facts.brief.text
        header: dict[str, Any] = {"path": _project_path(main)}
        guard = hs.guards.get(main)
        if self.existing:
            # The generated header sits beside the library's own and includes it: a new path,
            # guard and export macro, so neither overwrites nor hides the original.
            base = name.removesuffix("_ffi")
            clash = Path(main).as_posix() == f"include/{base}_ffi.h" or f"{base.upper()}_FFI_H" in hs.guards.values()
            suffix = "spec" if clash else "ffi"
            header = {"path": f"include/{base}_{suffix}.h", "guard": f"{base.upper()}_{suffix.upper()}_H",
                      "api_macro": f"{base.upper()}_{suffix.upper()}_API"}
            self.note(("interface", "header", "path"), main, "where `ffispec generate` writes the checked "
                      "header; the library's own header is included, never overwritten")
        elif guard:
            header["guard"] = guard
        else:
            self.note(("interface", "header"), main, "no include guard found; `guard` must be chosen")
        apis = Counter(f.api_macro for f in hs.functions if f.api_macro)
        if self.existing:
            pass
        elif apis:
            header["api_macro"] = apis.most_common(1)[0][0]
            self.note(("interface", "header", "api_macro"), main,
                      f"{apis.most_common(1)[0][1]} of {len(hs.functions)} declarations start with it")
        else:
            header["api_macro"] = f"{name.upper()}_API"
            self.note(("interface", "header", "api_macro"), main,
                      "the declarations carry no export macro; this is the one the generated header will "
                      "define — rename it if you like")
        includes = [i for i in hs.includes.get(main, ()) if re.fullmatch(r"[A-Za-z0-9_/]+\.h", i)]
        if self.existing:
            includes = [Path(main).name] if re.fullmatch(r"[A-Za-z0-9_/.+-]+\.h", Path(main).name) else []
        if includes:
            header["includes"] = includes
        out["header"] = header
        self.stated_channels = self._stated_channels()
        self.status = None if self.err_param else self._status_channel()
        if self.stated_channels:
            out["error_channel"] = self.stated_default
            self.note(("interface", "error_channel"), main, "the channel most functions' `Error channel` "
                      "paragraphs state")
        elif self.err_param:
            out["error_out_param"] = self.err_param[0]
            self.note(("interface", "error_out_param"), self.err_param[1], self.err_param[2])
        elif self.status is not None:
            out["error_channel"] = {"kind": "status", "success": [self.status[0]]}
            self.note(("interface", "error_channel"), self.status[1], self.status[2])
        else:
            self.note(("interface", "error_out_param"), main,
                      "no function has an error out-parameter; errors travel some other way (a status "
                      "return, errno, a sentinel) that this spec language version cannot state — decide")
        return out

    def _version(self, name: str) -> tuple[str, Where, str] | None:
        consts = {c.name: c for c in self.hs.constants}
        up = name.upper()
        for base in (up, *sorted({c.name[:-len("_VERSION_MAJOR")] for c in consts.values()
                                  if c.name.endswith("_VERSION_MAJOR")})):
            parts = [consts.get(f"{base}_VERSION_{p}") for p in ("MAJOR", "MINOR", "PATCH")]
            if all(p is not None and isinstance(p.value, int) for p in parts):
                text = ".".join(str(p.value) for p in parts if p is not None)
                first = parts[0]
                assert first is not None
                return text, first.where, f"{base}_VERSION_MAJOR/MINOR/PATCH"
        for c in consts.values():
            if isinstance(c.value, str) and c.name.endswith("VERSION") or c.name.endswith("VERSION_STRING"):
                m = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?", str(c.value))
                if m:
                    return f"{m.group(1)}.{m.group(2)}.{m.group(3) or 0}", c.where, f'{c.name} "{c.value}"'
        return None

    # --------------------------------------------------------------- errors
    def _groups(self) -> tuple[list[dict[str, Any]], dict[str, str]]:
        groups: list[dict[str, Any]] = []
        group_of: dict[str, str] = {}
        sections = sorted(self.hs.sections, key=lambda s: (s.file, s.start))
        by_name: dict[str, dict[str, Any]] = {}
        for s in sections:
            m = re.search(r"@defgroup (\w+) ([^\n]*)", s.text)
            if m:
                name, title = m.group(1), m.group(2).strip()
                doc = " ".join(t for _, t in s.lines if "@defgroup" not in t and "@{" not in t).strip()
            else:
                first = re.sub(r"^[\s=\-#*]+|[\s=\-#*]+$", "", s.text.splitlines()[0])
                title, _, doc = first.partition(": ")
                name = _slug(title)
            if name and name not in by_name:
                g = {"name": name, "title": title or name}
                if doc.strip():
                    g["doc"] = doc.strip()
                by_name[name] = g
                groups.append(g)
        for f in self.hs.functions:
            facts = self.docs[f.name]
            if facts.group and facts.group.text in by_name:
                group_of[f.name] = facts.group.text
                continue
            above = [s for s in sections if s.file == f.where.file and s.start < f.where.line]
            if above:
                s = above[-1]
                m = re.search(r"@defgroup (\w+)", s.text)
                first = re.sub(r"^[\s=\-#*]+|[\s=\-#*]+$", "", s.text.splitlines()[0])
                group_of[f.name] = m.group(1) if m else _slug(first.partition(": ")[0])
        if len(group_of) < len(self.hs.functions):
            stem = re.sub(r"\W", "_", Path(self.hs.headers[0]).stem)
            if stem not in by_name:
                groups.append({"name": stem, "title": stem})
            for f in self.hs.functions:
                group_of.setdefault(f.name, stem)
        return groups, group_of


def _project_path(path: str) -> str:
    """A header path as a spec holds it (an output path inside the project): relative to the
    working directory, or include/NAME when the header lies outside it."""
    pure = PurePath(path)
    if not pure.is_absolute():
        return pure.as_posix()
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return f"include/{pure.name}"
