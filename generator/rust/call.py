"""How one safe Rust method calls its C function: the method's parameters, the conversions
before the call, the arguments, and how the result and the function's error channel become a
`Result`. Computed from the model (parameter bindings, error channels, handles); the
templates print the lines. Nothing here names a particular interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from generator.model import Function, Param

if TYPE_CHECKING:
    from generator.rust.methods import Method, RustMethods

SAFETY = ("// SAFETY: handle arguments are live (owned by, or borrowed from, their Rust values),",
          "// strings and lengths come from Rust values that outlive the call, out-pointers point",
          "// to locals; the receiver's Send/Sync bounds keep calls on one handle from overlapping.")


@dataclass(frozen=True)
class Plan:
    signature: tuple[tuple[str, str], ...]  # (name, type) after `&self`
    returns: str
    lines: tuple[str, ...]


def failure_test(fn: Function, value: str) -> str:
    """Rust condition: a status-channel result is none of the function's success values."""
    return " && ".join(f"{value} != {v}" for v in fn.channel.success_values) or f"{value} != 0"


def detail_expr(rs: RustMethods, fn: Function, receiver: str, created: str = "") -> str:
    """The detail text of a failure of `fn`, read on the failing thread before anything else."""
    ch = fn.channel
    if ch.detail_from is None:
        return "String::new()"
    helper = f"error::detail_{ch.detail_from}"
    if ch.scope != "handle":
        return f"{helper}()"
    hops = rs.spec.detail_hops(fn) if rs.receiver(fn) else None
    if hops == 0:
        return f"{helper}({receiver}.as_ptr())"
    if hops is not None and hops > 0:
        return f"{helper}({receiver.rsplit('.', 1)[0]}.ancestor.as_ptr())"
    if created and ch.detail_handle == fn.creates:
        return f"{helper}({created})"
    return "String::new()"


def can_fail(fn: Function, rs: RustMethods) -> bool:
    ch = fn.channel
    if ch.is_status:
        return True
    if ch.is_out_param:
        return bool(fn.errors)
    if ch.is_sentinel:
        return ch.detail_from is not None or ch.code_from is not None
    return False


def precondition_checks(rs: RustMethods, fn: Function, p: Param, name: str) -> list[str]:
    """Rust checks of a parameter's preconditions that the spec states as rules (breaking one
    is undefined behaviour in C, so a safe method refuses the value before the call). Prose
    preconditions are the caller's; NULL and UTF-8 rules are already kept by the Rust types."""
    if not p.precondition:
        return []
    fc = "&" + rs.fn_const(fn)
    code = rs.violation_code(p)
    checks: list[tuple[str, str]] = []
    if p.range is not None and (p.ctype.is_integer or p.ctype.is_float):
        def lit(v: float) -> str:
            return repr(float(v)) if p.ctype.is_float else str(int(v))

        if p.range.min is not None:
            checks.append((f"{name} < {lit(p.range.min)}", f"below {lit(p.range.min)}"))
        if p.range.max is not None:
            checks.append((f"{name} > {lit(p.range.max)}", f"above {lit(p.range.max)}"))
        if p.ctype.is_float and p.range.finite:
            checks.append((f"!{name}.is_finite()", "not finite"))
    if p.min_bytes and p.binding == "string":
        text = f"{name}.unwrap_or_default()" if p.nullable else name
        checks.append((f"{text}.len() < {p.min_bytes}", f"shorter than {p.min_bytes} byte(s)"))
    lines = []
    for test, why in checks:
        lines += [f"if {test} {{",
                  f"    return Err(Error::refused({code}, {fc}, String::from(\"{p.name} is {why} (a "
                  f"precondition of {fn.name}); no native call was made\")));", "}"]
    return lines


