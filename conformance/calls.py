"""The one call wrapper: every native call the suite makes goes through Caller.call.

For each call it poisons the out-parameters, calls, reads them back and checks what the spec
promises for *every* call of that function (OpenXR-CTS style): the code is OK or declared, the
result on error is the declared one, out-parameters are written as promised, the thread-local
detail is empty after a success and set after a failure. It also records the call, so any
failure can print the call sequence as a Python script and as a C program, and it tells the
coverage observer which codes each function reported.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance import contract, isolation, stats
from conformance.hooks import Hooks
from conformance.library import Library
from conformance.rules import RuleBook
from conformance.violations import ContractViolation
from generator.model import Function, Param, Spec

POISON_INT = -0x21524111  # 0xDEADBEEF as a signed int
POISON_U64 = 0xA5A5A5A5A5A5A5A5
POISON_BYTE = 0xA5  # a UTF-8 continuation byte: never a valid start of a piece


class _Null:
    def __repr__(self) -> str:
        return "NULL"


NULL = _Null()


class _Out:
    def __repr__(self) -> str:
        return "OUT"


OUT = _Out()  # allocate the out-parameter and poison it (the default)
UNWRITTEN = "<unwritten>"  # an out-parameter still holding its poison


@dataclass(frozen=True)
class Buf:
    """A caller buffer of `size` bytes for a `char*` out-parameter."""

    size: int


@dataclass(eq=False)
class HandleRef:
    """A handle the suite holds: the native value, the handle type, a name for replays."""

    type: str
    cdata: Any
    name: str
    value: int
    destroyed: bool = False  # passed to its destroyer (the suite never destroys it again)


@dataclass(frozen=True)
class Forged:
    """A handle value no implementation ever issued."""

    type: str
    value: int


@dataclass
class Outcome:
    fn: Function
    ret: Any
    code: int | None  # None when the function has no error channel or it was passed NULL
    outs: dict[str, Any]
    detail: str
    success: frozenset[int] = frozenset({0})  # the codes that are not failures

    @property
    def ok(self) -> bool:
        if self.code is not None:
            return self.code in self.success
        return self.detail == ""

    @property
    def handle(self) -> HandleRef | None:
        """The handle a creator made: its result, or what it wrote through its out-handle."""
        if isinstance(self.ret, HandleRef):
            return self.ret
        return next((v for v in self.outs.values() if isinstance(v, HandleRef)), None)


@dataclass(frozen=True)
class Fixed:
    """A named constant the spec says to pass (`fixed: SQLITE_TRANSIENT`)."""

    name: str
    value: int


def fixed_value(spec: Spec, p: Param) -> Fixed:
    """The named constant a `fixed:` parameter always receives."""
    decl = spec.type_decl(p.ctype.base) if hasattr(spec, "type_decl") else None
    for c in getattr(decl, "constants", ()) if decl is not None else ():
        if c.name == p.fixed:
            return Fixed(c.name, c.value)
    raise LookupError(f"{p.name}: fixed constant {p.fixed} is not declared by type {p.ctype.base}")


def channel_kind(fn: Function) -> str:
    """out_param | status | sentinel | none (the model's resolved error channel)."""
    ch = getattr(fn, "channel", None)
    if ch is not None and ch.kind != "none" and (fn.fallible or ch.kind == "out_param"):
        return ch.kind  # a function that declares no error cannot report one
    return "out_param" if fn.error_param is not None else "none"


def has_error_out_param(fn: Function) -> bool:
    """True when the function writes its code through an `int*` error out-parameter (which a
    caller may pass as NULL). Not the same as having an error channel: a returned status code
    or a sentinel is one too (`channel_kind`)."""
    return fn.error_param is not None


def success_codes(fn: Function) -> frozenset[int]:
    ch = getattr(fn, "channel", None)
    values = getattr(ch, "success_values", ()) if ch is not None else ()
    return frozenset(values) or frozenset({0})


def float32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0] if math.isfinite(x) else x


