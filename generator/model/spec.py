"""The spec: every part of the model, indexed once for lookups, and the facts renderers derive
from more than one part (names of the Python bindings, macros, requirement index)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from generator.model.errors import ErrorTable
from generator.model.functions import Function
from generator.model.interface import ChangelogEntry, ExceptionEntry, Group, Interface, Targets
from generator.model.params import Param
from generator.model.types import AllowedValue, Handle, TypeDecl


@dataclass(frozen=True)
class Spec:
    """The normalised contract. `contract_hash` covers every field that binds callers or
    implementations and no pure documentation, so a doc-only edit keeps the hash."""

    source: str
    sha256: str
    interface: Interface
    groups: tuple[Group, ...]
    errors: ErrorTable
    handles: tuple[Handle, ...]
    functions: tuple[Function, ...]
    model_format: Any
    exceptions: tuple[ExceptionEntry, ...]
    changelog: tuple[ChangelogEntry, ...]
    contract_hash: str = field(default="")
    # The HTTP service over this contract (generator.http.model.HttpService), or None.
    http: Any = field(default=None)
    # Where each node of the source sits (path -> location); not part of the contract.
    locations: Any = field(default=None, compare=False, repr=False)
    types: tuple[TypeDecl, ...] = ()
    targets: Targets | None = None

    # Lookups are indexed once per model (frozen dataclasses still allow cached_property,
    # which writes the instance dict directly), so renderers stay linear in the spec's size.
    @cached_property
    def _functions_by_name(self) -> dict[str, Function]:
        return {fn.name: fn for fn in reversed(self.functions)}  # the first declaration wins

    @cached_property
    def _handles_by_name(self) -> dict[str, Handle]:
        return {h.name: h for h in reversed(self.handles)}

    @cached_property
    def _functions_by_group(self) -> dict[str, tuple[Function, ...]]:
        groups: dict[str, list[Function]] = {}
        for fn in self.functions:
            groups.setdefault(fn.group, []).append(fn)
        return {g: tuple(fns) for g, fns in groups.items()}

    def function(self, name: str) -> Function:
        return self._functions_by_name[name]

    def handle(self, name: str) -> Handle:
        return self._handles_by_name[name]

    def has_handle(self, name: str) -> bool:
        return name in self._handles_by_name

    def functions_in(self, group: str) -> tuple[Function, ...]:
        return self._functions_by_group.get(group, ())

    def by_role(self, role: str) -> Function:
        return next(f for f in self.functions if f.role == role)

    def role(self, role: str) -> Function | None:
        """The function holding `role`, or None: every role is optional."""
        return next((f for f in self.functions if f.role == role), None)

    @cached_property
    def _types_by_name(self) -> dict[str, TypeDecl]:
        return {t.name: t for t in reversed(self.types)}

    def type_decl(self, name: str) -> TypeDecl | None:
        return self._types_by_name.get(name)

    @property
    def emitted_types(self) -> tuple[TypeDecl, ...]:
        return tuple(t for t in self.types if t.emitted)

    @property
    def emitted_handles(self) -> tuple[Handle, ...]:
        return tuple(h for h in self.handles if h.emitted)

    @property
    def macro_prefix(self) -> str:
        """Prefix of the header's own macros (`WORKER_FFI_VERSION_MAJOR`)."""
        return self.interface.header.macro_prefix or self.interface.name.upper()

    def allowed_macro(self, param: Param, value: AllowedValue) -> str:
        """`fault` value DEVICE_LOST -> `CUDA_FAULT_DEVICE_LOST`."""
        return f"{self.interface.c_prefix.upper()}{param.name.upper()}_{value.name}"

    def ancestors(self, handle: str) -> tuple[str, ...]:
        """`handle`, its parent, the parent's parent, ... (stops at a cycle)."""
        chain: list[str] = []
        current: str | None = handle
        while current is not None and current not in chain and current in self._handles_by_name:
            chain.append(current)
            current = self._handles_by_name[current].parent
        return tuple(chain)

    def detail_hops(self, fn: Function) -> int | None:
        """For a per-handle detail channel: how many parents up from `fn`'s receiving handle
        the detail handle is (0: the receiver itself); None when `fn` has no such receiver."""
        target = fn.channel.detail_handle
        receiver = self.python_receiver(fn)
        if target is None or receiver is None:
            return None
        chain = self.ancestors(receiver)
        return chain.index(target) if target in chain else None

    @cached_property
    def requirement_index(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Requirement ID -> the functions that implement it (in spec order), sorted by ID."""
        index: dict[str, list[str]] = {}
        for f in self.functions:
            for r in dict.fromkeys(f.requirements):
                index.setdefault(r, []).append(f.name)
        return tuple((r, tuple(index[r])) for r in sorted(index))

    def children_of(self, handle: str) -> tuple[Handle, ...]:
        return tuple(h for h in self.handles if h.parent == handle)

    # -- Python bindings: names and placement derived once, read by the Python templates --

    def return_value_macro(self, fn: Function, value: AllowedValue) -> str:
        """With prefix `lib_`, `lib_job_state` value DONE -> `LIB_JOB_STATE_DONE`."""
        short = fn.name.removeprefix(self.interface.c_prefix)
        return f"{self.interface.c_prefix.upper()}{short.upper()}_{value.name}"

    def python_class(self, handle: str) -> str:
        """`LibModel` -> `Model`: named after the group of the function that creates it."""
        return self.function(self.handle(handle).created_by).group.capitalize()

    @staticmethod
    def python_receiver(fn: Function) -> str | None:
        """The handle whose Python class carries `fn` (its first handle input); None for
        functions of the library object."""
        return next((p.handle for p in fn.params if p.binding == "receiver"), None)

    def python_method(self, fn: Function) -> str:
        """With prefix `lib_`, `lib_job_next_piece` -> `next_piece`: the prefix goes, and so does
        the noun of the receiving or created handle (`model.get_size()`, `model.start()`)."""
        name = fn.name.removeprefix(self.interface.c_prefix)
        for handle in (self.python_receiver(fn), fn.creates):
            if handle is not None:
                noun = self.function(self.handle(handle).created_by).group + "_"
                if name.startswith(noun):
                    return name[len(noun):]
        return name

    def python_methods(self, receiver: str | None) -> tuple[Function, ...]:
        """Functions exposed as methods of `receiver`'s class (None: the library object).
        Destroyers become `close()`; deprecated aliases are reachable as their target."""
        return self._python_methods_by_receiver.get(receiver, ())

    @cached_property
    def _python_methods_by_receiver(self) -> dict[str | None, tuple[Function, ...]]:
        methods: dict[str | None, list[Function]] = {}
        for f in self.functions:
            if f.destroys is None and f.alias_of is None:
                methods.setdefault(self.python_receiver(f), []).append(f)
        return {r: tuple(fns) for r, fns in methods.items()}

    @property
    def thread_detail(self) -> str | None:
        """The function yielding the per-thread detail text, if the spec has one."""
        role = self.role("last_error_detail")
        if role is not None:
            return role.name
        return next((f.channel.detail_from for f in self.functions
                     if f.channel.detail_from and f.channel.scope == "thread"), None)

    def constant_value(self, param: Param) -> int:
        """The value of the named constant a `fixed` parameter always passes."""
        decl = self.type_decl(param.ctype.base)
        assert decl is not None and param.fixed is not None
        return next(k.value for k in decl.constants if k.name == param.fixed)

    def violation_code(self, param: Param) -> str:
        """The code a broken checked rule reports, as Python source ("None": no code)."""
        if not param.checked or not param.on_violation or param.on_violation not in self.errors.keys:
            return "None"
        return str(self.errors.by_key(param.on_violation).value)

    @staticmethod
    def python_preconditions(param: Param) -> tuple[tuple[str, str], ...]:
        """(condition, message) pairs the bindings test before a call, for the preconditions
        of a Python argument: breaking one would be undefined behaviour in the library."""
        if param.checked or param.binding not in ("int", "float"):
            return ()
        out = []
        if param.range is not None:
            conds = []
            if param.range.min is not None:
                conds.append(f"{param.name} >= {param.range.min!r}")
            if param.range.max is not None:
                conds.append(f"{param.name} <= {param.range.max!r}")
            if conds:
                out.append((" and ".join(conds), repr(
                    f"{param.name} must be {param.range.describe()} (a precondition: the "
                    "library does not check it; breaking it is undefined behaviour)")))
        if param.allowed:
            values = ", ".join(str(a.value) for a in param.allowed)
            out.append((f"{param.name} in ({values},)", repr(
                f"{param.name} must be one of {values} (a precondition: the library does not "
                "check it; breaking it is undefined behaviour)")))
        return tuple(out)

    @staticmethod
    def python_sentinel(fn: Function) -> str:
        """The failure value of a sentinel channel as Python source."""
        value = fn.channel.sentinel or ""
        return {"NULL": "self._NULL", "false": "False", "true": "True"}.get(value, value)

    def python_result_type(self, fn: Function) -> str:
        """The annotation of what the Python method returns."""
        parts: list[str] = []
        if fn.channel.is_status and len(fn.channel.success_values) > 1:
            parts.append("int")
        elif not fn.channel.is_status and not fn.returns.ctype.is_void and \
                not fn.python_out_values and not fn.python_buffers:
            rt = fn.returns.ctype
            if rt.depth == 1 and rt.const and rt.base == "unsigned char":
                return "str | None" if fn.returns.nullable else "str"
            return rt.python_type
        parts += [p.ctype.pointee.python_type for p in fn.python_out_values]
        parts += ["str" if p.binding == "text_out" else "bytes" for p in fn.python_buffers]
        if not parts:
            return "None"
        return parts[0] if len(parts) == 1 else f"tuple[{', '.join(parts)}]"

    def python_stream(self, handle: str) -> Function | None:
        """The function that makes `handle` iterable: a bool-returning method of it that
        writes a text buffer (`for piece in job`)."""
        streams = self._python_streams
        if handle not in streams:
            streams[handle] = next(
                (f for f in self.python_methods(handle)
                 if f.returns.ctype.is_bool and any(p.ctype.is_char_buffer for p in f.params)),
                None)
        return streams[handle]

    @cached_property
    def _python_streams(self) -> dict[str, Function | None]:
        return {}  # filled as python_stream is asked, once per handle
