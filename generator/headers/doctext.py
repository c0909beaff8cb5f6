"""What a doc comment states, by line: Doxygen tags (`@brief`, `@param[in]`, `@return`,
`@retval`, `@par Title`, `@note`, `@deprecated`, `@since`, `@ingroup`) and common prose
sections ("Error codes:", "Thread safety:", "Returns:")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from generator.headers.comments import Comment
from generator.headers.problems import Where

_TAG = re.compile(r"^[@\\](\w+)(\[[\w, ]+\])?\s*(.*)$")
# Prose section headings some headers use instead of tags.
_PROSE_SECTION = re.compile(r"^(Error codes|Errors|Returns?|Thread[- ]safety|Thread safe|Ownership|Note|"
                            r"Notes|Parameters|Params)\s*:\s*(.*)$", re.I)
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]\s+)?([A-Z][A-Z0-9_]{2,})\b\s*(?:\(([^)]*)\))?\s*[-:–—=]*\s*(.*)$")


@dataclass(frozen=True)
class Text:
    """A piece of doc text and the header line it starts on."""

    text: str
    where: Where


@dataclass
class ParamDoc:
    name: str
    direction: str | None
    text: str
    where: Where


@dataclass
class DocFacts:
    comment: Comment | None
    brief: Text | None = None
    details: list[Text] = field(default_factory=list)
    params: dict[str, ParamDoc] = field(default_factory=dict)
    returns: Text | None = None
    retvals: list[tuple[str, Text]] = field(default_factory=list)
    errors: list[tuple[str, Text]] = field(default_factory=list)   # (C name, its description)
    errors_stated: Text | None = None                               # where the error list is
    thread: Text | None = None
    requirements: list[str] = field(default_factory=list)
    notes: list[Text] = field(default_factory=list)
    deprecated: Text | None = None
    since: Text | None = None
    group: Text | None = None
    role: Text | None = None
    sections: dict[str, Text] = field(default_factory=dict)

    @property
    def all_text(self) -> str:
        return self.comment.text if self.comment else ""

    def prose(self) -> list[Text]:
        """Every piece of text, for phrase searches with a location."""
        out = [t for t in (self.brief, self.returns, self.thread, self.deprecated) if t]
        out += self.details + self.notes + [t for _, t in self.retvals]
        out += [Text(p.text, p.where) for p in self.params.values()]
        return out


_CACHE: dict[int, tuple[Comment, DocFacts]] = {}


def parse(comment: Comment | None) -> DocFacts:
    """The facts of a comment; declarations grouped under one comment share one parse."""
    if comment is None:
        return DocFacts(None)
    hit = _CACHE.get(id(comment))
    if hit is not None and hit[0] is comment:
        return hit[1]
    facts = _parse(comment)
    if len(_CACHE) > 4096:
        _CACHE.clear()
    _CACHE[id(comment)] = (comment, facts)
    return facts


def _parse(comment: Comment) -> DocFacts:
    facts = DocFacts(comment)
    blocks = _blocks(comment)
    prose: list[Text] = []
    for tag, arg, text, where, items in blocks:
        t = Text(text, where)
        if tag is None:
            head = _PROSE_SECTION.match(items[0].strip()) if items else None
            if head:
                _section(facts, head.group(1), [head.group(2), *items[1:]], where)
            else:
                prose.append(t)
        elif tag == "brief" or tag == "short":
            facts.brief = t
        elif tag in ("param", "arg"):
            name, _, rest = text.partition(" ")
            direction = {"[in]": "in", "[out]": "out", "[in,out]": "inout", "[inout]": "inout",
                         "[in, out]": "inout"}.get((arg or "").replace(" ", "")) if arg else None
            facts.params[name] = ParamDoc(name, direction, rest.strip(), where)
        elif tag in ("return", "returns", "result"):
            facts.returns = t
        elif tag == "retval":
            name, _, rest = text.partition(" ")
            facts.retvals.append((name, Text(rest.strip(), where)))
        elif tag == "par":
            title, body = items[0] if items else "", items[1:] if items else []
            _section(facts, title.strip().rstrip(":"), body, where)
        elif tag in ("note", "remark", "remarks", "warning", "attention"):
            facts.notes.append(t)
        elif tag == "deprecated":
            facts.deprecated = t
        elif tag == "since":
            facts.since = t
        elif tag == "ingroup":
            facts.group = Text(text.split()[0] if text else "", where)
        elif tag in ("thread_safety", "threadsafe"):
            facts.thread = t
        elif tag == "throws" or tag == "exception":
            facts.errors.append((text.split()[0] if text else "", t))
        else:
            facts.sections[tag] = t
    # Untagged prose: the brief is the first paragraph; prose sections are recognised by title.
    if facts.brief is None and prose:
        facts.brief = prose.pop(0)
    facts.details = prose
    return facts


def _section(facts: DocFacts, title: str, body: list[str], where: Where) -> None:
    key = title.lower().replace("-", " ")
    text = " ".join(b.strip() for b in body).strip()
    if key in ("errors", "error codes"):
        facts.errors_stated = Text(text, where)
        for line in body:
            m = _LIST_ITEM.match(line)
            if m:
                facts.errors.append((m.group(1), Text(" ".join(x for x in (m.group(2), m.group(3)) if x).strip(),
                                                      where)))
    elif key.startswith("thread"):
        facts.thread = Text(text or title, where)
    elif key == "requirements":
        facts.requirements = [r.strip() for r in text.split(",") if r.strip()]
    elif key == "role":
        facts.role = Text(text, where)
    elif key in ("returns", "return"):
        facts.returns = Text(text, where)
    elif key.startswith("note"):
        facts.notes.append(Text(text, where))
    else:
        facts.sections[title] = Text(text, where)


def _blocks(comment: Comment) -> list[tuple[str | None, str | None, str, Where, list[str]]]:
    """Split a comment into paragraphs: (tag, tag argument, joined text, where, raw lines).
    A tag's paragraph runs to the next tag or blank line; `@par` and prose sections keep
    their lines (lists)."""
    out: list[tuple[str | None, str | None, str, Where, list[str]]] = []
    cur: list[str] | None = None
    cur_tag: str | None = None
    cur_arg: str | None = None
    cur_where = comment.where
    listy = False

    def flush() -> None:
        nonlocal cur
        if cur is not None and (any(x.strip() for x in cur) or cur_tag):
            joined = " ".join(x.strip() for x in cur if x.strip())
            out.append((cur_tag, cur_arg, joined, cur_where, list(cur)))
        cur = None

    for line, text in comment.lines:
        stripped = text.strip()
        m = _TAG.match(stripped)
        if m and m.group(1) not in ("p", "c", "a", "ref", "b", "e", "em"):
            flush()
            cur_tag, cur_arg, cur_where = m.group(1).lower(), m.group(2), Where(comment.file, line)
            cur = [m.group(3)]
            listy = cur_tag == "par"
            continue
        if not stripped:
            if cur is not None and listy and len(cur) == 1:
                continue
            flush()
            cur_tag, cur_arg, listy = None, None, False
            continue
        if cur is None:
            cur_tag, cur_arg, cur_where = None, None, Where(comment.file, line)
            cur = []
            listy = bool(_PROSE_SECTION.match(stripped))
        elif cur_tag is None and not listy and _PROSE_SECTION.match(stripped):
            flush()
            cur_tag, cur_arg, cur_where, cur = None, None, Where(comment.file, line), []
            listy = True
        cur.append(text)
    flush()
    return out