class Trace:
    """The calls of the current example as replay lines. A prelude (fixture setup) is kept
    across examples; `begin_example` drops everything after it."""

    def __init__(self) -> None:
        self.py: list[str] = []
        self.c: list[str] = []
        self.c_decls: list[str] = []
        self._mark = (0, 0, 0)
        self._n = 0

    def fresh(self, stem: str) -> str:
        self._n += 1
        return f"{stem}{self._n}"

    def add(self, py: str, c: list[str]) -> None:
        self.py.append(py)
        self.c.extend(c)
        _record(py + "\n")

    def note(self, text: str) -> None:
        self.py.append(f"# {text}")
        self.c.append(f"/* {text} */")

    def end_prelude(self) -> None:
        self._mark = (len(self.py), len(self.c), len(self.c_decls))

    def begin_example(self) -> None:
        py, c, d = self._mark
        del self.py[py:], self.c[c:], self.c_decls[d:]
        _record("#--example\n")
        stats.example(self._test)

    _test = "?"

    def rule(self, rule_id: str) -> None:
        """Name the rule the next calls are about, for a crash report."""
        _record(f"# rule: {rule_id}\n")


def _record(text: str) -> None:
    """Flight recorder: in a forked child every line survives a crash of the process."""
    if isolation.RECORDER_FD is not None:
        os.write(isolation.RECORDER_FD, text.encode())


