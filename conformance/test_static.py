"""Header vs spec and binary vs spec: declarations, types, enum values, exports, contract hash.

The header is parsed with pycparser after the preprocessor (with small stand-ins for the three
standard headers it includes, so the AST holds only the contract); the binary's exports are
read from its ELF dynamic symbol table with `nm -D --defined-only`.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from pycparser import c_ast, c_generator, c_parser

from conformance import contract
from conformance.library import header_path as spec_header
from conformance.violations import ContractViolation

# Stand-ins for <stdbool.h>, <stddef.h>, <stdint.h>: pycparser cannot read glibc's.
_STD_STUBS = {
    "stdbool.h": "typedef _Bool bool;\n#define true 1\n#define false 0\n",
    "stddef.h": "typedef unsigned long size_t;\n#define NULL ((void*)0)\n",
    "stdint.h": "".join(f"typedef {c} {n};\n" for n, c in [
        ("int8_t", "signed char"), ("uint8_t", "unsigned char"), ("int16_t", "short"),
        ("uint16_t", "unsigned short"), ("int32_t", "int"), ("uint32_t", "unsigned int"),
        ("int64_t", "long"), ("uint64_t", "unsigned long"), ("uintptr_t", "unsigned long")]),
}
_ELF_BOILERPLATE = {"_init", "_fini", "_edata", "_end", "__bss_start"}


@pytest.fixture(scope="module")
def header_path(pytestconfig) -> Path:
    given = pytestconfig.getoption("--header", None)
    return Path(given).resolve() if given else spec_header()


@pytest.fixture(scope="module")
def parsed_header(header_path, tmp_path_factory, spec):
    stubs = tmp_path_factory.mktemp("std")
    for name, text in {**_library_stubs(spec), **_STD_STUBS}.items():
        (stubs / name).parent.mkdir(parents=True, exist_ok=True)
        (stubs / name).write_text(text)
    base = ["gcc", "-E", "-nostdinc", "-I", os.fspath(stubs), "-D__attribute__(x)=",
            "-std=c11", os.fspath(header_path)]
    text = subprocess.run(base, check=True, capture_output=True, text=True).stdout
    macros = subprocess.run([*base[:2], "-dM", *base[2:]], check=True, capture_output=True,
                            text=True).stdout
    ast = c_parser.CParser().parse(text, filename=os.fspath(header_path))
    defines = dict(re.findall(r"^#define (\w+) (.*)$", macros, re.M))
    return ast, defines


def _library_stubs(spec) -> dict[str, str]:
    """Stand-ins for the library's own headers (existing-library specs reference types there):
    just the declarations the spec says each one provides."""
    out: dict[str, list[str]] = {}
    for h in spec.handles:
        if getattr(h, "header", None):
            out.setdefault(h.header, []).append(f"typedef struct {h.tag} {h.name};")
    for t in getattr(spec, "types", ()):
        if getattr(t, "header", None):
            out.setdefault(t.header, []).append(t.c_declaration)
    if getattr(spec.errors, "header", None):
        out.setdefault(spec.errors.header, [])
    return {name: "\n".join(lines) + "\n" for name, lines in out.items()}


def _fail_on(problems: list[str], rules) -> None:
    """One failure listing every problem, named by the first problem's `[RULE-ID]`."""
    if problems:
        first = rules[problems[0][1:problems[0].index("]")]]
        raise ContractViolation(first, f"{len(problems)} problem(s):\n" + "\n".join(problems))


def _type_text(node) -> str:
    text = c_generator.CGenerator().visit(node)
    return re.sub(r"\s*\*", "*", text).strip()


