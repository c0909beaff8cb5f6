"""Facts the Rust bindings need, derived once from the model: crate layout, Rust names and
types, which functions become which kind of safe method, and the escaping of text that lands
in Rust source. The templates under `templates/rust/` only print what this module computes.

Nothing here names a particular interface: every decision reads the spec's handles, roles,
error channels and thread-safety rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from generator.model import CType, Function, Handle, Param, Spec, Targets

# Rust's strict and reserved keywords; `self`, `Self`, `super` and `crate` cannot be raw
# identifiers, so those get a trailing underscore instead of `r#`.
_RUST_KEYWORDS = frozenset(
    "as break const continue crate else enum extern false fn for if impl in let loop match mod "
    "move mut pub ref return self Self static struct super trait true type unsafe use where while "
    "async await dyn abstract become box do final macro override priv typeof unsized virtual "
    "yield try gen".split())
_NOT_RAW = frozenset({"self", "Self", "super", "crate"})

_MARKDOWN_BLOCK = re.compile(r"^([#>|=+*-]|\d+[.)])(\s|$)")

_RUST_SCALARS = {
    "int": "c_int", "int32_t": "i32", "int64_t": "i64", "uint32_t": "u32", "uint64_t": "u64",
    "size_t": "usize", "float": "f32", "double": "f64", "bool": "bool", "char": "c_char",
    "void": "c_void",
}

# The oldest Rust the generated crates are written for (OnceLock-free std only, edition 2021,
# `CStr::from_bytes_until_nul` since 1.69).
MSRV = "1.70"

# Capacity of the text buffer a stream writes into, when the spec gives no larger minimum.
STREAM_BUFFER_BYTES = 4096


def ident(name: str) -> str:
    """A spec name as a Rust identifier (keywords escaped)."""
    if name in _NOT_RAW:
        return name + "_"
    return f"r#{name}" if name in _RUST_KEYWORDS else name


def camel(name: str) -> str:
    """`VRAM_OOM` / `max_tokens` -> `VramOom` / `MaxTokens`."""
    return "".join(part[:1].upper() + part[1:].lower() for part in name.split("_") if part)


@lru_cache(maxsize=4096)
def doc_lines(text: str, prefix: str = "/// ", hang: str = "", width: int = 96) -> str:
    """Text as Rust doc-comment lines. Whitespace (every line break included) collapses to one
    space, so no line starts with indentation or a fence; backtick runs that could open a code
    block (and so a doctest) are broken up; control characters are written as escapes; a
    wrapped line never starts with a Markdown block marker (`#`, `-`, `1.`, `>`, ...), which
    would turn prose into a heading or a list. `hang` indents continuation lines (list items)."""
    text = " ".join(str(text).split())
    if not text.isprintable():
        text = "".join(c if c.isprintable() else f"\\u{{{ord(c):x}}}" for c in text)
    while "```" in text:
        text = text.replace("```", "`\u200b``")
    if not text:
        return prefix.rstrip()
    lines = _wrap_words(text.split(" "), width - len(prefix) - len(hang))
    for i in range(len(lines) - 1, 0, -1):
        while lines[i] and _MARKDOWN_BLOCK.match(lines[i]):
            head, _, rest = lines[i].partition(" ")
            lines[i - 1] += " " + head
            lines[i] = rest
    lines = [line for line in lines if line]
    match = _MARKDOWN_BLOCK.match(lines[0])
    if match and not hang:  # a list item of our own templates passes a hang
        cut = match.end(1) - 1
        lines[0] = lines[0][:cut] + "\\" + lines[0][cut:]
    return "\n".join((prefix + (hang if i else "") + line).rstrip()
                     for i, line in enumerate(lines))


def _wrap_words(words: list[str], width: int) -> list[str]:
    """Greedy wrap of single-space-separated words; a word longer than `width` stays whole."""
    lines: list[str] = []
    current = ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines


def string_literal(text: str) -> str:
    """A Rust string literal holding exactly `text`."""
    out = []
    for c in str(text):
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif not c.isprintable():
            out.append(f"\\u{{{ord(c):x}}}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


@dataclass(frozen=True)
class Method:
    """One function as the safe layer exposes it."""

    fn: Function
    kind: str  # "create", "stream", "call"
    receiver: str | None  # handle name, None for the library object
    name: str  # Rust method name


# (file inside the crate, template under templates/rust/, banner style)
FILES = (
    ("Cargo.toml", "Cargo.toml.j2", "hash"),
    ("build.rs", "build.rs.j2", "rust"),
    ("src/lib.rs", "lib.rs.j2", "rust"),
    ("src/raw.rs", "raw.rs.j2", "rust"),
    ("src/error.rs", "error.rs.j2", "rust"),
)


def crate_file(name: str) -> Callable[[Targets], str]:
    """Where `name` (a path inside the crate) goes."""
    return lambda targets: f"{targets.rust_dir}/{name}"


def wanted(targets: Targets) -> bool:
    """Whether the spec asks for Rust bindings (targets.rust.enabled)."""
    return targets.rust_crate is not None


def add_filters(filters: dict[str, Any]) -> None:
    """The Jinja filters the Rust templates use for text that lands in Rust source."""
    filters.update(rust_doc=doc_lines, rust_str=string_literal, rust_ident=ident, camel=camel)


class RustView:
    """The Rust reading of one spec; templates receive it as `rs`."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    # -------------------------------------------------------------- crate and linking
    @property
    def _targets(self) -> Targets:
        assert self.spec.targets is not None, "a normalised spec always has targets"
        return self.spec.targets

    @property
    def crate_name(self) -> str:
        return self._targets.rust_crate or self.spec.interface.name

    @property
    def crate_dir(self) -> str:
        return self._targets.rust_dir

    @property
    def link_name(self) -> str:
        """The native library linked (`-l` name)."""
        return self._targets.native_library

    @property
    def lib_dir_env(self) -> str:
        return f"{self.crate_name.upper()}_LIB_DIR"

    @property
    def rebuild_command(self) -> str:
        return f"ffispec generate --spec {self.spec.source}"

    # ---------------------------------------------------------------------- types
    def raw_type(self, ctype: CType) -> str:
        base = ctype.base if self._is_handle(ctype.base) else _RUST_SCALARS.get(ctype.base,
                                                                                 ctype.base)
        if not ctype.pointer:
            return "()" if base == "c_void" else base
        return f"*{'const' if ctype.const else 'mut'} {base}"

    def _is_handle(self, name: str) -> bool:
        return any(h.name == name for h in self.spec.handles)

    def enum_name(self, fn: Function, p: Param | None = None) -> str:
        """Rust enum of a parameter's allowed values or of a function's result values."""
        if p is not None:
            return camel(p.name)
        return camel(self.spec.python_method(fn))

    def safe_param_type(self, fn: Function, p: Param) -> str:
        if p.ctype.is_string:
            return "&str"
        if p.allowed:
            return self.enum_name(fn, p)
        if p.handle:
            cls = self.class_name(p.handle)
            return f"&{cls}{self.lifetime_args(p.handle)}"
        return self.raw_type(p.ctype)

    def class_name(self, handle: str) -> str:
        return self.spec.python_class(handle)

    def lifetime_args(self, handle: str) -> str:
        return "<'_>" if self.spec.handle(handle).parent else ""

    def lifetime_params(self, handle: str) -> str:
        return "<'p>" if self.spec.handle(handle).parent else ""

    # -------------------------------------------------------------- roles and errors
    def role(self, role: str) -> Function | None:
        return next((f for f in self.spec.functions if f.role == role), None)

    @property
    def has_contract_roles(self) -> bool:
        return self.role("contract_hash") is not None

    @property
    def detail_fn(self) -> Function | None:
        return self.role("last_error_detail")

    @property
    def has_http(self) -> bool:
        return self.spec.errors.has_http

    def declared_codes(self, fn: Function) -> list[int]:
        return [self.spec.errors.by_key(k).value for k in fn.errors]

    def violation_code(self, p: Param) -> int:
        """The code of an argument the bindings refuse before the call: the parameter's
        violation key, else the table's; 0 when the spec names neither."""
        key = p.on_violation or self.spec.errors.violation
        return self.spec.errors.by_key(key).value if key else 0

    def fn_const(self, fn: Function) -> str:
        return "F_" + fn.name.upper()

    # ------------------------------------------------------------ method placement
    @cached_property
    def _methods(self) -> dict[str | None, tuple[Method, ...]]:
        out: dict[str | None, list[Method]] = {}
        for fn in self.spec.functions:
            if fn.destroys is not None or fn.alias_of is not None:
                continue
            if self.unsupported_reason(fn):
                continue
            receiver = self.spec.python_receiver(fn)
            kind = "create" if fn.creates else "call"
            if receiver and self.spec.python_stream(receiver) == fn:
                kind = "stream"
            out.setdefault(receiver, []).append(
                Method(fn, kind, receiver, ident(self.spec.python_method(fn))))
        return {k: tuple(v) for k, v in out.items()}

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
        if stream is None:
            return ()
        allowed = set(stream.fn.thread_safety.concurrent_with)
        return tuple(m for m in self.plain_methods(handle) if m.fn.name in allowed)

    def unsupported_reason(self, fn: Function) -> str:
        """Why the safe layer cannot express `fn` (it stays reachable through `raw`)."""
        receiver = self.spec.python_receiver(fn)
        stream = self.spec.python_stream(receiver) if receiver else None
        for p in fn.params:
            if p.is_error_out or (fn.handle_params and p is fn.handle_params[0]):
                continue
            if p.direction == "in" and (p.handle or p.ctype.is_string or not p.ctype.pointer):
                continue
            if p.direction == "out" and p.nullable and p.ctype.pointer and fn == stream:
                continue
            if p.ctype.is_char_buffer and fn == stream:
                continue
            if p.direction == "out" and fn.creates and not p.nullable and \
                    not p.ctype.is_char_buffer and p.ctype.base in _RUST_SCALARS:
                continue
            return f"parameter `{p.name}` ({p.ctype.c}, {p.direction}) has no safe mapping yet"
        if fn.returns.ctype.pointer and not fn.creates and not fn.returns.ctype.is_string:
            return f"returns {fn.returns.ctype.c}, which has no safe mapping yet"
        return ""

    @property
    def raw_only(self) -> tuple[tuple[Function, str], ...]:
        return tuple((f, self.unsupported_reason(f)) for f in self.spec.functions
                     if f.destroys is None and f.alias_of is None and self.unsupported_reason(f))

    def out_values(self, fn: Function) -> tuple[Param, ...]:
        return fn.python_out_values if fn.creates else ()

    def creator_out_values(self, handle: Handle) -> tuple[Param, ...]:
        return self.out_values(self.spec.function(handle.created_by))

    def safe_params(self, fn: Function) -> tuple[Param, ...]:
        return fn.python_params

    def capacity_param(self, fn: Function) -> Param | None:
        lens = {p.len for p in fn.params if p.len}
        return next((p for p in fn.params if p.name in lens), None)

    def stream_buffer_bytes(self, fn: Function) -> int:
        cap = self.capacity_param(fn)
        low = int(cap.range.min) if cap is not None and cap.range and cap.range.min else 1
        return max(low, STREAM_BUFFER_BYTES)

    # ------------------------------------------------------------- thread safety
    def is_sync(self, handle: Handle) -> bool:
        return handle.thread_safety == "safe"

    def thread_reason(self, handle: Handle) -> str:
        if self.is_sync(handle):
            return ("Send + Sync: the spec declares this handle `safe`: any of its calls may run "
                    "on any thread, concurrently with each other.")
        return ("Send, not Sync: the spec declares this handle `externally_synchronized`: its "
                "calls may be made from any thread but never two at once. Moving the handle to "
                "another thread is therefore allowed, sharing `&` references between threads is "
                "not, and the compiler enforces both.")

    def sample_args(self, fn: Function) -> str:
        """Placeholder arguments of the right types (for compile-only doc tests)."""
        args = []
        for p in self.safe_params(fn):
            if p.ctype.is_string:
                args.append('"x"')
            elif p.allowed:
                args.append(f"{self.crate_name}::{self.enum_name(fn, p)}::{camel(p.allowed[0].name)}")
            elif p.ctype.is_float:
                args.append("0.0")
            elif p.ctype.is_bool:
                args.append("false")
            else:
                args.append("0")
        return ", ".join(args)

    def constructor_path(self, handle: Handle) -> str:
        """`lib.init(0)`, `parent.load_model("x")`: how a doc test obtains the handle."""
        fn = self.spec.function(handle.created_by)
        owner = "parent" if handle.parent else "lib"
        return f"{owner}.{ident(self.spec.python_method(fn))}({self.sample_args(fn)})"

    def returns_result(self, m: Method) -> bool:
        return self.returns_result_fn(m.fn)

    def error_links(self, fn: Function) -> str:
        return ", ".join(f"[`ErrorKey::{camel(k)}`]" for k in fn.errors)

    def returns_result_fn(self, fn: Function) -> bool:
        """Whether the safe method returns `Result`: it can detect a failure (an error channel,
        or an error value plus a detail role), or it refuses arguments before the call."""
        if any(p.ctype.is_string for p in self.safe_params(fn)):
            return True
        if not fn.errors:
            return False
        return fn.has_error_channel or self.detects_by_value(fn)

    def detects_by_value(self, fn: Function) -> bool:
        """A function without error channel whose error value plus detail text tells failure."""
        return (not fn.has_error_channel and bool(fn.errors) and fn.returns.on_error is not None
                and self.detail_fn is not None and not fn.creates)

    def error_value_test(self, fn: Function) -> str:
        """Rust condition: the result equals the function's declared error value."""
        value = str(fn.returns.on_error)
        if fn.returns.ctype.is_bool:
            return "!result" if value == "false" else "result"
        if fn.returns.ctype.pointer:
            return "result.is_null()"
        return f"result == {value}"

    def value_type(self, m: Method) -> str:
        fn = m.fn
        if fn.creates:
            return self.class_name(fn.creates) + self.lifetime_args(fn.creates)
        if fn.returns.values:
            return self.enum_name(fn)
        if fn.returns.ctype.is_string:
            return "String"
        return self.raw_type(fn.returns.ctype)

    def ret_type(self, m: Method) -> str:
        value = self.value_type(m)
        return f"Result<{value}>" if self.returns_result(m) else value

    def convert(self, m: Method) -> str:
        fn = m.fn
        if fn.returns.values:
            return f"{self.enum_name(fn)}::from_raw(result)"
        if fn.returns.ctype.is_string:
            return "error::owned_text(result)"
        if fn.returns.ctype.is_void:
            return "()"
        return "result"

    def out_base(self, p: Param) -> str:
        return self.raw_type(CType(p.ctype.base))

    def destroy_args(self, handle: Handle) -> str:
        fn = self.spec.function(handle.destroyed_by)
        return ", ".join("self.raw.as_ptr()" if p.handle == handle.name and p.direction == "in"
                         else "core::ptr::null_mut()" for p in fn.params)

    @property
    def library_sync(self) -> bool:
        return all(m.fn.thread_safety.cls == "safe" for m in self.methods(None))

    def var(self, handle: str) -> str:
        return ident(self.class_name(handle).lower())

    def example(self) -> tuple[tuple[str, str, bool, bool], ...]:
        """(variable, expression, needs `?`, streams) from the library down the first chain
        of handles."""
        lines: list[tuple[str, str, bool, bool]] = []
        owner = "lib"
        handle = next((h for h in self.spec.handles if not h.parent), None)
        while handle is not None:
            fn = self.spec.function(handle.created_by)
            method = next((m for m in self.methods(self.spec.python_receiver(fn)) if m.fn == fn),
                          None)
            if method is None:
                break
            expr = f"{owner}.{method.name}({self.sample_args(fn)})"
            lines.append((self.var(handle.name), expr, self.returns_result(method),
                          self.stream(handle.name) is not None))
            owner = self.var(handle.name)
            handle = next(iter(self.spec.children_of(handle.name)), None)
        return tuple(lines)

    def busy_probe(self, handle: str) -> Method | None:
        """A no-argument method of `handle` that its remote does not carry."""
        remote = self.remote_methods(handle)
        return next((m for m in self.plain_methods(handle)
                     if m not in remote and not self.safe_params(m.fn)), None)

    msrv = MSRV

    def probe_method(self, handle: str) -> Method | None:
        """A method of `handle` taking no arguments (used by compile-only doc tests)."""
        return next((m for m in self.plain_methods(handle) if not self.safe_params(m.fn)), None)
