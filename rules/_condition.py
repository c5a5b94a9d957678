"""The ``condition`` mini-language: and / or / not, parentheses, ``1 of x*``, ``all of x*``.

Grammar (lowest precedence first)::

    expr   := term ("or" term)*
    term   := factor ("and" factor)*
    factor := "not" factor | "(" expr ")" | quant "of" pattern | NAME
    quant  := "1" | "any" | "all"
    pattern:= NAME with optional "*" wildcards | "them"

Parsed into a small syntax tree with character offsets so errors point at a column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"\s*(?:(?P<punct>[()])|(?P<word>[A-Za-z0-9_*.\-]+)|(?P<bad>\S))")
KEYWORDS = frozenset({"and", "or", "not", "of"})


@dataclass(frozen=True)
class CRef:
    """A name: a selection of the rule, or a macro."""

    name: str
    offset: int


@dataclass(frozen=True)
class COf:
    """``1 of pattern`` / ``all of pattern`` over the rule's selections."""

    quantifier: str  # "any" or "all"
    pattern: str
    offset: int


@dataclass(frozen=True)
class CAnd:
    items: tuple[CNode, ...]


@dataclass(frozen=True)
class COr:
    items: tuple[CNode, ...]


@dataclass(frozen=True)
class CNot:
    item: CNode


CNode = CRef | COf | CAnd | COr | CNot


class ConditionSyntaxError(Exception):
    """A condition does not parse; ``offset`` is the character where it went wrong."""

    def __init__(self, message: str, offset: int, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint


def _tokens(text: str) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            break
        kind = m.lastgroup
        tok = m.group(kind) if kind else ""
        start = m.start(kind) if kind else pos
        if kind == "bad":
            raise ConditionSyntaxError(
                f"unexpected character '{tok}' in condition",
                start,
                "conditions use names, and, or, not, parentheses and '1 of'/'all of'",
            )
        out.append((tok, start))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, int]:
        tok = self.peek()
        if tok is None:
            raise ConditionSyntaxError(
                "condition ends too early", len(self.text), "a name or '(' is missing at the end"
            )
        self.i += 1
        return tok

    def parse(self) -> CNode:
        if not self.toks:
            raise ConditionSyntaxError("condition is empty", 0, "write e.g. 'reefer and source'")
        node = self.expr()
        tok = self.peek()
        if tok is not None:
            raise ConditionSyntaxError(
                f"unexpected '{tok[0]}'",
                tok[1],
                "join parts with 'and' / 'or', or balance parentheses",
            )
        return node

    def expr(self) -> CNode:
        items = [self.term()]
        while (tok := self.peek()) is not None and tok[0].lower() == "or":
            self.i += 1
            items.append(self.term())
        return items[0] if len(items) == 1 else COr(tuple(items))

    def term(self) -> CNode:
        items = [self.factor()]
        while (tok := self.peek()) is not None and tok[0].lower() == "and":
            self.i += 1
            items.append(self.factor())
        return items[0] if len(items) == 1 else CAnd(tuple(items))

    def factor(self) -> CNode:
        tok, off = self.take()
        low = tok.lower()
        if low == "not":
            return CNot(self.factor())
        if tok == "(":
            node = self.expr()
            close = self.peek()
            if close is None or close[0] != ")":
                where = close[1] if close else len(self.text)
                raise ConditionSyntaxError("missing ')'", where, f"'(' opened at column {off + 1}")
            self.i += 1
            return node
        if tok == ")":
            raise ConditionSyntaxError("unexpected ')'", off, "a name or '(' was expected here")
        nxt = self.peek()
        if low in ("1", "any", "all") and nxt is not None and nxt[0].lower() == "of":
            self.i += 1
            pattern, poff = self.take()
            if pattern in ("(", ")") or pattern.lower() in KEYWORDS:
                raise ConditionSyntaxError(
                    f"'{pattern}' is not a selection pattern",
                    poff,
                    "write e.g. '1 of sel_*' or 'all of them'",
                )
            return COf("all" if low == "all" else "any", pattern, off)
        if low in KEYWORDS or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", tok):
            raise ConditionSyntaxError(
                f"'{tok}' is not a selection or macro name", off, "names start with a letter or '_'"
            )
        return CRef(tok, off)


def parse_condition(text: str) -> CNode:
    """Parse a condition string; raises ConditionSyntaxError with the offending offset."""
    return _Parser(text).parse()
