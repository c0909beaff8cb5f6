"""The Rust bindings: facts derived once from the model (crate layout, Rust names and types,
which function becomes which safe method, Send/Sync), read by the templates under
`templates/rust/`. `text` escapes what lands in Rust source; `call` plans each method's body.

Nothing here names a particular interface: every decision reads the spec's handles, roles,
parameter bindings, error channels and thread-safety rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from generator.model import CType, Function, Handle, Param, Spec, Targets, TypeDecl
from generator.rust import call
from generator.rust.text import camel, doc_lines, ident, snake, string_literal

# The oldest Rust the generated crates are written for (edition 2021; `CStr::
# from_bytes_until_nul` is 1.69, `+verbatim` link modifiers 1.61).
MSRV = "1.70"

# Capacity of the text buffer a stream writes into, when the spec gives no larger minimum.
STREAM_BUFFER_BYTES = 4096

_RUST_SCALARS = {
    "int": "c_int", "signed int": "c_int", "unsigned int": "c_uint", "short": "c_short",
    "unsigned short": "c_ushort", "long": "c_long", "unsigned long": "c_ulong",
    "long long": "c_longlong", "unsigned long long": "c_ulonglong", "signed char": "c_schar",
    "unsigned char": "c_uchar", "char": "c_char", "float": "f32", "double": "f64",
    "bool": "bool", "void": "c_void", "size_t": "usize", "ptrdiff_t": "isize",
    "ssize_t": "isize", "intptr_t": "isize", "uintptr_t": "usize",
    **{f"int{n}_t": f"i{n}" for n in (8, 16, 32, 64)},
    **{f"uint{n}_t": f"u{n}" for n in (8, 16, 32, 64)},
}

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


@dataclass(frozen=True)
class Method:
    """One function as the safe layer exposes it."""

    fn: Function
    kind: str  # "create", "stream", "call"
    receiver: str | None  # handle name, None for the library object
    name: str  # Rust method name


_SUPPORTED = frozenset({"receiver", "error_out", "out_handle", "fixed", "length", "handle",
                        "string", "int", "float", "bool", "null"})


class RustView:
    """The Rust reading of one spec; templates receive it as `rs`."""

    msrv = MSRV

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._plans: dict[tuple[str, str], call.Plan] = {}
        # Answers asked for again and again while rendering, by handle and by function name.
        self._streams: dict[str, Function | None] = {}
        self._unsupported: dict[str, str] = {}

    # -------------------------------------------------------------- crate and linking
    @property
    def targets(self) -> Targets:
        assert self.spec.targets is not None, "a normalised spec always has targets"
        return self.spec.targets

    @property
    def crate_name(self) -> str:
        return self.targets.rust_crate or self.spec.interface.name

    @property
    def crate_dir(self) -> str:
        return self.targets.rust_dir

    @property
    def link_name(self) -> str:
        return self.targets.native_library

    @property
    def lib_dir_env(self) -> str:
        return f"{self.crate_name.upper()}_LIB_DIR"

    @property
    def rebuild_command(self) -> str:
        return f"ffispec generate --spec {self.spec.source}"

    # ---------------------------------------------------------------------- types
    def raw_type(self, ctype: CType, scope: str = "") -> str:
        """The Rust spelling of a C type; `scope` ("raw::") qualifies the raw layer's names
        when the safe layer prints it."""
        if ctype.base in self._handle_names or self.spec.type_decl(ctype.base) is not None:
            base = scope + ctype.base
        else:
            base = _RUST_SCALARS.get(ctype.base, ctype.base)
        if not ctype.pointer:
            return "()" if base == "c_void" else base
        levels = list(ctype.levels)
        text = f"*{'const' if ctype.const else 'mut'} {base}"
        for const in levels[:-1]:  # outer pointer levels: const where that pointer is const
            text = f"*{'const' if const else 'mut'} {text}"
        return text

    def decl_type(self, decl: TypeDecl) -> str:
        """The Rust definition of a spec-declared type (not a struct) in the raw layer."""
        if decl.kind == "callback":
            return "*const c_void"
        if decl.kind == "alias" and decl.aliased is not None:
            return self.raw_type(decl.aliased)
        return "c_int"  # a C enum: int-sized on the ABIs the toolkit targets

    @cached_property
    def _handle_names(self) -> frozenset[str]:
        return frozenset(h.name for h in self.spec.handles)

    def out_base(self, p: Param) -> str:
        return self.raw_type(p.ctype.pointee, "raw::")

    def enum_name(self, fn: Function, p: Param | None = None) -> str:
        """Rust enum of a parameter's allowed values or of a function's result values."""
        return camel(p.name) if p is not None else camel(self.spec.python_method(fn))

    def class_name(self, handle: str) -> str:
        return self.spec.python_class(handle)

    def lifetime_args(self, handle: str) -> str:
        return "<'_>" if self.spec.handle(handle).parent else ""

    def lifetime_params(self, handle: str) -> str:
        return "<'p>" if self.spec.handle(handle).parent else ""

    @staticmethod
    def local(p: Param) -> str:
        return snake(p.name)

    # -------------------------------------------------------------- roles and errors
    def role(self, role: str) -> Function | None:
        return next((f for f in self.spec.functions if f.role == role), None)

    @property
    def has_contract_roles(self) -> bool:
        return self.role("contract_hash") is not None

    @property
    def has_http(self) -> bool:
        return self.spec.errors.has_http

    @property
    def detail_functions(self) -> tuple[tuple[Function, str | None], ...]:
        """Every function a channel reads detail text from, with the handle it takes."""
        seen: dict[str, str | None] = {}
        for fn in self.spec.functions:
            ch = fn.channel
            if ch.detail_from and ch.detail_from not in seen:
                seen[ch.detail_from] = ch.detail_handle if ch.scope == "handle" else None
        return tuple((self.spec.function(name), h) for name, h in seen.items())

    @property
    def has_detail(self) -> bool:
        return bool(self.detail_functions)

    def declared_codes(self, fn: Function) -> list[int]:
        return [self.spec.errors.by_key(k).value for k in fn.errors]

    def violation_code(self, p: Param) -> int:
        """Code of an argument the bindings refuse before the call: the parameter's violation
        key, else the table's; 0 when the spec names neither."""
        key = p.on_violation or self.spec.errors.violation
        return self.spec.errors.by_key(key).value if key else 0

    def fn_const(self, fn: Function) -> str:
        return "F_" + fn.name.upper()

    def error_links(self, fn: Function) -> str:
        return ", ".join(f"[`ErrorKey::{camel(k)}`]" for k in fn.errors)

    def error_value_test(self, fn: Function) -> str:
        value = str(fn.channel.sentinel or fn.returns.on_error)
        if fn.returns.ctype.is_bool:
            return "!result" if value == "false" else "result"
        if fn.returns.ctype.pointer:
            return "result.is_null()"
        return f"result == {value}"

    # ------------------------------------------------------------ method placement
    @staticmethod
    def receiver(fn: Function) -> str | None:
        return next((p.handle for p in fn.params if p.binding == "receiver"), None)

    @cached_property
    def _methods(self) -> dict[str | None, tuple[Method, ...]]:
        out: dict[str | None, list[Method]] = {}
        for fn in self.spec.functions:
            if fn.destroys is not None or fn.alias_of is not None or self.unsupported_reason(fn):
                continue
            receiver = self.receiver(fn)
            kind = "create" if fn.creates else "call"
            if receiver and self._stream_fn(receiver) == fn:
                kind = "stream"
            out.setdefault(receiver, []).append(
                Method(fn, kind, receiver, ident(self.spec.python_method(fn))))
        return {k: tuple(v) for k, v in out.items()}

    def _stream_fn(self, handle: str) -> Function | None:
        if handle not in self._streams:
            fn = self.spec.python_stream(handle)
            self._streams[handle] = fn if fn is not None and call.stream_supported(fn) else None
        return self._streams[handle]

    def methods(self, receiver: str | None) -> tuple[Method, ...]:
        return self._methods.get(receiver, ())

    def plain_methods(self, receiver: str | None) -> tuple[Method, ...]:
        return tuple(m for m in self.methods(receiver) if m.kind != "stream")

    def stream(self, handle: str) -> Method | None:
        return next((m for m in self.methods(handle) if m.kind == "stream"), None)

    def remote_methods(self, handle: str) -> tuple[Method, ...]:
        """Calls the spec allows concurrently with the handle's stream: they go on the
        handle's Send + Sync remote, obtained together with the stream by `split()`."""
        stream = self.stream(handle)
        allowed = set(stream.fn.thread_safety.concurrent_with) if stream else set()
        return tuple(m for m in self.plain_methods(handle) if m.fn.name in allowed)

    def unsupported_reason(self, fn: Function) -> str:
        """Why the safe layer cannot express `fn` (it stays reachable through `raw`)."""
        if fn.name not in self._unsupported:
            self._unsupported[fn.name] = self._unsupported_reason(fn)
        return self._unsupported[fn.name]

    def _unsupported_reason(self, fn: Function) -> str:
        if self.receiver(fn) and self._stream_fn(self.receiver(fn) or "") == fn:
            return ""
        for p in fn.params:
            if p.binding == "out_value" and fn.creates:
                continue
            if p.binding == "out_handle" and p.handle != fn.creates:
                return f"parameter `{p.name}` writes a handle this function does not create"
            if p.binding not in _SUPPORTED:
                return f"parameter `{p.name}` ({p.ctype.c}, {p.binding}) has no safe mapping yet"
        r = fn.returns.ctype
        if r.pointer and not fn.creates and not r.is_string:
            return f"returns {r.c}, which has no safe mapping yet"
        if fn.creates and fn.created_out is None and fn.returns.handle != fn.creates:
            return "creates a handle neither returned nor written through an out-parameter"
        return ""

    @cached_property
    def raw_only(self) -> tuple[tuple[Function, str], ...]:
        return tuple((f, self.unsupported_reason(f)) for f in self.spec.functions
                     if f.destroys is None and f.alias_of is None and self.unsupported_reason(f))

    def plan(self, m: Method, receiver: str = "self.raw") -> call.Plan:
        key = (m.fn.name, receiver)
        if key not in self._plans:
            self._plans[key] = call.plan(self, m, receiver)
        return self._plans[key]

    def close_plan(self, handle: str) -> call.Plan | None:
        return call.close_plan(self, handle)

    def stream_call(self, m: Method) -> str:
        return call.stream_call(self, m.fn)

    def stream_detail(self, m: Method) -> str:
        return call.detail_expr(self, m.fn, "self.raw")

    def stream_buffer_bytes(self, fn: Function) -> int:
        cap = next((p for p in fn.params if p.binding == "capacity"), None)
        low = int(cap.range.min) if cap is not None and cap.range and cap.range.min else 1
        return max(low, STREAM_BUFFER_BYTES)

    def value_type(self, m: Method) -> str:
        fn = m.fn
        if fn.creates:
            cls = self.class_name(fn.creates) + self.lifetime_args(fn.creates)
            out = fn.created_out
            return f"Option<{cls}>" if out is not None and out.null_means else cls
        if fn.channel.is_status:
            return "ErrorKey" if len(fn.channel.success_values) > 1 else "()"
        if fn.returns.values:
            return self.enum_name(fn)
        if fn.returns.ctype.is_string:
            return "Option<String>" if fn.returns.nullable else "String"
        return self.raw_type(fn.returns.ctype, "raw::")

    def convert(self, m: Method) -> str:
        fn = m.fn
        if fn.channel.is_status:
            return "ErrorKey::from_code(result)" if len(fn.channel.success_values) > 1 else "()"
        if fn.returns.values:
            return f"{self.enum_name(fn)}::from_raw(result)"
        if fn.returns.ctype.is_string:
            return "error::optional_text(result.cast())" if fn.returns.nullable else \
                "error::owned_text(result.cast())"
        return "()" if fn.returns.ctype.is_void else "result"

    def returns_result(self, m: Method) -> bool:
        return self.plan(m).returns.startswith("Result<")

    # -------------------------------------------------------------- handles
    def creator_out_values(self, handle: Handle) -> tuple[Param, ...]:
        fn = self.spec.function(handle.created_by)
        return tuple(p for p in fn.params if p.binding == "out_value")

    @cached_property
    def _ancestors_needed(self) -> dict[str, str]:
        """Handle -> the strict ancestor whose detail text its calls read (stored in it)."""
        needed: dict[str, str] = {}
        for fn in self.spec.functions:
            h, ch = self.receiver(fn) or fn.destroys, fn.channel
            if h and ch.scope == "handle" and ch.detail_handle and ch.detail_handle != h and \
                    ch.detail_handle in self.spec.ancestors(h):
                for mid in self.spec.ancestors(h)[:self.spec.ancestors(h).index(ch.detail_handle)]:
                    needed[mid] = ch.detail_handle
        return needed

    def ancestor(self, handle: str) -> str | None:
        return self._ancestors_needed.get(handle)

    def handle_init(self, handle: Handle, receiver: str) -> str:
        fields = ["raw"] + [snake(p.name) for p in self.creator_out_values(handle)]
        anc = self.ancestor(handle.name)
        if anc is not None:
            src = receiver if anc == handle.parent else receiver.rsplit(".", 1)[0] + ".ancestor"
            fields.append(f"ancestor: {src}")
        if handle.parent:
            fields.append("_parent: PhantomData")
        return f"{self.class_name(handle.name)} {{ {', '.join(fields)} }}"

    def destroy_args(self, handle: Handle) -> str:
        fn = self.spec.function(handle.destroyed_by)
        return ", ".join("self.raw.as_ptr()" if p.binding == "receiver" else "core::ptr::null_mut()"
                         for p in fn.params)

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