def _arguments(rs: RustMethods, m: Method, receiver: str
               ) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    fn = m.fn
    fc = "&" + rs.fn_const(fn)
    by_name = {p.name: p for p in fn.params}
    sig: list[tuple[str, str]] = []
    pre: list[str] = []
    args: list[str] = []
    for p in fn.params:
        name = rs.local(p)
        b = p.binding
        pre += precondition_checks(rs, fn, p, name)
        if b == "receiver":
            args.append(f"{receiver}.as_ptr()")
        elif b == "error_out":
            pre.append("let mut err: c_int = 0;")
            args.append("&mut err")
        elif b == "out_handle":
            pre.append(f"let mut out: *mut raw::{p.handle} = core::ptr::null_mut();")
            args.append("&mut out")
        elif b == "fixed":
            args.append(f"raw::{p.fixed}")
        elif b == "length":
            args.append(f"{rs.local(by_name[str(p.len_of)])}_len")
        elif b == "capacity":
            args.append(f"self.buf.len() as {rs.raw_type(p.ctype, 'raw::')}")
        elif b == "text_out":
            args.append("self.buf.as_mut_ptr().cast()")
        elif b == "null":
            args.append("core::ptr::null_mut()")
        elif b == "handle":
            cls = f"&{rs.class_name(str(p.handle))}{rs.lifetime_args(str(p.handle))}"
            sig.append((name, f"Option<{cls}>" if p.nullable else cls))
            args.append(f"{name}.map_or(core::ptr::null_mut(), |h| h.raw.as_ptr())"
                        if p.nullable else f"{name}.raw.as_ptr()")
        elif b == "string":
            sig.append((name, "Option<&str>" if p.nullable else "&str"))
            code = rs.violation_code(p)
            if p.len is not None:
                length = rs.raw_type(by_name[p.len].ctype, "raw::")
                text = f"{name}.unwrap_or_default()" if p.nullable else name
                pre.append(f"let {name}_len = error::length::<{length}>({text}.len(), "
                           f"\"{p.name}\", {code}, {fc})?;")
                args.append(f"{name}.map_or(core::ptr::null(), |s| s.as_ptr().cast())"
                            if p.nullable else f"{name}.as_ptr().cast()")
            elif p.nullable:
                pre.append(f"let {name}_c = {name}.map(|s| error::c_string(s, \"{p.name}\", "
                           f"{code}, {fc})).transpose()?;")
                args.append(f"{name}_c.as_ref().map_or(core::ptr::null(), |c| c.as_ptr().cast())")
            else:
                pre.append(f"let {name}_c = error::c_string({name}, \"{p.name}\", {code}, {fc})?;")
                args.append(f"{name}_c.as_ptr().cast()")
        elif b in ("int", "float", "bool"):
            if p.allowed:
                sig.append((name, rs.enum_name(fn, p)))
                args.append(f"{name}.raw()")
            else:
                sig.append((name, rs.raw_type(p.ctype, "raw::")))
                args.append(name)
        elif b == "out_value":
            zero = "0.0" if p.ctype.base in ("float", "double") else (
                "false" if p.ctype.base == "bool" else "0")
            pre.append(f"let mut {name}: {rs.out_base(p)} = {zero};")
            args.append(f"&mut {name}")
        else:  # filtered out by RustMethods.unsupported_reason
            raise AssertionError(f"{fn.name}.{p.name}: binding {b!r} has no Rust mapping")
    return sig, pre, args


def plan(rs: RustMethods, m: Method, receiver: str = "self.raw") -> Plan:
    """The whole body of method `m` (`create` or `call`)."""
    fn = m.fn
    fc = "&" + rs.fn_const(fn)
    sig, pre, args = _arguments(rs, m, receiver)
    call = f"raw::{fn.name}({', '.join(args)})"
    lines = list(pre) + list(SAFETY)
    lines.append(f"unsafe {{ {call} }};" if fn.returns.ctype.is_void
                 else f"let result = unsafe {{ {call} }};")
    detail = detail_expr(rs, fn, receiver, created="out")
    ch = fn.channel
    fails = can_fail(fn, rs) or any(line.endswith("?;") or "return Err(" in line for line in pre)
    if fn.creates:
        lines += _create(rs, m, receiver, detail)
        return Plan(tuple(sig), f"Result<{rs.value_type(m)}>" if fails else rs.value_type(m),
                    tuple(lines))
    if ch.is_out_param and fn.errors:
        lines += ["if err != 0 {", f"    return Err(Error::reported(err, {fc}, {detail}));", "}"]
    elif ch.is_status:
        lines += [f"if {failure_test(fn, 'result')} {{",
                  f"    return Err(Error::reported(result, {fc}, {detail}));", "}"]
    elif ch.is_sentinel and can_fail(fn, rs):
        code = "None"
        if ch.code_from is not None:
            code = f"Some(unsafe {{ raw::{ch.code_from}({receiver}.as_ptr()) }})"
        lines += [f"if {rs.error_value_test(fn)} {{",
                  f"    if let Some(error) = Error::from_detail({fc}, {code}, {detail}) {{",
                  "        return Err(error);", "    }", "}"]
    value = rs.convert(m)
    lines.append(f"Ok({value})" if fails else value)
    if lines[-1] == "result" and lines[-2].startswith("let result = "):
        lines[-2:] = [lines[-2][len("let result = "):-1]]  # no `let x = ...; x`
    return Plan(tuple(sig), f"Result<{rs.value_type(m)}>" if fails else rs.value_type(m),
                tuple(lines))


