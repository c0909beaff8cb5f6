"""The prose a header's comments use for contract facts, and the structured clauses the
generator writes (`Rules: ...`, `Ownership: ...`, `Written ...`, `On error: ...`). Each reader
returns the fact and the words it came from, so a guess can say why it was made."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

NULLABLE = re.compile(r"\b(?:may|can|could) be NULL\b|\bNULL is (?:allowed|accepted|a no-op|ignored)\b|"
                      r"\bis optional\b|\bor NULL\b|\bNULL (?:for|to) (?:none|ignore|skip)\b", re.I)
NOT_NULL = re.compile(r"\b(?:must|shall|cannot|can ?not|may not) (?:not )?be NULL\b|\bnon-NULL\b|\bnot NULL\b|"
                      r"\bmust be non-?null\b|\bmust be valid\b", re.I)
GLOBAL_NULLABLE = re.compile(r"\ball pointers (?:can|may) be NULL\b|\bany pointer (?:can|may) be NULL\b", re.I)
THREAD_UNSAFE = re.compile(r"\bnot thread[- ]safe\b|\bnot safe (?:to call )?(?:from|across) (?:multiple )?threads\b|"
                           r"\bsingle-threaded\b", re.I)
EXTERNALLY_SYNCHRONIZED = re.compile(r"\bexternally synchroni[sz]ed\b", re.I)
NO_GAPS = re.compile(r"\b(?:has|have|with) no gaps\b|\bsequential\b|\bcontiguous\b|\bconsecutive\b", re.I)
THREAD_SAFE = re.compile(r"\bthread[- ]safe\b|\bsafe from (?:any|multiple) threads?\b|\bconcurrent[- ]safe\b|"
                         r"\bsafe to call concurrently\b|\bmay be called concurrently\b", re.I)
FREE_WITH = re.compile(r"\b(?:caller must (?:free|release|destroy)(?: it)? (?:with|using|by calling)|"
                       r"release it with|free(?:d)? (?:it )?with|must be (?:freed|released|destroyed) "
                       r"(?:with|by|using)|caller must call)\s+`?(\w+)", re.I)
STATIC = re.compile(r"\bstatic (?:string|storage|buffer|memory)\b|\b(?:must|should) not (?:be )?free|"
                    r"\bnever free|\bdo not free\b|\bowned by the library\b", re.I)
NULL_ON_ERROR = re.compile(r"\bNULL (?:on|if|when) (?:failure|error|it fails)\b|\bor NULL on\b|"
                           r"\breturns? NULL if\b", re.I)
RANGE = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?)\s*(?:–|—|-|\.\.\.?|to)\s*(-?\d+(?:\.\d+)?)(?![\w.])")
MIN_ONLY = re.compile(r"\b(?:at least|>=|minimum(?: of)?|no less than)\s+(-?\d+(?:\.\d+)?)\b", re.I)
FAILS = re.compile(r"\b(?:on|if|when) (?:failure|error)\b|\bfails?\b|\bfailed\b|\berror\b|\bif (?:\w+ is )?NULL\b|"
                   r"\bindistinguishable\b", re.I)
FALSE_MEANS = re.compile(r"\bfalse\b(?:\s+(?:on|if|when|means|=|:|otherwise))?\s*([^.;]*)", re.I)

_RULES = re.compile(r"^(?P<doc>.*?)(?:\s*Rules: (?P<rules>.*?)\.(?= Ownership:| Written | On failure:| NULL means:"
                    r"| Always | Bindings allocate |$))?(?:\s*Ownership: (?P<own>\w+)\.)?"
                    r"(?:\s*Written (?P<written>[\w ]+)\.)?"
                    r"(?:\s*On failure: (?P<on_failure>\w+)\.)?(?:\s*NULL means: (?P<null_means>.*?)\.)?"
                    r"(?:\s*Always (?P<fixed>\w+)\.)?(?:\s*Bindings allocate (?P<capacity>\d+)\.)?$", re.S)
_RETURN = re.compile(r"^(?P<doc>.*?)(?:\s*May be NULL\.(?P<nullable>))?(?:\s*Ownership: (?P<own>\w+)\.)?"
                     r"(?:\s*On error: (?P<on_error>.*?)\.(?= false with| |$))?"
                     r"(?:\s*false with code 0 means (?P<false>.*)\.)?$", re.S)


@dataclass(frozen=True)
class ParamClauses:
    doc: str
    rules: list[str]
    ownership: str | None
    written: str | None
    extra: dict[str, Any] = field(default_factory=dict)  # on_failure, null_means, fixed, capacity


def param_clauses(text: str) -> ParamClauses:
    """Split the generator's structured clauses off a parameter's doc text."""
    m = _RULES.match(text.strip())
    extra_keys = ("on_failure", "null_means", "fixed", "capacity")
    if not m or not (m["rules"] or m["own"] or m["written"] or any(m[k] for k in extra_keys)):
        return ParamClauses(text.strip(), [], None, None)
    rules = [r.strip() for r in (m["rules"] or "").split(";") if r.strip()]
    written = m["written"].strip().replace(" ", "_") if m["written"] else None
    extra: dict[str, Any] = {k: m[k] for k in extra_keys if m[k]}
    if "capacity" in extra:
        extra["capacity"] = int(extra["capacity"])
    return ParamClauses(m["doc"].strip(), rules, m["own"], written, extra)


def return_clauses(text: str) -> dict[str, Any]:
    m = _RETURN.match(text.strip())
    if not m:
        return {"doc": text.strip()}
    return {"doc": m["doc"].strip(), "nullable": m["nullable"] is not None, "ownership": m["own"],
            "on_error": m["on_error"], "false_means": m["false"]}


def number(text: str) -> int | float:
    return float(text) if "." in text or "e" in text.lower() or "inf" in text else int(text)


def parse_rule(rule: str) -> tuple[str, Any] | None:
    """One `Rules:` item -> (field, value): nullability, range, allowed set, UTF-8, length."""
    if rule == "may be NULL":
        return "nullable", True
    if rule == "must not be NULL":
        return "nullable", False
    if rule == "precondition: breaking it is undefined behaviour":
        return "precondition", True
    if rule == "valid UTF-8":
        return "utf8", True
    m = re.fullmatch(r"at least (\d+) byte\(s\)", rule)
    if m:
        return "min_bytes", int(m.group(1))
    m = re.fullmatch(r"capacity given by (\w+)", rule)
    if m:
        return "len", m.group(1)
    m = re.fullmatch(r"else ([A-Z][A-Z0-9_]*)", rule)
    if m:
        return "on_violation", m.group(1)
    m = re.fullmatch(r"one of (.*)", rule)
    if m:
        return "allowed", [(int(v), n) for v, n in re.findall(r"(-?\d+) \((\w+)\)", m.group(1))]
    finite = rule.startswith("finite, ")
    body = rule.removeprefix("finite, ")
    rng: dict[str, Any] = {}
    m = re.fullmatch(r">= (\S+)", body)
    if m:
        rng["min"] = number(m.group(1))
    m2 = re.fullmatch(r"<= (\S+)", body)
    if m2:
        rng["max"] = number(m2.group(1))
    m3 = re.fullmatch(r"\[(\S+), (\S+)\]", body)
    if m3:
        if m3.group(1) != "-inf":
            rng["min"] = number(m3.group(1))
        if m3.group(2) != "+inf":
            rng["max"] = number(m3.group(2))
    if rng or (finite and m3):
        if finite:
            rng["finite"] = True
        return "range", rng
    return None


def quote(text: str, m: re.Match[str] | None = None, width: int = 70) -> str:
    """The words a guess came from, short enough for a YAML comment."""
    if m is not None:
        start = max(0, m.start() - 20)
        text = ("…" if start else "") + text[start:m.end() + 30].strip()
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"
