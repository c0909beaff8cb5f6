"""Fixed runtime of generated bindings (any spec): handle lifetimes, argument conversion, the `_check` choke
point and the per-library specialisation of the generated classes.

Speed comes from keeping the generated hot methods to one native call and one test:

* The cffi functions of a loaded library are class attributes of a per-library subclass of
  each generated class (`_bind_classes`), so a method reaches its function with one attribute
  lookup and no per-instance state.
* `close()` swaps the instance's `__class__` to a "closed" sibling whose methods all raise
  `HandleClosedError`, so open handles never test a flag.

Lifetime: each handle owns a `_Node` (pointer, destroyer, child nodes). Releasing a node
releases its children first, then calls the destroyer, exactly once. `close()` releases
explicitly; a `weakref.finalize` on the handle releases the node if the handle is garbage
collected while open. Because nodes, not handles, hold the pointers, the order in which the
collector runs finalisers cannot free a child twice or after its parent.
"""

from __future__ import annotations

import operator
import os
import weakref
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, ClassVar, NamedTuple, TypeVar, cast

from ffispec_runtime.errors import FfiError, HandleClosedError, PreconditionError, raise_error


class FunctionInfo(NamedTuple):
    """Generated metadata of one C function of the contract."""

    name: str
    python_name: str
    receiver: str  # Python class carrying the method; "" where the function has none
    errors: tuple[str, ...]  # declared error keys
    codes: frozenset[int]  # declared error codes
    deprecated: bool
    doc: str


class _Node:
    """Owns one native handle; see the module docstring."""

    __slots__ = ("ptr", "destroy", "children", "parent", "owner", "closed_cls", "finalizer")

    def __init__(self, ptr: Any, destroy: Callable[[Any], None], parent: _Node | None) -> None:
        self.ptr: Any = ptr
        self.destroy = destroy
        self.children: set[_Node] = set()
        self.parent = parent
        self.owner: weakref.ref[Handle] | None = None
        self.closed_cls: type[Handle] | None = None
        self.finalizer: weakref.finalize[Any, Any] | None = None
        if parent is not None:
            parent.children.add(self)

    def release(self) -> None:
        ptr = self.ptr
        if ptr is None:
            return
        self.ptr = None
        for child in list(self.children):
            child.release()
        owner = self.owner() if self.owner is not None else None
        if owner is not None and self.closed_cls is not None:
            owner.__class__ = self.closed_cls
        if self.finalizer is not None:
            self.finalizer.detach()
        try:
            self.destroy(ptr)
        finally:
            if self.parent is not None:
                self.parent.children.discard(self)
                self.parent = None


H = TypeVar("H", bound="Handle")


class Handle:
    """Base of the generated handle classes."""

    __slots__ = ("_ptr", "_node", "_parent", "__weakref__")
    _destroy_name: ClassVar[str] = ""  # C destroyer, set by the generated class
    _library: ClassVar[LibraryBase]
    _ffi: ClassVar[Any]

    _ptr: Any
    _node: _Node
    _parent: Handle | None

    def _on_open(self) -> None:
        """Per-type setup after the native handle exists (buffers of a stream)."""

    @property
    def closed(self) -> bool:
        """True once the handle (or one of its ancestors) has been closed."""
        return False

    def close(self) -> None:
        """Destroy the native handle and, first, every open child. Idempotent."""
        self._node.release()

    def __enter__(self: H) -> H:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._node.release()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"handle=0x{self._handle_value():x}"
        package = type(self).__module__.rsplit(".", 1)[0]
        return f"<{package}.{type(self).__name__} {state}>"

    def _handle_value(self) -> int:
        return int(self._ffi.cast("uintptr_t", self._ptr))


def _closed_method(cls_name: str, name: str) -> Callable[..., Any]:
    def closed(self: Handle, *args: object, **kwargs: object) -> Any:
        raise HandleClosedError(
            f"{cls_name}.{name}(): the {cls_name} is closed (by close(), by leaving its "
            f"`with` block, or because its parent was closed); no native call was made. "
            f"Create a new {cls_name} instead.")
    closed.__name__ = name
    return closed


def _closed_variant(open_cls: type[Handle], base: type[Handle]) -> type[Handle]:
    names = {name for klass in base.__mro__ if klass is not object for name, value in
             vars(klass).items() if callable(value) and (not name.startswith("_")
                                                         or name in ("__iter__", "__next__",
                                                                     "__enter__"))}
    names -= {"close"}
    ns: dict[str, Any] = {name: _closed_method(base.__name__, name) for name in names}
    ns.update(__slots__=(), __module__=base.__module__, __qualname__=base.__qualname__,
              __doc__=base.__doc__, close=lambda self: None, __exit__=lambda self, *a: None,
              closed=property(lambda self: True))
    return type(base.__name__, (open_cls,), ns)


