"""The diff and the lock gate see every field that reaches an artefact.

Every property of the spec schema is classified here as contract, documentation, or ignored
with a reason; a new schema property without a classification fails the first test. Then every
field a spec in spec_harness.SPECS actually uses is changed, one at a time: a change that alters
any generated artefact must be reported by `diff_views`, documentation fields must classify as
documentation only, and contract fields as more than that."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from spec_harness import ROOT, SPECS

from generator.cli import main
from generator.diff import diff_views
from generator.diff.source import spec_view
from generator.loader import RawSpec, parse_text, schema
from generator.lock.state import LockState
from generator.normalise import normalise
from generator.problems import SpecError
from generator.render import rendered_artefacts
from generator.spec import review_raw

DOC = "documentation"
CONTRACT = "contract"
# Fields that change no artefact and no contract, with the reason.
IGNORED = {
    "spec_format": "the spec language version; a different value is refused by the schema",
    "targets.mode": "where artefacts are generated, not what they promise",
    "targets.python.package": "where the bindings are written (an output location)",
    "targets.python.dir": "an output location",
    "targets.python.enabled": "whether the bindings are generated at all",
    "targets.python.error_base": "a name inside the generated bindings, not the C contract",
    "targets.native.library": "the library file name the bindings link, not the ABI",
    "targets.native.soname": "the library file the bindings open, not the ABI",
    "targets.cpp.namespace": "the C++ namespace of the native core, behind the C ABI",
    "targets.cpp.dir": "an output location",
    "targets.rust.crate": "the name of the generated crate, not the C contract",
    "targets.rust.dir": "an output location",
    "targets.rust.enabled": "whether the crate is generated at all",
    "targets.schema": "an output location",
    "http.openapi": "an output location",
    "changelog[].date": "history; the change log itself is documentation",
    "interface.header.macro_prefix": "spelling of generated macro names, checked by check",
}
DOCUMENTATION = {
    "interface.title", "interface.doc", "interface.consumers[].team",
    "interface.consumers[].contact", "interface.consumers[].uses", "interface.principles",
    "groups[].title", "groups[].doc", "errors.doc", "errors.codes[].doc",
    "errors.codes[].since", "handles[].doc", "types[].doc", "types[].values[].doc",
    "types[].fields[].doc", "types[].constants[].doc", "model_format.doc",
    "model_format.metadata[].doc", "model_format.tensors[].doc", "functions[].doc",
    "functions[].details", "functions[].params[].doc", "functions[].params[].allowed[].doc",
    "functions[].returns.doc", "functions[].returns.values[].doc",
    "functions[].deprecated.reason", "functions[].notes", "functions[].requirements",
    "functions[].group", "functions[].since", "exceptions[].id", "exceptions[].applies_to",
    "exceptions[].rule", "exceptions[].reason", "changelog[].version", "changelog[].changes",
    "http.doc", "http.errors[].doc", "errors.codes[].python_bases",
    "http.operations.*.summary", "http.operations.*.doc", "http.operations.*.request.*.doc",
    "http.operations.*.stream.doc", "http.operations.*.stream.events.*.doc",
    "http.operations.*.stream.events.*.data.*.doc", "http.operations.*.response.doc",
    "http.operations.*.response.data.*.doc", "http.operations.*.links[].doc",
}


def schema_properties() -> list[str]:
    """Every property path of the schema (`a.b[].c`; `*` for a map's values)."""
    defs = schema()["$defs"]
    out: list[str] = []

    def walk(node: dict[str, Any], path: str, refs: tuple[str, ...]) -> None:
        while "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            if name in refs:
                return  # a recursive definition: its properties are listed once
            refs = (*refs, name)
            node = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
        for combined in ("allOf", "anyOf", "oneOf"):
            for sub in node.get(combined, []):
                walk(sub, path, refs)
        for key, sub in node.get("properties", {}).items():
            child = f"{path}.{key}" if path else key
            out.append(child)
            walk(sub, child, refs)
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{path}.*", refs)
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]", refs)

    walk(schema(), "", ())
    return out


def classify(path: str) -> str:
    if path in IGNORED:
        return "ignored"
    if path in DOCUMENTATION:
        return DOC
    return CONTRACT


def test_every_schema_property_is_classified() -> None:
    paths = schema_properties()
    assert len(paths) > 150, "the schema walk found too few properties"
    # Contract is the default, so the lists must not name properties that no longer exist,
    # and every property a list names must exist: a renamed property is then noticed.
    stale = sorted((IGNORED.keys() | DOCUMENTATION) - set(paths))
    assert not stale, f"classified properties the schema no longer has: {stale}"
    assert all(reason.strip() for reason in IGNORED.values())
    # A new documentation-like property (free text named doc, title, reason, ...) must be
    # classified on purpose, not fall into contract silently.
    free_text = [p for p in paths if re.search(r"(^|\.)(doc|title|reason|details|notes)$", p)]
    unclassified = [p for p in free_text if p not in DOCUMENTATION and p not in IGNORED]
    assert unclassified == ["http.title"], unclassified  # the OpenAPI title is metadata


# ------------------------------------------------------------------ behaviour per field

def _key(path: tuple[Any, ...]) -> str:
    """The schema property path of a data path: list items as `[]`, map values as `*`."""
    defs = schema()["$defs"]
    node: dict[str, Any] = schema()
    out = ""
    for part in path:
        while "$ref" in node:
            node = {**defs[node["$ref"].rsplit("/", 1)[1]],
                    **{k: v for k, v in node.items() if k != "$ref"}}
        if isinstance(part, int):
            out += "[]"
            node = node.get("items", {})
        elif part in node.get("properties", {}):
            out += f".{part}" if out else str(part)
            node = node["properties"][part]
        else:
            out += ".*"
            node = node.get("additionalProperties") or {}
    return out


