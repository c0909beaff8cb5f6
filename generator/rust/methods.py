"""Which function becomes which method of the safe Rust layer (or stays in `raw`), how each
method's signature, result and body are planned (the bodies by generator.rust.call), and how a
handle value is built and destroyed."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from generator.model import Function, Handle, Param, Spec
from generator.rust.call import Plan, detail_expr, stream_supported
from generator.rust.call import close_plan as plan_close
from generator.rust.call import plan as plan_call
from generator.rust.call import stream_call as plan_stream_call
from generator.rust.names import RustNames
from generator.rust.text import ident, snake

# Capacity of the text buffer a stream writes into, when the spec gives no larger minimum.
STREAM_BUFFER_BYTES = 4096


@dataclass(frozen=True)
class Method:
    """One function as the safe layer exposes it."""

    fn: Function
    kind: str  # "create", "stream", "call"
    receiver: str | None  # handle name, None for the library object
    name: str  # Rust method name


_SUPPORTED = frozenset({"receiver", "error_out", "out_handle", "fixed", "length", "handle",
                        "string", "int", "float", "bool", "null"})


class RustMethods(RustNames):
    """Method placement, call plans and handle values of the safe layer, over RustNames."""

    def __init__(self, spec: Spec) -> None:
        super().__init__(spec)
        self._plans: dict[tuple[str, str], Plan] = {}
        # Answers asked for again and again while rendering, by handle and by function name.
        self._streams: dict[str, Function | None] = {}
        self._unsupported: dict[str, str] = {}

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
            self._streams[handle] = fn if fn is not None and stream_supported(fn) else None
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

    def plan(self, m: Method, receiver: str = "self.raw") -> Plan:
        key = (m.fn.name, receiver)
        if key not in self._plans:
            self._plans[key] = plan_call(self, m, receiver)
        return self._plans[key]

    def close_plan(self, handle: str) -> Plan | None:
        return plan_close(self, handle)

    def stream_call(self, m: Method) -> str:
        return plan_stream_call(self, m.fn)

    def stream_detail(self, m: Method) -> str:
        return detail_expr(self, m.fn, "self.raw")

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