class LibraryBase:
    """Base of the generated `Library`: one loaded native library and its classes."""

    __slots__ = ("path", "mode", "backend", "_classes", "__weakref__")
    _functions: ClassVar[Mapping[str, FunctionInfo]]
    _errors: ClassVar[type[FfiError]]  # the package's exception base (owns its error table)
    _ffi: ClassVar[Any]
    _lib: ClassVar[Any]
    _NULL: ClassVar[Any]

    path: str
    mode: str
    backend: str
    _classes: dict[type[Handle], type[Handle]]

    def _read_detail(self) -> str:
        """The per-thread detail text; generated where the spec has a source for it."""
        return ""

    def _check(self, function: str, code: int) -> None:
        """The choke point: every non-zero code of every call is raised from here, with the
        detail message read at once, on the failing thread, before any other native call."""
        if code:
            raise_error(self._errors, function, code, self._read_detail(),
                        self._functions[function].codes)

    def _fail(self, function: str, code: int, detail: str) -> None:
        """Raise the failure `code` of `function` with a detail read by the caller (a status
        or sentinel channel whose detail comes from a handle)."""
        raise_error(self._errors, function, code, detail, self._functions[function].codes)

    def _check_no_channel(self, function: str) -> None:
        """For a function without an error channel that returned its error value: a non-empty
        detail means it failed; it can only have reported its one declared code."""
        detail = self._read_detail()
        if detail:
            codes = self._functions[function].codes
            code = next(iter(codes)) if len(codes) == 1 else 0
            raise_error(self._errors, function, code or -1, detail, codes)

    def _null_result(self, function: str, code: int) -> None:
        """A creator returned NULL: raise its code, or flag NULL with code 0 as drift."""
        detail = self._read_detail()
        raise_error(self._errors, function, code or -1, detail or "returned NULL with error code 0",
                    self._functions[function].codes)

    def _adopt(self, base: type[H], ptr: Any, parent: Handle | None) -> H:
        """Wrap a fresh native handle: the parent keeps its node, the finaliser is armed."""
        cls = self._classes[base]
        handle = cast(H, object.__new__(cls))
        destroy = getattr(self._lib, base._destroy_name)
        node = _Node(ptr, destroy, parent._node if parent is not None else None)
        node.owner = weakref.ref(handle)
        node.closed_cls = self._classes[cls]
        node.finalizer = weakref.finalize(handle, node.release)
        handle._ptr = ptr
        handle._node = node
        handle._parent = parent
        handle._on_open()
        return handle


def _bind_classes(library: LibraryBase, handle_classes: tuple[type[Handle], ...],
                  functions: Mapping[str, FunctionInfo], lib: Any, ffi: Any) -> None:
    """Create this library's open and closed subclasses of every generated handle class,
    with the library's cffi functions as class attributes (`_f` -> lib.f)."""
    natives = {f"_{name}": getattr(lib, name) for name in functions}
    shared = {"_library": library, "_ffi": ffi, "_NULL": ffi.NULL, "_new": ffi.new,
              "_string": ffi.string, **natives}
    classes: dict[type[Handle], type[Handle]] = {}
    for base in handle_classes:
        open_cls = type(base.__name__, (base,), {
            "__slots__": (), "__module__": base.__module__, "__qualname__": base.__qualname__,
            "__doc__": base.__doc__, **shared})
        classes[base] = open_cls
        classes[open_cls] = _closed_variant(open_cls, base)
    library._classes = classes


def specialise_library(base: type[LibraryBase], functions: Mapping[str, FunctionInfo],
                       lib: Any, ffi: Any) -> type[LibraryBase]:
    """The generated `Library` class bound to one loaded library."""
    natives = {f"_{name}": getattr(lib, name) for name in functions}
    return type(base.__name__, (base,), {
        "__slots__": (), "__module__": base.__module__, "__qualname__": base.__qualname__,
        "__doc__": base.__doc__, "_lib": lib, "_ffi": ffi, "_NULL": ffi.NULL, "_new": ffi.new,
        "_string": ffi.string, **natives})


# -- argument conversion (not on hot paths: creators and setters only) --
# `violation` is the code the spec reports for a broken rule, raised as `errors`' class for it;
# None (a precondition, or no code declared) raises PreconditionError: no native call is made.

def _violation(errors: type[FfiError], violation: int | None, function: str,
               message: str) -> Exception:
    if violation is None:
        return PreconditionError(f"{function}: {message}")
    return errors.class_for(violation)(violation, function, message)


def c_string(value: object, param: str, function: str, violation: int | None,
             errors: type[FfiError], *, path: bool = False) -> bytes:
    """`str` (or, for paths, `os.PathLike[str]`) to NUL-terminated UTF-8."""
    if path and isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        kind = "str or os.PathLike[str]" if path else "str"
        raise TypeError(f"{function}: {param} must be {kind}, not {type(value).__name__}")
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _violation(errors, violation, function,
                         f"{param} is not encodable as UTF-8 (character {exc.start}: "
                         f"{exc.reason})") from None
    nul = data.find(b"\0")
    if nul >= 0:
        raise _violation(errors, violation, function,
                         f"{param} contains a NUL character at byte {nul}; C strings end at the "
                         f"first NUL, so the rest would be silently dropped")
    return data


def c_int(value: object, param: str, function: str, lo: int, hi: int, violation: int | None,
          errors: type[FfiError]) -> int:
    """A Python integer that fits the C type, else the parameter's declared violation code."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{function}: {param} must be int, not {type(value).__name__}")
    number = operator.index(value)  # type: ignore[arg-type,unused-ignore]
    if not lo <= number <= hi:
        raise _violation(errors, violation, function,
                         f"{param} = {number} does not fit the C type (range [{lo}, {hi}])")
    return number


def c_float(value: object, param: str, function: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{function}: {param} must be float, not {type(value).__name__}")
    return float(value)


def c_bytes(value: object, param: str, function: str) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"{function}: {param} must be bytes, not {type(value).__name__}")
    return bytes(value)


def precondition(ok: bool, function: str, message: str) -> None:
    """Refuse a call that would break a precondition of the spec (undefined behaviour)."""
    if not ok:
        raise PreconditionError(f"{function}: {message}")