def _schema_node(path: tuple[Any, ...]) -> dict[str, Any]:
    defs = schema()["$defs"]
    node: dict[str, Any] = schema()
    for part in path:
        while "$ref" in node:
            node = {**defs[node["$ref"].rsplit("/", 1)[1]],
                    **{k: v for k, v in node.items() if k != "$ref"}}
        if isinstance(part, int):
            node = node.get("items", {})
        else:
            node = node.get("properties", {}).get(part) or node.get("additionalProperties") or {}
    while "$ref" in node:
        node = {**defs[node["$ref"].rsplit("/", 1)[1]],
                **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _leaves(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(data, list) and data and not all(isinstance(x, str) for x in data):
        for i, v in enumerate(data):
            yield from _leaves(v, (*path, i))
    else:
        yield path


def _changed(value: Any, node: dict[str, Any]) -> Any:
    """A different value the schema still accepts, or None when there is no obvious one."""
    if isinstance(value, bool):
        return not value
    if "enum" in node:
        others = [v for v in node["enum"] if v != value]
        return others[0] if others else None
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 0.5
    if isinstance(value, str) and "pattern" not in node:
        return value + " (changed)"
    if isinstance(value, list) and value and all(isinstance(x, str) for x in value) and \
            "pattern" not in node.get("items", {}):
        return [*value[:-1], value[-1] + " (changed)"]
    return None


def _sample(data: Any) -> dict[str, tuple[Any, ...]]:
    """One concrete occurrence of every schema property the spec uses."""
    out: dict[str, tuple[Any, ...]] = {}
    for path in _leaves(data):
        out.setdefault(_key(path), path)
    return out


def _render(spec: Any) -> dict[str, str]:
    banner = re.compile(r"sha256|contract hash|CONTRACT_HASH|Generated by", re.I)
    texts = rendered_artefacts(spec, LockState(False, "coverage"))
    return {k: "\n".join(ln for ln in v.splitlines() if not banner.search(ln))
            for k, v in texts.items()}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_field_that_reaches_an_artefact_is_seen_by_the_diff(name: str) -> None:
    base = parse_text(SPECS[name].read_text(encoding="utf-8"), "old.yaml").data
    old_spec = normalise(RawSpec("old.yaml", "", base, {}))
    old_view, old_text = spec_view(old_spec, {}, "old"), _render(old_spec)
    checked = []
    for key, path in sorted(_sample(base).items()):
        parent = base
        for part in path[:-1]:
            parent = parent[part]
        value = _changed(parent[path[-1]], _schema_node(path))
        if value is None:
            continue
        data = copy.deepcopy(base)
        target = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        raw = RawSpec("new.yaml", "", data, {})  # straight from data: no YAML round trip
        try:
            new_spec, findings = review_raw(raw)
        except SpecError:
            continue
        if findings:
            continue  # an invalid spec renders nothing
        changes = diff_views(old_view, spec_view(new_spec, {}, "new"))
        kind = classify(key)
        severities = {c.severity for c in changes}
        if not changes and kind != "ignored":  # rendering only when the diff is silent
            assert _render(new_spec) == old_text, f"{key}: the artefacts change, the diff is silent"
        if kind == DOC:
            assert severities == {"documentation"}, f"{key}: {sorted(severities)}"
        elif kind == CONTRACT and changes:
            assert severities - {"documentation"}, f"{key}: a contract field reads as docs"
        checked.append(key)
    assert len(checked) > 25, checked


# -------------------------------------------------------------- locations and review

@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "worker_ffi.yaml").write_text(
        (ROOT / "spec" / "worker_ffi.yaml").read_text("utf-8"), "utf-8")
    (tmp_path / "old.yaml").write_text((ROOT / "spec" / "worker_ffi.yaml").read_text("utf-8"),
                                       "utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _edit(root: Path, old: str, new: str) -> None:
    path = root / "spec" / "worker_ffi.yaml"
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


def test_an_added_function_has_no_old_location(project: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import json

    _edit(project, "functions:\n", "functions:\n  - {name: cuda_added, group: health, since: "
          "1.1.0, doc: Added., params: [], returns: {type: int, doc: A number.}, errors: [],"
          " thread_safety: {class: safe}}\n")
    assert main(["diff", "--against", "old.yaml", "--format", "json"]) == 0
    changes = json.loads(capsys.readouterr().out)["changes"]
    added = [c for c in changes if c["rule"] == "FN-added"]
    assert added and added[0]["old_location"] is None
    assert added[0]["new_location"].endswith(":" + str(
        (project / "spec" / "worker_ffi.yaml").read_text().splitlines().index("functions:") + 2))


def test_diff_classifies_a_spec_that_fails_lint(project: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    _edit(project, '{name: ctx, type: "CudaContext*", direction: in, doc: "The context that '
          'will own the model."}', '{name: ctx, type: "CudaContext*", direction: in, '
          'nullable: true, doc: "The context that will own the model."}')
    _edit(project, "    group: model\n", "    group: no_such_group\n")
    status = main(["diff", "--against", "old.yaml"])
    captured = capsys.readouterr()
    assert status == 2  # the spec is invalid, and the report is there anyway
    assert "LINT-dangling-reference" in captured.err and "fails lint" in captured.err
    assert "FN-param-nullable-relaxed" in captured.out
