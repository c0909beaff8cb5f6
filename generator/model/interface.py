"""What a spec says about the interface as a whole: name, version, header, consumers, groups,
changelog, waivers, and where the generated artefacts go (targets)."""

from __future__ import annotations

from dataclasses import dataclass

from generator.model.errors import NO_CHANNEL, ErrorChannel
from generator.problems import Location


@dataclass(frozen=True)
class Group:
    name: str
    title: str
    doc: str


@dataclass(frozen=True)
class Consumer:
    team: str
    contact: str
    uses: str


@dataclass(frozen=True)
class ExceptionEntry:
    id: str
    applies_to: tuple[str, ...]
    rule: str
    reason: str
    location: Location


@dataclass(frozen=True)
class ChangelogEntry:
    version: str
    date: str | None
    changes: tuple[str, ...]


@dataclass(frozen=True)
class Header:
    path: str
    guard: str
    api_macro: str
    includes: tuple[str, ...]
    derived_includes: tuple[str, ...] = ()  # every include the header needs, in order
    macro_prefix: str = ""  # prefix of the header's own macros (VERSION_*, DEPRECATED)


@dataclass(frozen=True)
class Targets:
    """Where the generated artefacts go and what they are called. Nothing generic names a
    particular interface: every default derives from `interface.name`."""

    mode: str  # "contract_first" | "existing_library"
    python_package: str | None  # None: no Python bindings
    python_dir: str
    python_error_base: str
    native_library: str  # the library's name without lib/.so (`sqlite3`)
    native_soname: str | None  # the file ABI mode dlopen()s (`libsqlite3.so.0`)
    cpp_namespace: str | None  # None: no generated C++ boundary
    cpp_dir: str
    lock_dir: str
    lock_document: str
    lock_baseline: str
    lock_timeline: str
    header_path: str = ""  # interface.header.path
    schema_copy: str = "spec/schema.json"  # the schema, copied next to the spec for editors
    rust_crate: str | None = None  # None: no Rust bindings
    rust_dir: str = ""

    @property
    def contract_first(self) -> bool:
        return self.mode == "contract_first"

    @property
    def library_file(self) -> str:
        """The file ABI-mode bindings open by default (`libsqlite3.so.0`)."""
        return self.native_soname or f"lib{self.native_library}.so"

    @property
    def boundary(self) -> bool:
        """A generated C++ boundary (exports and implementation declarations)."""
        return self.contract_first and self.cpp_namespace is not None


@dataclass(frozen=True)
class Interface:
    name: str
    title: str
    version: str
    c_prefix: str
    doc: str
    header: Header
    error_out_param: str | None
    consumers: tuple[Consumer, ...]
    principles: tuple[str, ...]
    default_channel: ErrorChannel = NO_CHANNEL
    checked: bool = True  # default kind of parameter rules: checked, or preconditions

    @property
    def version_tuple(self) -> tuple[int, int, int]:
        major, minor, patch = (int(x) for x in self.version.split("."))
        return major, minor, patch
