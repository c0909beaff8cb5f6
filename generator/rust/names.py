"""The Rust names of one spec: crate layout and linking, Rust spellings of C types, enums and
handle types, roles, error codes. The base of RustView (generator.rust)."""

from __future__ import annotations

from functools import cached_property

from generator.model import CType, Function, Param, Spec, Targets, TypeDecl
from generator.rust.text import camel, snake

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


class RustNames:
    """Names, types and error facts of the Rust bindings of one spec."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

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
