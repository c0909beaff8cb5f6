"""Render every artefact from the model: one template per artefact, a banner on each, and
deterministic, atomic writes that touch only files whose content changed."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePath
from types import MethodType
from typing import Any

import jinja2
import jinja2.runtime

from generator import __version__, rust
from generator.escape import FILTERS
from generator.http.openapi import render_openapi
from generator.lock.state import LockState
from generator.model import Spec, Targets
from generator.problems import Location, Problem, SpecError
from generator.usercache import cache_dir

REGENERATE = "ffispec generate"


@dataclass(frozen=True)
class Artefact:
    """One generated file: where it goes, which template makes it, how its comments look."""

    path: Callable[[Targets], str]
    template: str | None
    comment: str  # "c", "hash", "rust", "html", or "none" (JSON and other formats without comments)
    static_source: str | None = None  # copied verbatim from the package instead of rendered
    # Whether a spec gets this artefact at all (its targets: a boundary, Python bindings).
    wanted: Callable[[Targets], bool] = lambda t: True
    # Artefacts of an optional spec section (the HTTP service's OpenAPI document): the path the
    # section names, or None when the spec has no such section; `path` is then unused.
    section_path: Callable[[Spec], str | None] | None = None
    renderer: Callable[[Spec], str] | None = None  # built as data (JSON) instead of a template

    def target(self, spec: Spec) -> str:
        if self.section_path is not None:
            return self.section_path(spec) or ""
        return self.path(_targets(spec))

    def applies(self, spec: Spec) -> bool:
        if self.section_path is not None:
            return self.section_path(spec) is not None
        return self.wanted(_targets(spec))


def _targets(spec: Spec) -> Targets:
    assert spec.targets is not None, "a normalised spec always has targets"
    return spec.targets


# The header is first: the lock document prints its sha256. Paths are relative to --root.
ARTEFACTS: list[Artefact] = [
    Artefact(lambda t: t.header_path, "header.h.j2", "c"),
    Artefact(lambda t: f"{t.cpp_dir}/ffi_impl.hpp", "ffi_impl.hpp.j2", "c",
             wanted=lambda t: t.boundary),
    Artefact(lambda t: f"{t.cpp_dir}/ffi_exports.cpp", "ffi_exports.cpp.j2", "c",
             wanted=lambda t: t.boundary),
    Artefact(lambda t: f"{t.python_dir}/_cdef.h", "cdef.h.j2", "c",
             wanted=lambda t: t.python_package is not None),
    Artefact(lambda t: f"{t.python_dir}/_generated.py", "python_bindings.py.j2", "hash",
             wanted=lambda t: t.python_package is not None),
    Artefact(lambda t: f"{t.python_dir}/_ffi_build.py", "ffi_build.py.j2", "hash",
             wanted=lambda t: t.python_package is not None and t.contract_first),
    Artefact(lambda t: t.lock_document, "locked.md.j2", "html"),
    Artefact(lambda t: t.schema_copy, None, "none", static_source="schema.json"),
    *(Artefact(rust.crate_file(f), f"rust/{template}", comment, wanted=rust.wanted)
      for f, template, comment in rust.FILES),
    Artefact(lambda t: "", None, "none", renderer=render_openapi,
             section_path=lambda s: s.http.openapi_path if s.http is not None else None),
]


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates are cached per user: compiling them is most of a small spec's
    generation time. Keyed by template source, so an edited template recompiles."""
    directory = cache_dir(f"jinja-{jinja2.__version__}")
    return jinja2.FileSystemBytecodeCache(str(directory)) if directory is not None else None