def _declarations(ast) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """name -> (return type, [(param type, param name)]) for every function declaration."""
    out = {}
    for ext in ast.ext:
        if isinstance(ext, c_ast.Decl) and isinstance(ext.type, c_ast.FuncDecl):
            fdecl = ext.type
            ret = _type_text(c_ast.Typename(None, [], None, fdecl.type))
            ret = re.sub(r"\b" + re.escape(ext.name) + r"\b", "", ret).strip()
            params = []
            for p in (fdecl.args.params if fdecl.args else []):
                if isinstance(p, c_ast.Typename) and _type_text(p) == "void":
                    continue
                name = p.name or ""
                t = _type_text(c_ast.Typename(None, p.quals, None, p.type))
                t = re.sub(r"\b" + re.escape(name) + r"\b", "", t).strip() if name else t
                params.append((re.sub(r"\s*\*", "*", t), name))
            out[ext.name] = (ret, params)
    return out


def test_header_declares_every_function_as_specified(parsed_header, spec, rules, header_path):
    ast, _ = parsed_header
    decls = _declarations(ast)
    problems = []
    for fn in spec.functions:
        rule = rules[f"HDR-{fn.name}"]
        if fn.name not in decls:
            problems.append(f"[{rule.id}] {rule.location}: {fn.name} is not declared")
            continue
        ret, params = decls[fn.name]
        want = (fn.returns.ctype.c, [(p.ctype.c, p.name) for p in fn.params])
        if (ret, params) != want:
            problems.append(f"[{rule.id}] {rule.location}: {header_path.name} declares "
                            f"{ret} {fn.name}({', '.join(' '.join(x) for x in params)}), the spec "
                            f"says `{fn.c_signature}`")
    undeclared = sorted(set(decls) - {f.name for f in spec.functions})
    if undeclared:
        r = rules["HDR-undeclared"]
        problems.append(f"[{r.id}] {r.location}: the header declares {undeclared}, not in the spec")
    _fail_on(problems, rules)


def test_header_enum_and_handle_types_match_the_spec(parsed_header, spec, rules):
    ast, defines = parsed_header
    enums = {}
    typedef_structs = set()
    for ext in ast.ext:
        if isinstance(ext, c_ast.Typedef) and isinstance(ext.type.type, c_ast.Enum):
            en = ext.type.type
            value = -1
            members = {}
            for e in en.values.enumerators:
                value = int(e.value.value, 0) if e.value is not None else value + 1
                members[e.name] = value
            enums[ext.name] = members
        if isinstance(ext, c_ast.Typedef) and isinstance(ext.type.type, c_ast.Struct):
            if ext.type.type.decls is None and ext.type.type.name == ext.name:
                typedef_structs.add(ext.name)
    problems = []
    emitted = getattr(spec.errors, "emitted", True) and spec.errors.enum
    want = {c.name: c.value for c in spec.errors.codes} if emitted else {}
    got = enums.get(spec.errors.enum, {}) if emitted else {}
    for name, value in want.items():
        if got.get(name) != value:
            r = rules[f"ERR-{name}-value"]
            problems.append(f"[{r.id}] {r.location}: header has {name} = {got.get(name)}, "
                            f"the spec pins {value}")
    extra = set(got) - set(want)
    if extra:
        r = rules["HDR-enum"]
        problems.append(f"[{r.id}] {r.location}: enumerators not in the spec: {sorted(extra)}")
    for h in spec.handles:
        if getattr(h, "emitted", True) and h.name not in typedef_structs:
            r = rules["HDR-typedefs"]
            problems.append(f"[{r.id}] {r.location}: `typedef struct {h.name} {h.name};` missing")
    # The header's constants: contract hash, and the allowed values it names.
    hash_macro = f"{getattr(spec, 'macro_prefix', spec.interface.name.upper())}_CONTRACT_HASH"
    if "BIN-contract-hash" in rules and hash_macro in defines and \
            defines[hash_macro].strip('"') != spec.contract_hash:
        r = rules["BIN-contract-hash"]
        problems.append(f"[{r.id}] {r.location}: the header was generated from another contract "
                        f"({hash_macro} {defines.get(hash_macro)})")
    for fn in spec.functions:
        for p in fn.params:
            for a in p.allowed:
                macro = next((k for k in defines if k.endswith("_" + a.name)
                              and k.startswith(spec.interface.c_prefix.upper())), None)
                if macro is None or int(defines[macro], 0) != a.value:
                    r = rules[f"FN-{fn.name}-{p.name}-allowed"]
                    problems.append(f"[{r.id}] {r.location}: constant for {a.name} = {a.value} "
                                    f"is {macro and defines[macro]}")
    _fail_on(problems, rules)


