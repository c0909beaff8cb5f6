"""C source of pycparser nodes: the canonical spelling of a type (`const char*`, `sqlite3**`,
`unsigned int`) and of an expression, and a walk over a node's subtree."""

from __future__ import annotations

from pycparser import c_ast, c_generator  # type: ignore[import-untyped]

GENERATOR = c_generator.CGenerator()


def walk(node: c_ast.Node):  # type: ignore[no-untyped-def]
    yield node
    for _, child in node.children():
        yield from walk(child)


def spell(t: c_ast.Node) -> tuple[str, bool]:
    """A type's canonical spelling (`const char*`, `sqlite3**`, `unsigned int`), and whether it
    is a pointer to a function."""
    stars = 0
    while isinstance(t, (c_ast.PtrDecl, c_ast.ArrayDecl)):
        if isinstance(t.type, c_ast.FuncDecl):
            return GENERATOR.visit(_strip_names(t)).strip(), True
        stars += 1
        t = t.type
    if isinstance(t, c_ast.FuncDecl):
        return GENERATOR.visit(_strip_names(t)).strip(), True
    quals = [q for q in getattr(t, "quals", []) if q in ("const", "volatile")]
    inner = t.type if isinstance(t, c_ast.TypeDecl) else t
    if isinstance(inner, c_ast.IdentifierType):
        base = " ".join(inner.names)
    elif isinstance(inner, (c_ast.Struct, c_ast.Union, c_ast.Enum)):
        kind = {c_ast.Struct: "struct", c_ast.Union: "union", c_ast.Enum: "enum"}[type(inner)]
        base = f"{kind} {inner.name or '(anonymous)'}"
    else:
        base = GENERATOR.visit(inner)
    base = {"_Bool": "bool"}.get(base, base)  # <stdbool.h>'s `bool` reaches the parser expanded
    return (" ".join([*quals, base]) + "*" * stars), False


def _strip_names(t: c_ast.Node) -> c_ast.Node:
    """A copy-free rendering helper: pycparser prints declarator names; clear them."""
    for sub in walk(t):
        if isinstance(sub, c_ast.TypeDecl):
            sub.declname = None
    return c_ast.Typename(None, [], None, t)
