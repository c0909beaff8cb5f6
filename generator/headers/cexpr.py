"""Integer constant expressions of C (enumerator values, `#define` bodies), evaluated safely."""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable

_INT = re.compile(r"\b(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([uUlL]*)\b")
_TOKENS = re.compile(r"^[\w\s()+\-*/%<>|&^~!]*$")
_BIN: dict[type, Callable[[int, int], int]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.FloorDiv: lambda a, b: int(a / b), ast.Mod: lambda a, b: a - b * int(a / b),
    ast.LShift: operator.lshift, ast.RShift: operator.rshift, ast.BitOr: operator.or_,
    ast.BitAnd: operator.and_, ast.BitXor: operator.xor,
}


class NotConstant(ValueError):
    pass


def evaluate(text: str, lookup: Callable[[str], int | None]) -> int:
    """The value of `text`; names are resolved through `lookup` (None: not a constant)."""
    text = text.strip()
    if not text or not _TOKENS.match(text) or "//" in text:
        raise NotConstant(text)
    py = _INT.sub(lambda m: str(int(m.group(1), 0) if not re.fullmatch(r"0[0-7]+", m.group(1))
                                else int(m.group(1), 8)), text)
    py = py.replace("/", "//").replace("!", " not ")
    try:
        tree = ast.parse(py, mode="eval")
    except SyntaxError:
        raise NotConstant(text) from None
    return _eval(tree.body, lookup, text)


def _eval(node: ast.AST, lookup: Callable[[str], int | None], text: str) -> int:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name):
        value = lookup(node.id)
        if value is None:
            raise NotConstant(text)
        return value
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, lookup, text)
        if isinstance(node.op, ast.USub):
            return -v
        if isinstance(node.op, ast.UAdd):
            return v
        if isinstance(node.op, ast.Invert):
            return ~v
        if isinstance(node.op, ast.Not):
            return int(not v)
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        right = _eval(node.right, lookup, text)
        if isinstance(node.op, (ast.FloorDiv, ast.Mod)) and right == 0:
            raise NotConstant(text)
        return _BIN[type(node.op)](_eval(node.left, lookup, text), right)
    raise NotConstant(text)
