"""The resolved rule tree: what the loader produces and every backend consumes.

The polars compiler, the DuckDB SQL translator, ``explain`` and the reference evaluator in
the tests all walk these same frozen dataclasses, so they cannot disagree on structure.

Null semantics (two-valued): a field test on a null value is False (``exists: false`` is
the one test that is True on null); ``and``/``or``/``not`` then work on plain booleans, so
``not sel`` is True when ``sel`` is False because its field was null.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from engine.documents import Pos

Op = Literal[
    "eq",
    "neq",
    "contains",
    "startswith",
    "endswith",
    "re",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "exists",
]
Status = Literal["experimental", "active", "retired"]

NOWHERE = Pos("<memory>", 1, 1)


@dataclass(frozen=True)
class FieldTest:
    """One ``field|modifiers: value`` entry of a selection.

    ``values`` are literals, or field names when ``fieldref`` is set; for ``between`` each
    value is a ``(low, high)`` pair; for ``exists`` a single bool. Several values OR
    (``match_all`` makes them AND). ``cased`` switches off case-insensitive text matching.
    """

    field: str
    op: Op
    values: tuple[Any, ...]
    cased: bool = False
    match_all: bool = False
    fieldref: bool = False
    key: str = dataclasses.field(default="", compare=False)
    pos: Pos = dataclasses.field(default=NOWHERE, compare=False)
    # Provenance, so that embedded tests can mock a list: the literal values written in the
    # rule and the names of the $lists whose items were merged into ``values``.
    literals: tuple[Any, ...] = dataclasses.field(default=(), compare=False)
    list_refs: tuple[str, ...] = dataclasses.field(default=(), compare=False)


@dataclass(frozen=True)
class Selection:
    """A named selection: OR over alternatives, each an AND of field tests."""

    name: str
    alternatives: tuple[tuple[FieldTest, ...], ...]
    pos: Pos = dataclasses.field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Sel:
    """Condition leaf: a resolved selection (``macro`` names the macro it came from)."""

    selection: Selection
    macro: str | None = None


@dataclass(frozen=True)
class And:
    """All items true."""

    items: tuple[Cond, ...]


@dataclass(frozen=True)
class Or:
    """Any item true."""

    items: tuple[Cond, ...]


@dataclass(frozen=True)
class Not:
    """The item is false (two-valued: a null field makes the item false, so this true)."""

    item: Cond


Cond = Sel | And | Or | Not


@dataclass(frozen=True)
class ExceptionTuple:
    """Falco-style exception: the hit is dropped when the row's fields equal one tuple."""

    name: str
    fields: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]
    pos: Pos = dataclasses.field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class RuleTest:
    """An embedded test: a mocked row (derived fields included) and the expected verdict."""

    expect: Literal["hit", "no_hit"]
    row: dict[str, Any]
    lists: dict[str, tuple[Any, ...]]
    name: str | None
    pos: Pos


@dataclass(frozen=True)
class ListDef:
    """A typed list of values that selections reference as ``$name``."""

    name: str
    type: str
    items: tuple[Any, ...]
    description: str
    pos: Pos


@dataclass(frozen=True)
class ReasonPart:
    """A piece of a reason template: literal text or a field placeholder."""

    text: str
    is_field: bool


@dataclass(frozen=True)
class Rule:
    """A fully resolved rule, ready for any backend."""

    id: str
    title: str
    description: str
    status: Status
    severity: str
    weight: float
    owner: str
    tags: tuple[str, ...]
    references: tuple[str, ...]
    valid_from: dt.date | None
    valid_until: dt.date | None
    reason: tuple[ReasonPart, ...]
    selections: tuple[Selection, ...]
    condition: Cond
    condition_text: str
    exceptions: tuple[ExceptionTuple, ...]
    tests: tuple[RuleTest, ...]
    version: str
    pos: Pos
    lists_used: tuple[str, ...] = ()
    macros_used: tuple[str, ...] = ()
    provenance: tuple[tuple[str, str], ...] = ()
    """Where an adopted rule came from (source unit, case note, adopted by, adopted at)."""
    translations: tuple[tuple[str, str, tuple[ReasonPart, ...]], ...] = ()
    """(locale, title, reason) in the languages other than English that the rule gives;
    ``title`` and ``reason`` above are the English ones."""

    def title_in(self, locale: str) -> str:
        """The title in ``locale``; English where the rule gives none in that language."""
        return next((t for loc, t, _ in self.translations if loc == locale), self.title)

    def reason_in(self, locale: str) -> tuple[ReasonPart, ...]:
        """The reason template in ``locale``; English where the rule gives none in it."""
        return next((r for loc, _, r in self.translations if loc == locale), self.reason)

    def fields(self) -> set[str]:
        """Every field the rule's logic reads (selections, macros, fieldrefs, exceptions)."""
        names: set[str] = set()
        for test in iter_tests(self.condition):
            names.add(test.field)
            if test.fieldref:
                names.update(str(v) for v in test.values)
        for exc in self.exceptions:
            names.update(exc.fields)
        return names

    def reason_fields(self, locale: str = "en") -> list[str]:
        """Fields the reason template (in ``locale``) shows."""
        return [p.text for p in self.reason_in(locale) if p.is_field]


def iter_selections(cond: Cond) -> list[Sel]:
    """The selection leaves of a condition, left to right."""
    if isinstance(cond, Sel):
        return [cond]
    if isinstance(cond, Not):
        return iter_selections(cond.item)
    out: list[Sel] = []
    for item in cond.items:
        out.extend(iter_selections(item))
    return out


def iter_tests(cond: Cond) -> list[FieldTest]:
    """Every field test under a condition."""
    return [
        test
        for leaf in iter_selections(cond)
        for alternative in leaf.selection.alternatives
        for test in alternative
    ]