def _create(rs: RustMethods, m: Method, receiver: str, detail: str) -> list[str]:
    fn = m.fn
    fc = "&" + rs.fn_const(fn)
    handle = rs.spec.handle(str(fn.creates))
    init = rs.handle_init(handle, receiver)
    ch = fn.channel
    out = fn.created_out
    if out is None:  # the result is the handle
        code = "err" if ch.is_out_param else "0"
        lines = ["let Some(raw) = NonNull::new(result) else {",
                 f"    return Err(Error::null_result({code}, {fc}, "
                 f"{'true' if ch.is_out_param else 'false'}, {detail}));",
                 "};", f"let handle = {init};"]
        if ch.is_out_param:
            lines += ["if err != 0 {", f"    return Err(Error::reported(err, {fc}, {detail}));",
                      "}"]
        return lines + ["Ok(handle)"]
    # Written through an out-parameter: adopted at once, so a handle written on failure is
    # destroyed when the error returns.
    lines = [f"let handle = NonNull::new(out).map(|raw| {init});"]
    if ch.is_status:
        lines += [f"if {failure_test(fn, 'result')} {{",
                  f"    return Err(Error::reported(result, {fc}, {detail}));", "}"]
    elif ch.is_out_param:
        lines += ["if err != 0 {", f"    return Err(Error::reported(err, {fc}, {detail}));", "}"]
    if out.null_means:
        return lines + ["Ok(handle)"]
    return lines + ["handle.ok_or_else(|| Error::broken(0, "
                    f"{fc}, \"reported success but wrote no handle\".into()))"]


def close_plan(rs: RustMethods, handle_name: str) -> Plan | None:
    """`close(self) -> Result<()>` for a destroyer that reports failure; None otherwise."""
    fn = rs.spec.function(rs.spec.handle(handle_name).destroyed_by)
    if not (fn.channel.is_status or (fn.channel.is_out_param and fn.errors)):
        return None
    fc = "&" + rs.fn_const(fn)
    args = ", ".join("this.raw.as_ptr()" if p.binding == "receiver" else
                     ("&mut err" if p.binding == "error_out" else "core::ptr::null_mut()")
                     for p in fn.params)
    own = fn.channel.detail_handle == handle_name  # its own detail died with it
    detail = "String::new()" if own else detail_expr(rs, fn, "this.raw")
    lines = ["let this = core::mem::ManuallyDrop::new(self);"]
    if fn.channel.is_out_param:
        lines.append("let mut err: c_int = 0;")
    lines += ["// SAFETY: the handle is live and, wrapped in ManuallyDrop, destroyed only here.",
              f"let result = unsafe {{ raw::{fn.name}({args}) }};"]
    test = "err != 0" if fn.channel.is_out_param else failure_test(fn, "result")
    code = "err" if fn.channel.is_out_param else "result"
    lines += [f"if {test} {{", f"    return Err(Error::reported({code}, {fc}, {detail}));",
              "}", "Ok(())"]
    return Plan((), "Result<()>", tuple(lines))


def stream_call(rs: RustMethods, fn: Function) -> str:
    """The C call of a stream's step inside its iterator (`self` is the stream)."""
    args = []
    for p in fn.params:
        b = p.binding
        args.append({"receiver": "self.raw.as_ptr()", "error_out": "&mut err",
                     "capacity": f"self.buf.len() as {rs.raw_type(p.ctype, 'raw::')}",
                     "text_out": "self.buf.as_mut_ptr().cast()",
                     "null": "core::ptr::null_mut()"}[b])
    return f"raw::{fn.name}({', '.join(args)})"


def stream_supported(fn: Function) -> bool:
    return all(p.binding in ("receiver", "error_out", "capacity", "text_out", "null")
               for p in fn.params) and (fn.channel.is_out_param or fn.channel.kind == "none")


def param_doc(p: Param) -> str:
    return p.doc + (f" Rules: {p.constraint_text}." if p.constraint_text else "")