def test_header_compiles_as_c_and_cxx(header_path, tmp_path, rules):
    src = tmp_path / "use.c"
    src.write_text(f'#include "{header_path}"\nint main(void) {{ return 0; }}\n')
    for cmd in (["gcc", "-std=c11"], ["g++", "-std=c++17", "-x", "c++"]):
        res = subprocess.run([*cmd, "-Wall", "-Wextra", "-Werror", "-fsyntax-only", os.fspath(src)],
                             capture_output=True, text=True)
        if res.returncode != 0:
            r = rules["HDR-typedefs"]
            _fail_on([f"[{r.id}] {r.location}: {' '.join(cmd)} -Werror fails: {res.stderr}"], rules)


@pytest.fixture(scope="module")
def exported(library) -> set[str]:
    out = subprocess.run(["nm", "-D", "--defined-only", os.fspath(library.path)], check=True,
                         capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()} - _ELF_BOILERPLATE


def test_binary_exports_exactly_the_spec_functions(exported, spec, rules, library):
    problems = []
    for fn in spec.functions:
        if fn.name not in exported:
            r = rules[f"BIN-{fn.name}-export"]
            problems.append(f"[{r.id}] {r.location}: {library.path.name} does not export {fn.name}")
    # A spec describing an existing library covers a subset of its exports; a contract-first
    # library exports exactly the spec.
    targets = getattr(spec, "targets", None)
    subset = targets is not None and not targets.contract_first
    undeclared = [] if subset else sorted(exported - {f.name for f in spec.functions})
    if undeclared:
        r = rules["BIN-undeclared-export"]
        problems.append(f"[{r.id}] {r.location}: exported but not in the spec: {undeclared}")
    _fail_on(problems, rules)


ROLES = {f.role: f for f in contract.load().functions if f.role}


@pytest.mark.isolated
@pytest.mark.skipif("contract_hash" not in ROLES and "contract_version" not in ROLES,
                    reason="the spec declares no contract_hash or contract_version role")
def test_binary_reports_the_spec_contract(caller, spec, rules):
    if "contract_hash" in ROLES:
        o = caller.call(ROLES["contract_hash"].name)
        if o.ret != spec.contract_hash.encode():
            raise caller.violation("BIN-contract-hash", f"the library reports contract hash "
                                   f"{o.ret!r}, the spec's is {spec.contract_hash}")
    if "contract_version" in ROLES:
        o = caller.call(ROLES["contract_version"].name)
        if o.ret != spec.interface.version.encode():
            raise caller.violation("BIN-contract-version", f"the library reports version {o.ret!r}, "
                                   f"the spec {spec.interface.version}")


@pytest.mark.isolated
@pytest.mark.skipif("error_message" not in ROLES, reason="the spec declares no error_message role")
def test_error_messages_are_the_pinned_ones(caller, spec, rules):
    fn = ROLES["error_message"]
    arg = next(p.name for p in fn.params if p.direction == "in")
    for code in spec.errors.codes:
        o = caller.call(fn.name, **{arg: code.value})
        if o.ret != code.message.encode():
            raise caller.violation(f"ERR-{code.name}-message", f"{fn.name}({code.value}) "
                                   f"is {o.ret!r}, pinned {code.message!r}")
    known = {c.value for c in spec.errors.codes}
    for value in (-1, 10, 98, 100, 2**31 - 1, -(2**31), *(v + 1 for v in known)):
        if value in known:
            continue
        o = caller.call(fn.name, **{arg: value})
        if o.ret != spec.errors.unrecognized_message.encode():
            raise caller.violation("ERR-unrecognized-message", f"{fn.name}({value}) is {o.ret!r}")
