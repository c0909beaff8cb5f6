"""The types a spec declares: opaque handles, and enums, structs, callbacks and scalar aliases
(`types:`)."""

from __future__ import annotations

from dataclasses import dataclass

from generator.model.ctype import CType
from generator.problems import Location


@dataclass(frozen=True)
class AllowedValue:
    value: int
    name: str
    doc: str


@dataclass(frozen=True)
class Handle:
    name: str
    doc: str
    parent: str | None
    created_by: str
    destroyed_by: str
    thread_safety: str
    location: Location
    struct_tag: str = ""  # `struct TAG` behind the typedef; defaults to the name
    header: str | None = None  # declared by this header of the library: referenced, not re-emitted

    @property
    def tag(self) -> str:
        return self.struct_tag or self.name

    @property
    def emitted(self) -> bool:
        return self.header is None


@dataclass(frozen=True)
class TypeField:
    name: str
    ctype: CType
    doc: str


@dataclass(frozen=True)
class TypeDecl:
    """A type declared in the spec's `types:`: an enum, a plain struct, or a callback (a
    function-pointer typedef). With `header`, it exists in the library's own header and is
    referenced, not re-emitted."""

    name: str
    kind: str  # "enum" | "struct" | "callback" | "alias"
    doc: str
    location: Location
    header: str | None = None
    values: tuple[AllowedValue, ...] = ()  # enum
    fields: tuple[TypeField, ...] = ()  # struct
    returns: CType | None = None  # callback
    params: tuple[CType, ...] = ()  # callback
    constants: tuple[AllowedValue, ...] = ()  # named special values (SQLITE_TRANSIENT)
    struct_tag: str = ""
    aliased: CType | None = None  # alias: the scalar type it names

    @property
    def emitted(self) -> bool:
        return self.header is None

    @property
    def c_declaration(self) -> str:
        """The C declaration the header emits (without its doc comment)."""
        if self.kind == "alias":
            assert self.aliased is not None
            return f"typedef {self.aliased.c} {self.name};"
        if self.kind == "callback":
            assert self.returns is not None
            params = ", ".join(p.c for p in self.params) or "void"
            return f"typedef {self.returns.c} (*{self.name})({params});"
        tag = self.struct_tag or self.name
        if self.kind == "struct":
            body = "".join(f"    {f.ctype.decl(f.name)};\n" for f in self.fields)
            return f"typedef struct {tag} {{\n{body}}} {self.name};"
        body = ",\n".join(f"    {v.name} = {v.value}" for v in self.values)
        return f"typedef enum {tag} {{\n{body}\n}} {self.name};"