class _Context(jinja2.runtime.Context):
    """Jinja's template context, with a direct path for the two kinds of call that make up
    nearly every call in these templates: methods of the model (`spec.python_method(fn)`) and
    macros. Neither asks for the context or the environment (`pass_context` and its kin), so
    the general check for those markers, a fifth of the time of rendering a large spec, is
    left out for them; any other callable takes the general path."""

    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - as in Jinja
        kind = type(__obj)
        if kind is jinja2.runtime.Macro or (
                kind is MethodType and not hasattr(__obj.__func__, "jinja_pass_arg")):
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
            try:
                return __obj(*args, **kwargs)
            except StopIteration:
                return __self.environment.undefined("value was undefined because a callable "
                                                    "raised a StopIteration exception")
        return super().call(__obj, *args, **kwargs)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        bytecode_cache=_bytecode_cache(),
        loader=jinja2.PackageLoader("generator", "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.context_class = _Context
    env.filters.update(FILTERS)
    env.filters["code_name"] = lambda key, spec: spec.errors.by_key(key).name
    rust.add_filters(env.filters)
    return env


def banner(spec: Spec, style: str, regenerate: str = REGENERATE) -> str:
    lines = [
        f"Generated by ffispec {__version__} from {spec.source} "
        f"(sha256 {spec.sha256}).",
        f"Contract {spec.interface.name} {spec.interface.version}, contract hash "
        f"{spec.contract_hash}.",
        f"Do not edit: change the spec and regenerate with `{regenerate}`.",
    ]
    if style == "c":
        return "/*\n" + "\n".join(f" * {line}" for line in lines) + "\n */\n"
    if style == "hash":
        return "\n".join(f"# {line}" for line in lines) + "\n"
    if style == "rust":
        return "\n".join(f"// {line}" for line in lines) + "\n"
    if style == "html":
        return "<!--\n" + "\n".join(lines) + "\n-->\n"
    return ""


def render_all(spec: Spec, extra_context: dict[str, object] | None = None,
               artefacts: list[Artefact] | None = None) -> dict[str, str]:
    """Path (relative to the project root) -> the exact text that belongs there."""
    env = environment()
    rust_view = rust.RustView(spec)
    out: dict[str, str] = {}
    for art in artefacts if artefacts is not None else ARTEFACTS:
        if not art.applies(spec):
            continue
        target = art.target(spec)
        if art.renderer is not None:
            text = art.renderer(spec)
        elif art.static_source is not None:
            text = resources.files("generator").joinpath(art.static_source).read_text("utf-8")
        else:
            assert art.template is not None
            body = env.get_template(art.template).render(spec=spec, rs=rust_view,
                                                         **(extra_context or {}))
            text = banner(spec, art.comment) + body
        out[target] = text
    return out


def render_header(spec: Spec) -> str:
    """The C header; it does not depend on the lock, and the lock records its sha256."""
    path = spec.interface.header.path
    return render_all(spec, {}, [a for a in ARTEFACTS if a.target(spec) == path])[path]


def rendered_artefacts(spec: Spec, lock: LockState, header: str | None = None) -> dict[str, str]:
    """Every artefact's text: a pure function of the model and the lock state. The header
    (pass it when already rendered) comes first because the lock document prints its sha256."""
    header_path = spec.interface.header.path
    header_text = render_header(spec) if header is None else header
    context = {
        "lock": lock,
        "header_sha256": hashlib.sha256(header_text.encode("utf-8")).hexdigest(),
    }
    rest = [a for a in ARTEFACTS if a.target(spec) != header_path]
    return {header_path: header_text, **render_all(spec, context, rest)}


def inside_root(root: Path, relpath: str) -> Path:
    """root/relpath, refused (SPEC-output-path) unless it is a relative path that stays inside
    root once symbolic links are followed. The schema refuses such paths in a spec already;
    this is the writer's own guard."""
    target = root / relpath
    if PurePath(relpath).is_absolute() or not target.resolve().is_relative_to(root.resolve()):
        raise SpecError([Problem("SPEC-output-path", f"{relpath!r} is outside the project root "
                                 f"{str(root)!r}; nothing was written", Location(relpath, 1, 1),
                                 hint="output paths in the spec are relative to --root and stay "
                                 "inside it")])
    return target


def write_if_changed(root: Path, relpath: str, text: str) -> bool:
    """Atomically replace root/relpath with text if it differs; return whether it changed."""
    target = inside_root(root, relpath)
    data = text.encode("utf-8")
    try:
        if target.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def write_all(root: Path, texts: dict[str, str]) -> list[str]:
    """Write every changed file (all paths are checked before the first write); the paths
    that changed."""
    for rel in texts:
        inside_root(root, rel)
    return [rel for rel, text in texts.items() if write_if_changed(root, rel, text)]


def stale_files(root: Path, rendered: dict[str, str]) -> list[str]:
    """Committed artefacts that differ from what the spec generates (or are missing)."""
    stale = []
    for rel, text in rendered.items():
        try:
            if inside_root(root, rel).read_bytes() != text.encode("utf-8"):
                stale.append(rel)
        except FileNotFoundError:
            stale.append(rel)
    return stale