class Caller:
    """Calls functions of one library by spec name with checked, recorded semantics."""

    def __init__(self, library: Library, spec: Spec, rules: RuleBook,
                 observe: Callable[[str, str], None] | None = None, test: str = "?"):
        self.library = library
        self.ffi = library.ffi
        self.lib = library.lib
        self.spec = spec
        self.rules = rules
        self.functions = {f.name: f for f in spec.functions}
        self.codes = {c.value: c for c in spec.errors.codes}
        self.keys = {c.key: c.value for c in spec.errors.codes}
        self.observe = observe or stats.observe
        self.trace = Trace()
        self.trace._test = test
        self.hooks = contract.hooks() if spec is contract.load() else Hooks(spec)
        self.plugin = contract.plugin() if spec is contract.load() else None
        detail_fn = next((f for f in spec.functions if f.role == "last_error_detail"), None)
        self.has_detail = detail_fn is not None
        self._detail_fn = getattr(self.lib, detail_fn.name) if detail_fn is not None else None
        # State the current example changed, undone before the next one starts.
        self.armed: dict[str, dict[str, Any]] = {}   # fault hook -> the handle args it was armed on
        self.created: list[tuple[HandleRef, HandleRef | None]] = []  # (handle, parent handle)
        self.gone: set[int] = set()  # id() of handles destroyed (directly or by cascade)

    # ------------------------------------------------------------------ examples
    def end_prelude(self) -> None:
        """The fixtures are built: what exists now is the state every example starts from."""
        self.trace.end_prelude()
        self.created.clear()
        self.gone.clear()

    def begin_example(self) -> None:
        """Start a Hypothesis example from the known state: disarm every fault the previous
        example armed and destroy every handle it created and left alive."""
        self.restore()
        self.trace.begin_example()

    def restore(self) -> None:
        for fn in self.hooks.faults:
            if fn.name in self.armed:
                handles = self.armed.pop(fn.name)
                if any(id(h) in self.gone for h in handles.values()):
                    continue  # armed on a handle that no longer exists
                args = {**handles, Hooks.switch(fn).name: Hooks.disarm_value(fn)}
                for _ in range(2):  # a disarm that an armed call fault failed is repeated once
                    if self.call(fn.name, **args).ok:
                        break
        for h, parent in reversed(self.created):
            if id(h) in self.gone or (parent is not None and id(parent) in self.gone):
                continue
            destroyer = self.spec.function(self.spec.handle(h.type).destroyed_by)
            self.call(destroyer.name, **{destroyer.handle_params[0].name: h})
        self.created.clear()
        self.gone.clear()

    def _track(self, fn: Function, kwargs: dict[str, Any], o: Outcome) -> None:
        if self.hooks.is_fault(fn):
            handles = {k: v for k, v in kwargs.items() if isinstance(v, HandleRef)}
            if Hooks.arms(fn, kwargs) and o.ok:  # a refused arming armed nothing
                self.armed[fn.name] = handles
            else:
                self.armed.pop(fn.name, None)
        made = o.handle if fn.creates else None
        if made is not None and made.value != 0:
            parent = next((v for v in kwargs.values() if isinstance(v, HandleRef)), None)
            self.created.append((made, parent))
        if fn.destroys:
            target = next((v for v in kwargs.values() if isinstance(v, HandleRef)), None)
            if target is not None:
                target.destroyed = True
                self._mark_gone(target)

    def _mark_gone(self, h: HandleRef) -> None:
        self.gone.add(id(h))
        for child, parent in self.created:
            if parent is h and id(child) not in self.gone:
                self._mark_gone(child)

    # ------------------------------------------------------------------ helpers
    def code_key(self, code: int | None) -> str:
        if code is None:
            return "-"
        c = self.codes.get(code)
        return c.key if c else f"UNDECLARED({code})"

    def violation(self, rule_id: str, message: str) -> ContractViolation:
        return ContractViolation(self.rules[rule_id], message, self.replay())

    def replay(self) -> str:
        from conformance.replay import render_c, render_python

        return render_python(self) + "\n" + render_c(self)

    def detail(self) -> str:
        """The thread's last-error detail (the `last_error_detail` role), "" without one."""
        if self._detail_fn is None:
            return ""
        return self.ffi.string(self._detail_fn()).decode("utf-8", "replace")

    # ------------------------------------------------------------------ the call
    def call(self, fn_name: str, **kwargs: Any) -> Outcome:
        fn = self.functions[fn_name]
        c_args, py_args, c_exprs, outs = [], [], [], {}
        c_pre: list[str] = []
        py_pre: list[str] = []
        self._out_names: dict[str, str] = {}
        for p in fn.params:
            value = kwargs[p.name] if p.name in kwargs else self._default(fn, p, kwargs)
            cdata, py_expr, c_expr, c_decl, py_decl = self._marshal(fn, p, value, outs)
            c_args.append(cdata)
            py_args.append(py_expr)
            c_exprs.append(c_expr)
            c_pre.extend(c_decl)
            py_pre.extend(py_decl)
        result_name = self._result_name(fn)
        py_line = f"{result_name + ' = ' if result_name else ''}lib.{fn.name}({', '.join(py_args)})"
        c_call = f"{fn.name}({', '.join(c_exprs)})"
        if result_name:
            c_call = f"{fn.returns.ctype.c} {result_name} = {c_call}"
        c_lines = [*c_pre, c_call + ";"]
        if fn.error_param is not None and isinstance(kwargs.get(fn.error_param.name, OUT), _Out):
            ec_name = c_exprs[[p.name for p in fn.params].index(fn.error_param.name)][1:]
            c_lines.append(f'printf("{fn.name} -> code %d\\n", {ec_name});')
        self.trace.add("\n".join([*py_pre, py_line]), c_lines)
        raw = getattr(self.lib, fn.name)(*c_args)
        detail = self.detail() if fn.fallible else ""
        ret = self._unmarshal_return(fn, raw, result_name)
        code = None
        read_outs = {name: reader() for name, reader in outs.items()}
        if fn.error_param is not None and fn.error_param.name in read_outs:
            code = read_outs.pop(fn.error_param.name)
        if channel_kind(fn) == "status":
            code = ret
        for p in fn.params:  # an out-handle the call wrote becomes a handle the suite holds
            value = read_outs.get(p.name)
            if p.is_out_handle and value == 0:
                read_outs[p.name] = None
            elif p.is_out_handle and isinstance(value, int):
                read_outs[p.name] = HandleRef(p.handle, self.ffi.cast(f"{p.handle}*", value),
                                              self._out_names[p.name], value)
        outcome = Outcome(fn, ret, code, read_outs, detail, success_codes(fn))
        if ret is not None or code is not None or detail:
            self.trace.note(f"observed: return {self._show(ret)}, code {self.code_key(code)}"
                            + (f", detail {detail!r}" if detail else ""))
        self._track(fn, kwargs, outcome)
        self._check(fn, kwargs, outcome)
        return outcome

    def _default(self, fn: Function, p: Param, kwargs: dict[str, Any]) -> Any:
        if p.direction == "out":
            if p.len:
                return Buf(256)
            return OUT
        if any(q.len == p.name for q in fn.params):  # the capacity or length of a buffer argument
            buf = next(kwargs.get(q.name) for q in fn.params if q.len == p.name)
            if isinstance(buf, bytes):
                return len(buf)
            return buf.size if isinstance(buf, Buf) else 256
        if getattr(p, "fixed", None):
            return fixed_value(self.spec, p)
        if p.nullable and p.is_pointer:
            return NULL
        raise TypeError(f"{fn.name}: argument {p.name} is required")

    def _result_name(self, fn: Function) -> str | None:
        if fn.returns.ctype.is_void:
            return None
        if fn.returns.handle:
            return self.trace.fresh(_snake(fn.returns.handle))
        return self.trace.fresh("r")

    def _marshal(self, fn: Function, p: Param, value: Any, outs: dict) -> tuple:
        """(cdata, Python expression, C expression, C declarations, Python declarations)."""
        ffi = self.ffi
        ct = p.ctype
        if value is NULL:
            return ffi.NULL, "ffi.NULL", "NULL", [], []
        if isinstance(value, Fixed):
            return (ffi.cast(ct.c, value.value), f'ffi.cast("{ct.c}", {value.value})', value.name, [], [])
        if p.direction == "out" and ct.pointer and len(getattr(ct, "levels", (False,))) == 2:
            target = ct.c[:-1].rstrip()  # the pointee type: `Handle*`, `const char*`
            cell = ffi.new(f"{ct.c}")
            cell[0] = ffi.cast(target, POISON_U64)
            name = self.trace.fresh(_snake(p.handle) if p.handle else p.name)
            self._out_names[p.name] = name

            def read(cell=cell, target=target):
                v = int(ffi.cast("uintptr_t", cell[0]))
                return UNWRITTEN if v == POISON_U64 else v
            outs[p.name] = read
            return (cell, f"{name}_out", f"&{name}",
                    [f"{target} {name} = ({target})(uintptr_t){POISON_U64:#x}ULL;"],
                    [f'{name}_out = ffi.new("{ct.c}")'])
        if p.handle:
            if isinstance(value, Forged):
                return (ffi.cast(f"{value.type}*", value.value),
                        f'ffi.cast("{value.type}*", {value.value:#x})',
                        f"({value.type}*)(uintptr_t){value.value:#x}ULL", [], [])
            assert isinstance(value, HandleRef), (fn.name, p.name, value)
            return value.cdata, value.name, value.name, [], []
        if ct.pointer and p.direction == "out" and ct.base == "char":
            size = max(value.size if isinstance(value, Buf) else 256, 1)
            buf = ffi.new("char[]", bytes([POISON_BYTE]) * (size - 1))  # + NUL from cffi
            buf[size - 1] = bytes([POISON_BYTE])
            name = self.trace.fresh("buf")
            outs[p.name] = lambda buf=buf, n=size: bytes(ffi.buffer(buf, n))
            return (buf, name, name,
                    [f"char {name}[{size}]; memset({name}, 0xA5, sizeof {name});"],
                    [f'{name} = ffi.new("char[]", b"\\xa5" * {size - 1}); '
                     f'{name}[{size - 1}] = b"\\xa5"'])
        if ct.pointer and p.direction == "out":
            poison = POISON_U64 if ct.base in ("uint64_t", "size_t") else POISON_INT
            cell = ffi.new(f"{ct.base}*", poison)
            name = self.trace.fresh("ec" if p.is_error_out else p.name.split("_")[0])
            outs[p.name] = lambda cell=cell, poison=poison: None if cell[0] == poison else int(cell[0])
            lit = f"{poison:#x}ULL" if poison == POISON_U64 else str(poison)
            return (cell, name, f"&{name}", [f"{ct.base} {name} = {lit};"],
                    [f'{name} = ffi.new("{ct.base}*", {poison})'])
        if ct.is_string:
            assert isinstance(value, bytes), (fn.name, p.name, value)
            return ffi.new("char[]", value), repr(value), _c_string(value), [], []
        if ct.is_float or (not ct.pointer and isinstance(value, float)):
            v = float(value)
            return v, _py_float(v), _c_float(v, ct.base), [], []
        if ct.is_integer or ct.is_bool or (not ct.pointer and isinstance(value, int)):
            v = int(value)
            suffix = "ULL" if ct.base in ("uint64_t", "size_t") else ""
            c_expr = f"{v}{suffix}" if v != -(2**31) else "(-2147483647 - 1)"
            return v, str(v), c_expr, [], []
        raise TypeError(f"cannot marshal {p.name} of {fn.name}: {value!r}")

    def _unmarshal_return(self, fn: Function, raw: Any, name: str | None) -> Any:
        rt = fn.returns.ctype
        if rt.is_void:
            return None
        if fn.returns.handle:
            if raw == self.ffi.NULL:
                return None
            return HandleRef(fn.returns.handle, raw, name or "?",
                             int(self.ffi.cast("uintptr_t", raw)))
        if rt.is_string:
            return None if raw == self.ffi.NULL else self.ffi.string(self.ffi.cast("char*", raw))
        if rt.pointer:
            return None if raw == self.ffi.NULL else int(self.ffi.cast("uintptr_t", raw))
        if rt.is_bool:
            return bool(raw)
        return int(raw)

    @staticmethod
    def _show(ret: Any) -> str:
        if isinstance(ret, HandleRef):
            return f"{ret.type}* {ret.value:#x}"
        return repr(ret)

    # ------------------------------------------------------------------ the checks
    def _check(self, fn: Function, kwargs: dict[str, Any], o: Outcome) -> None:
        ep = fn.error_param
        kind = channel_kind(fn)
        passed_ec = ep is not None and kwargs.get(ep.name, OUT) is not NULL
        if passed_ec and o.code is None:
            raise self.violation(f"FN-{fn.name}-{ep.name}-written",
                                 f"{fn.name} did not write {ep.name} (still poisoned)")
        if o.code is not None and (passed_ec or kind == "status"):
            if not o.ok and self.code_key(o.code) not in fn.errors:
                declared = [self.code_key(c) for c in sorted(o.success)] + list(fn.errors)
                raise self.violation(f"FN-{fn.name}-errors",
                                     f"{fn.name} reported {self.code_key(o.code)} ({o.code}), "
                                     f"not in its declared set {{{', '.join(declared)}}}")
            self.observe(fn.name, self.code_key(o.code))
        elif kind == "none" and fn.fallible:
            # No error channel: a failure shows as the on_error value plus a detail message.
            self.observe(fn.name, "OK" if o.detail == "" else fn.errors[0])
        failed = (not o.ok) if o.code is not None else (fn.fallible and o.detail != "")
        if failed:
            for p in fn.params:  # what a failure leaves in an out-handle (`on_failure`)
                if p.is_out_handle and p.name in o.outs and getattr(p, "on_failure", None):
                    got = o.outs[p.name]
                    if p.on_failure == "null" and got is not None:
                        raise self.violation(f"FN-{fn.name}-{p.name}-written",
                                             f"{fn.name} failed with {self.code_key(o.code)} but "
                                             f"wrote {self._show(got)} to {p.name}; the spec says NULL")
                    if p.on_failure == "valid" and not isinstance(got, HandleRef):
                        raise self.violation(f"FN-{fn.name}-{p.name}-written",
                                             f"{fn.name} failed with {self.code_key(o.code)} and "
                                             f"wrote {got!r} to {p.name}; the spec says a handle "
                                             "that must still be destroyed")
            expected = fn.returns.on_error
            if expected is not None and not _matches(o.ret, expected):
                raise self.violation(f"FN-{fn.name}-returns",
                                     f"{fn.name} failed with {self.code_key(o.code)} but returned "
                                     f"{self._show(o.ret)}; the spec says {expected}")
        if fn.fallible and o.code is not None and self.has_detail and kind == "out_param":
            explains_false = fn.returns.false_means is not None and o.ret is False
            if o.code == 0 and o.detail != "" and not explains_false:
                raise self.violation("SEM-last-error-detail",
                                     f"{fn.name} succeeded but the detail is {o.detail!r}")
            if o.code != 0 and o.detail == "":
                raise self.violation("SEM-last-error-detail",
                                     f"{fn.name} failed with {self.code_key(o.code)} "
                                     "but left the detail empty")
        if not failed:
            self._check_success(fn, o)
        if self.plugin is not None:
            self.plugin.check_call(self, fn, kwargs, o)

    def _check_success(self, fn: Function, o: Outcome) -> None:
        if fn.returns.handle and o.ret is None and o.code is not None:
            raise self.violation(f"FN-{fn.name}-returns",
                                 f"{fn.name} reported OK but returned NULL")
        allowed = {v.value for v in fn.returns.values}
        if allowed and channel_kind(fn) != "status" and o.ret not in allowed:
            raise self.violation(f"FN-{fn.name}-returns",
                                 f"{fn.name} succeeded with result {self._show(o.ret)}, not one of "
                                 f"its declared values {sorted(allowed)}")
        for p in fn.params:
            if p.direction != "out" or p.is_error_out or p.name not in o.outs:
                continue
            if p.is_out_handle:
                if o.outs[p.name] is UNWRITTEN and p.written in ("always", "on_success"):
                    raise self.violation(f"FN-{fn.name}-{p.name}-written",
                                         f"{fn.name} succeeded without writing {p.name}")
                if o.outs[p.name] is None and not getattr(p, "null_means", None):
                    raise self.violation(f"FN-{fn.name}-returns",
                                         f"{fn.name} succeeded but wrote NULL to {p.name}")
                continue
            if p.ctype.pointer and len(getattr(p.ctype, "levels", (False,))) == 2:
                continue
            promised = p.written == "always" or p.written == "on_success" or (
                p.written == "when_true" and o.ret is True)
            value = o.outs[p.name]
            if p.ctype.base == "char":
                if promised and value is not None:
                    self._check_piece(fn, p, value)
                continue
            if promised and value is None:
                raise self.violation(f"FN-{fn.name}-{p.name}-written",
                                     f"{fn.name} returned {self._show(o.ret)} with OK but did not "
                                     f"write {p.name} (written: {p.written})")

    def _check_piece(self, fn: Function, p: Param, raw: bytes) -> None:
        if raw == bytes([POISON_BYTE]) * len(raw):
            raise self.violation(f"FN-{fn.name}-{p.name}-written",
                                 f"{fn.name} returned true but did not write {p.name}")
        if b"\0" not in raw:
            raise self.violation(f"FN-{fn.name}-{p.name}-len",
                                 f"{fn.name} wrote {p.name} without a NUL inside its "
                                 f"{len(raw)}-byte capacity")
        piece = raw.split(b"\0", 1)[0]
        if p.utf8:
            try:
                piece.decode("utf-8")
            except UnicodeDecodeError:
                raise self.violation(f"FN-{fn.name}-{p.name}-written",
                                     f"{fn.name} wrote text that is not valid UTF-8: {piece!r}") from None

    @staticmethod
    def piece(o: Outcome, name: str | None = None) -> bytes:
        """The text a call wrote into its (first) char buffer, up to the NUL."""
        if name is None:
            name = next(p.name for p in o.fn.params if p.direction == "out" and p.ctype.is_char_buffer)
        raw = o.outs[name]
        return raw.split(b"\0", 1)[0]


def _snake(name: str) -> str:
    """`SomeHandle` -> `some_handle` (replay variable names)."""
    import re

    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _matches(ret: Any, expected: str) -> bool:
    if expected == "NULL":
        return ret is None
    if expected == "false":
        return ret is False
    try:
        return ret == int(expected)
    except ValueError:
        return True


def _py_float(v: float) -> str:
    if math.isnan(v):
        return "float('nan')"
    if math.isinf(v):
        return "float('inf')" if v > 0 else "float('-inf')"
    return repr(v)


def _c_float(v: float, base: str) -> str:
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    return f"{v!r}f" if base == "float" else repr(v)


def _c_string(value: bytes) -> str:
    out = []
    for b in value:
        ch = chr(b)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= b < 127:
            out.append(ch)
        else:
            out.append(f'\\x{b:02x}""')
    return '"' + "".join(out) + '"'
