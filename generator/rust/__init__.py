"""The Rust bindings: facts derived once from the model (crate layout, Rust names and types,
which function becomes which safe method, Send/Sync), read by the templates under
`templates/rust/`. `text` escapes what lands in Rust source; `call` plans each method's body.

Nothing here names a particular interface: every decision reads the spec's handles, roles,
parameter bindings, error channels and thread-safety rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from generator.model import Function, Handle, Targets
from generator.rust.methods import Method, RustMethods
from generator.rust.text import camel, doc_lines, ident, string_literal

# The oldest Rust the generated crates are written for (edition 2021; `CStr::
# from_bytes_until_nul` is 1.69, `+verbatim` link modifiers 1.61).
MSRV = "1.70"

# (file inside the crate, template under templates/rust/, banner style)
FILES = (
    ("Cargo.toml", "Cargo.toml.j2", "hash"),
    ("build.rs", "build.rs.j2", "rust"),
    ("src/lib.rs", "lib.rs.j2", "rust"),
    ("src/raw.rs", "raw.rs.j2", "rust"),
    ("src/error.rs", "error.rs.j2", "rust"),
)

__all__ = ["FILES", "MSRV", "RustView", "add_filters", "crate_file", "wanted"]


def crate_file(name: str) -> Callable[[Targets], str]:
    """Where `name` (a path inside the crate) goes."""
    return lambda targets: f"{targets.rust_dir}/{name}"


def wanted(targets: Targets) -> bool:
    """Whether the spec asks for Rust bindings (targets.rust.enabled)."""
    return targets.rust_crate is not None


def add_filters(filters: dict[str, Any]) -> None:
    """The Jinja filters the Rust templates use for text that lands in Rust source."""
    filters.update(rust_doc=doc_lines, rust_str=string_literal, rust_ident=ident, camel=camel)


class RustView(RustMethods):
    """The Rust reading of one spec; templates receive it as `rs`. Names and types come from
    RustNames (names.py); method placement, call plans and handle values from RustMethods
    (methods.py); thread safety and the doc tests' examples are here."""

    msrv = MSRV

    # ------------------------------------------------------------- thread safety
    def is_sync(self, handle: Handle) -> bool:
        return handle.thread_safety == "safe" and self.is_send(handle)

    def is_send(self, handle: Handle) -> bool:
        anc = self.ancestor(handle.name)
        return anc is None or self.spec.handle(anc).thread_safety == "safe"

    def thread_reason(self, handle: Handle) -> str:
        anc = self.ancestor(handle.name)
        if not self.is_send(handle):
            return (f"Neither Send nor Sync: its calls read the error detail of its ancestor "
                    f"`{anc}`, whose calls the spec declares `{self.spec.handle(str(anc)).thread_safety}`;"
                    " the handle must stay on the thread that uses the ancestor.")
        if self.is_sync(handle):
            return ("Send + Sync: the spec declares this handle `safe`: any of its calls may run "
                    "on any thread, concurrently with each other.")
        return ("Send, not Sync: the spec declares this handle `externally_synchronized`: its "
                "calls may be made from any thread but never two at once. Moving the handle to "
                "another thread is therefore allowed, sharing `&` references between threads is "
                "not, and the compiler enforces both.")

    @property
    def library_sync(self) -> bool:
        return all(m.fn.thread_safety.cls == "safe" for m in self.methods(None))

    # --------------------------------------------------------- doc-test helpers
    def sample_args(self, fn: Function) -> str:
        """Placeholder arguments of the right types (for compile-only doc tests)."""
        args = []
        for p in fn.params:
            b = p.binding
            if b == "string":
                args.append('None' if p.nullable else '"x"')
            elif b in ("int", "float", "bool") and p.allowed:
                args.append(f"{self.crate_name}::{self.enum_name(fn, p)}::{camel(p.allowed[0].name)}")
            elif b == "float":
                args.append("0.0")
            elif b == "bool":
                args.append("false")
            elif b == "int":
                args.append("0")
            elif b == "handle":
                return ""  # not constructible in a doc test
        return ", ".join(args)

    def constructor(self, handle: Handle, owner: str) -> str | None:
        """`owner.load_model("x")?` (with `?` and `.unwrap()` for an optional handle), or None
        when a doc test cannot build it."""
        fn = self.spec.function(handle.created_by)
        m = next((m for m in self.methods(self.receiver(fn)) if m.fn == fn), None)
        if m is None or any(p.binding == "handle" for p in fn.params):
            return None
        text = f"{owner}.{m.name}({self.sample_args(fn)})"
        if self.returns_result(m):
            text += "?"
        return text + (".unwrap()" if self.value_type(m).startswith("Option<") else "")

    def probe_method(self, handle: str) -> Method | None:
        """A method of `handle` taking no arguments (used by compile-only doc tests)."""
        return next((m for m in self.plain_methods(handle) if not self.plan(m).signature), None)

    def busy_probe(self, handle: str) -> Method | None:
        remote = self.remote_methods(handle)
        return next((m for m in self.plain_methods(handle)
                     if m not in remote and not self.plan(m).signature), None)

    def var(self, handle: str) -> str:
        return ident(self.class_name(handle).lower())

    def example(self) -> tuple[tuple[str, str, bool], ...]:
        """(variable, expression, streams) from the library down the first chain of handles."""
        lines: list[tuple[str, str, bool]] = []
        owner = "lib"
        handle = next((h for h in self.spec.handles if not h.parent), None)
        while handle is not None:
            expr = self.constructor(handle, owner)
            if expr is None:
                break
            lines.append((self.var(handle.name), expr, self.stream(handle.name) is not None))
            owner = self.var(handle.name)
            handle = next(iter(self.spec.children_of(handle.name)), None)
        return tuple(lines)
