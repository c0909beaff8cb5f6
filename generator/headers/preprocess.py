"""Run the system C preprocessor over headers, keeping line markers so every declaration keeps
its header:line, and read the macros they define (`cc -dM -E`).

pycparser reads standard C only, so GNU extensions that system headers use are defined away on
the command line, and `__builtin_va_list` (which the compiler knows without a declaration) gets
a typedef from a small file written at run time."""

from __future__ import annotations

import re
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from generator.cc import BUILTIN_TYPES, GNU_DEFINES, find_compiler
from generator.headers.problems import HeaderError, HeaderProblem, Where

_MARKER = re.compile(r'^# (\d+) "((?:[^"\\]|\\.)*)"((?: \d)*)\s*$')
_DIAG = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:(?P<col>\d+):)? (?P<kind>fatal error|error): "
                   r"(?P<msg>.*)$", re.M)


@dataclass(frozen=True)
class Preprocessed:
    """The preprocessor's output for a set of headers, and which files it read."""

    text: str
    main_files: tuple[str, ...]      # the headers named on the command line, as given
    user_files: frozenset[str]       # files not flagged as system headers (declarations imported)
    macros: dict[str, str]           # object-like and function-like macros: name -> definition
    builtin_file: str                # the generated include, never reported


def compiler() -> str:
    """The C compiler: $CC, else cc, gcc or clang from PATH."""
    cc = find_compiler()
    if cc is not None:
        return cc
    raise HeaderError([HeaderProblem("HDR-no-compiler", "no C compiler found (cc, gcc or clang)",
                                     Where("<environment>", 0),
                                     "install one (`apt-get install gcc`) or set CC")])


def preprocess(headers: list[str], include_dirs: list[str], defines: list[str]) -> Preprocessed:
    """Preprocess `headers` as one translation unit (each included in turn)."""
    missing = [h for h in headers if not Path(h).is_file()]
    if missing:
        raise HeaderError([HeaderProblem("HDR-io", "header not found", Where(h, 0),
                                         "pass the path of an existing header") for h in missing])
    cc = shlex.split(compiler())
    with tempfile.TemporaryDirectory(prefix="ffispec-") as tmp:
        builtin = Path(tmp, "ffispec_builtins.h")
        builtin.write_text(BUILTIN_TYPES, encoding="utf-8")
        unit = Path(tmp, "ffispec_unit.c")
        unit.write_text("".join(f'#include "{Path(h).resolve()}"\n' for h in headers), encoding="utf-8")
        flags = [*(f"-I{d}" for d in include_dirs), *(f"-D{d}" for d in defines)]
        gnu = [f"-D{d}" for d in GNU_DEFINES]
        text = _run([*cc, "-E", "-std=c11", *gnu, *flags, "-include", str(builtin), str(unit)], headers)
        macro_text = _run([*cc, "-E", "-dM", "-std=c11", *flags, str(unit)], headers)
        text = text.replace(str(unit), "<unit>").replace(str(builtin), "<builtins>")
    resolved = {str(Path(h).resolve()): h for h in headers}
    text, user = _rename_and_classify(text, resolved)
    return Preprocessed(text=text, main_files=tuple(headers), user_files=frozenset(user),
                        macros=_macros(macro_text), builtin_file="<builtins>")


def _run(argv: list[str], headers: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise HeaderError([HeaderProblem("HDR-no-compiler", f"cannot run {argv[0]}: {exc.strerror}",
                                         Where("<environment>", 0), "install a C compiler or set CC")]) from None
    if proc.returncode != 0:
        problems = [HeaderProblem("HDR-preprocess", m["msg"],
                                  Where(_relative(m["file"]), int(m["line"]), int(m["col"] or 0)),
                                  "fix the header, or pass -I DIR / -D NAME so it preprocesses")
                    for m in _DIAG.finditer(proc.stderr)]
        if not problems:
            first = proc.stderr.strip().splitlines()[:1] or ["no message"]
            problems = [HeaderProblem("HDR-preprocess", f"the preprocessor failed: {first[0]}",
                                      Where(headers[0], 0), "run the compiler by hand to see why")]
        raise HeaderError(problems)
    return proc.stdout


def _rename_and_classify(text: str, resolved: dict[str, str]) -> tuple[str, set[str]]:
    """Line markers name absolute paths; the headers given on the command line are renamed back
    to the spelling the user gave. Files the preprocessor flags as system headers (flag 3) are
    not the user's: their declarations are used for types only."""
    user: set[str] = set()
    system: set[str] = set()
    out = []
    for line in text.split("\n"):
        if line.startswith("# "):
            m = _MARKER.match(line)
            if m:
                name = m.group(2)
                shown = resolved.get(name) or _relative(name)
                flags = m.group(3).split()
                # Classified when entered: a `3` on a later marker only says a system macro
                # expanded there (`bool` from stdbool.h).
                if "1" in flags or (shown not in user and shown not in system):
                    (system if "3" in flags else user).add(shown)
                if shown != name:
                    line = f'# {m.group(1)} "{shown}"{m.group(3)}'
        out.append(line)
    return "\n".join(out), user - system - {"<unit>", "<builtins>", "<built-in>", "<command-line>"}


_DEFINE = re.compile(r"^#define (\w+)(\([^)]*\))?(?: (.*))?$")


def _macros(text: str) -> dict[str, str]:
    macros = {}
    for line in text.splitlines():
        m = _DEFINE.match(line)
        if m:
            macros[m.group(1)] = (m.group(2) or "") + "\0" + (m.group(3) or "")
    return macros


def _relative(name: str) -> str:
    """A file under the working directory is shown relative to it, as a user would name it."""
    if not name.startswith("/"):
        return name
    try:
        return str(Path(name).relative_to(Path.cwd()))
    except ValueError:
        return name
