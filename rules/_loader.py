"""Load a pack: YAML documents -> lists, macros and resolved rules, with every diagnostic.

Phase 1 reads every file (syntax, document kinds, lists); phase 2 resolves macros and rules
against the lists, macros and the field catalogue. Problems are collected, never raised one
at a time, so an author sees all of them in one `lookout rules check`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import polars as pl

from engine import documents as y
from engine.documents import Collector, Node, Pos, did_you_mean, validate_node
from engine.i18n import DEFAULT_LOCALE, LOCALES
from engine.identity import canonical_json, json_fingerprint
from rules._documents import (
    DOCUMENT_MODELS,
    PROVENANCE_KEYS,
    ListDocument,
    MacroDocument,
    RuleDocument,
)
from rules._ir import (
    Cond,
    ExceptionTuple,
    ListDef,
    ReasonPart,
    Rule,
    RuleTest,
    Selection,
)
from rules._match import MatchContext, MatchResolver
from rules._types import (
    LIST_TYPES,
    SEVERITY_BANDS,
    ValueProblem,
    coerce,
    family,
    list_item_problem,
)

__all__ = ["KINDS", "PROVENANCE_KEYS", "LoadResult", "load_sources", "pack_files"]

KINDS = tuple(DOCUMENT_MODELS)
_ID = re.compile(r"[a-z0-9][a-z0-9_.\-]*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


@dataclass
class _RawDoc:
    kind: str
    name: str
    file: str
    node: Node
    items: dict[str, tuple[Node, Node]]
    content: Any
    bad: set[str] = field(default_factory=set)  # top-level keys whose shape is wrong

    def part(self, key: str) -> Node | None:
        """The value node of ``key`` when present and well-formed (its model said so)."""
        if key in self.bad or key not in self.items:
            return None
        return self.items[key][1]


@dataclass
class LoadResult:
    """Everything phase 2 produced: rules (retired included), lists, macro names, hashes."""

    rules: list[Rule] = field(default_factory=list)
    lists: dict[str, ListDef] = field(default_factory=dict)
    macros: dict[str, str] = field(default_factory=dict)  # name -> content hash
    pack_hash: str = ""
    files: list[str] = field(default_factory=list)


def pack_files(path: Path) -> list[Path]:
    """The YAML files of a pack folder (recursively, sorted) or the single file given."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def load_sources(
    sources: list[tuple[str, str]],
    fields: Mapping[str, pl.DataType],
    out: Collector,
    *,
    today: dt.date | None = None,
) -> LoadResult:
    """Parse and resolve ``(file name, text)`` sources; diagnostics go to ``out``."""
    raws: list[_RawDoc] = []
    result = LoadResult()
    for file, text in sources:
        out.add_source(file, text)
        result.files.append(file)
        for node in y.compose_documents(text, file, out):
            raw = _read_document(node, file, out)
            if raw is not None:
                raws.append(raw)
    resolver = _Resolver(fields, out, today or dt.date.today())
    first_seen: dict[tuple[str, str], _RawDoc] = {}
    duplicates: list[_RawDoc] = []
    for raw in raws:
        key = ("rule" if raw.kind == "rule" else raw.kind, raw.name)
        if key in first_seen:
            prev = first_seen[key]
            p = _key_pos(raw, "id" if raw.kind == "rule" else "name")
            first = y.pos(prev.node, prev.file)
            out.error(
                p.file,
                p.line,
                p.col,
                f"duplicate {raw.kind} '{raw.name}'",
                f"first defined at {first.file}:{first.line}; ids and names must be unique",
            )
            duplicates.append(raw)
            continue
        first_seen[key] = raw
        if raw.kind == "list":
            listdef = resolver.read_list(raw)
            if listdef is not None:
                resolver.lists[listdef.name] = listdef
        elif raw.kind == "macro":
            resolver.raw_macros[raw.name] = raw
    for raw in first_seen.values():
        if raw.kind == "macro":
            resolver.macro(raw.name, y.pos(raw.node, raw.file), ())
        elif raw.kind == "rule":
            rule = resolver.rule(raw)
            if rule is not None:
                result.rules.append(rule)
    for raw in duplicates:  # still linted, so every problem shows in one run
        if raw.kind == "rule":
            resolver.rule(raw)
        elif raw.kind == "list":
            resolver.read_list(raw)
    result.lists = resolver.lists
    result.macros = {
        name: json_fingerprint(raw.content) for name, raw in resolver.raw_macros.items()
    }
    result.pack_hash = json_fingerprint(
        sorted(canonical_json({"kind": r.kind, "content": r.content}) for r in first_seen.values())
    )
    return result


def _key_pos(raw: _RawDoc, key: str) -> Pos:
    if key in raw.items:
        return y.pos(raw.items[key][1], raw.file)
    return y.pos(raw.node, raw.file)


def _read_document(node: Node, file: str, out: Collector) -> _RawDoc | None:
    p = y.pos(node, file)
    if not y.is_mapping(node):
        out.error(
            p.file,
            p.line,
            p.col,
            "a document must be a mapping with a 'kind'",
            "start each document with 'kind: rule', 'kind: list' or 'kind: macro'",
        )
        return None
    items = {k: (kn, vn) for k, kn, vn in y.mapping_items(node)}
    if "kind" not in items:
        out.error(
            p.file,
            p.line,
            p.col,
            "document has no 'kind'",
            "add 'kind: rule', 'kind: list' or 'kind: macro'",
        )
        return None
    kind_node = items["kind"][1]
    kind = y.value(kind_node) if y.is_scalar(kind_node) else None
    if kind not in KINDS:
        kp = y.pos(kind_node, file)
        out.error(
            kp.file,
            kp.line,
            kp.col,
            f"unknown kind {kind!r}",
            did_you_mean(str(kind), KINDS) or "kind is one of: list, macro, rule",
        )
        return None
    name_key = "id" if kind == "rule" else "name"
    if name_key not in items:
        out.error(
            p.file,
            p.line,
            p.col,
            f"{kind} has no '{name_key}'",
            f"every {kind} needs a unique '{name_key}'",
        )
        return None
    name_node = items[name_key][1]
    name = y.value(name_node) if y.is_scalar(name_node) else None
    pattern = _ID if kind == "rule" else _NAME
    if not isinstance(name, str) or not pattern.fullmatch(name):
        np_ = y.pos(name_node, file)
        out.error(
            np_.file,
            np_.line,
            np_.col,
            f"invalid {name_key} {name!r}",
            "rule ids: lower-case letters, digits, '-', '_', '.'; names: letters, "
            "digits and '_' starting with a letter",
        )
        return None
    return _RawDoc(kind, name, file, node, items, y.value(node))


class _Resolver(MatchResolver):
    def __init__(self, fields: Mapping[str, pl.DataType], out: Collector, today: dt.date):
        self.fields = dict(fields)
        self.out = out
        self.today = today
        self.lists: dict[str, ListDef] = {}
        self.raw_macros: dict[str, _RawDoc] = {}
        self.macros: dict[str, tuple[Cond, set[str], set[str]] | None] = {}
        self.broken: set[str] = set()
        self.shapes: dict[int, Any] = {}  # id(raw) -> its validated model (None: invalid)

    def shape(self, raw: _RawDoc) -> Any:
        """The document's model (None when invalid), validated once; bad keys noted."""
        if id(raw) not in self.shapes:
            title = f"{raw.kind} '{raw.name}'"
            doc, raw.bad = validate_node(
                DOCUMENT_MODELS[raw.kind],
                raw.node,
                raw.file,
                self.out,
                title=title,
                data=raw.content,
            )
            self.shapes[id(raw)] = doc
        return self.shapes[id(raw)]

    # ------------------------------------------------------------------ lists
    def read_list(self, raw: _RawDoc) -> ListDef | None:
        doc = self.shape(raw)
        if not isinstance(doc, ListDocument):
            return None
        items: list[Any] = []
        ok = True
        items_node = raw.items["items"][1]
        for item_node in items_node.value:
            item = y.text_value(item_node) if y.is_scalar(item_node) else None
            problem = list_item_problem(doc.type, item)
            if problem:
                self.err(item_node, raw.file, problem, LIST_TYPES[doc.type])
                ok = False
            else:
                items.append(str(item))
        if not items and ok:
            self.warn(items_node, raw.file, f"list '{raw.name}' is empty")
        return (
            ListDef(
                raw.name, doc.type, tuple(items), doc.description or "", y.pos(raw.node, raw.file)
            )
            if ok
            else None
        )

    # ------------------------------------------------------------------ macros
    def macro(
        self, name: str, at: Pos, stack: tuple[str, ...]
    ) -> tuple[Cond, set[str], set[str]] | None:
        if name in stack:
            self.out.error(
                at.file,
                at.line,
                at.col,
                "macro cycle: " + " -> ".join((*stack, name)),
                "a macro may not use itself, directly or through others",
            )
            return None
        if name in self.macros:
            return self.macros[name]
        raw = self.raw_macros[name]
        doc = self.shape(raw)
        ctx = MatchContext(raw.file)
        resolved: tuple[Cond, set[str], set[str]] | None = None
        match_node = raw.part("match")
        if match_node is not None:
            match = self.match(match_node, ctx, (*stack, name), macro=name)
            if match is not None and isinstance(doc, MacroDocument):
                resolved = (match[1], ctx.lists_used, ctx.macros_used)
        self.macros[name] = resolved
        return resolved

    # ------------------------------------------------------------------ rules
    def rule(self, raw: _RawDoc) -> Rule | None:
        file = raw.file
        before = len(self.out.errors)
        doc = self.shape(raw)
        # The model checked the shape; what follows needs the pack (bands, fields, lists),
        # and runs on every well-formed part even when another part is wrong.
        content: dict[str, Any] = raw.content
        weight_node = raw.part("weight")
        if weight_node is not None and raw.part("severity") is not None:
            self.weight_band(weight_node, raw.file, float(content["weight"]), content["severity"])
        valid_from, valid_until = self.validity(raw)
        ctx = MatchContext(file)
        selections: tuple[Selection, ...] = ()
        condition: Cond | None = None
        condition_text = ""
        match_node = raw.part("match")
        if match_node is not None:
            m = self.match(match_node, ctx, (), macro=None)
            if m is not None:
                selections, condition, condition_text = m
        reason = self.reason(raw)
        exceptions = self.exceptions(raw)
        tests = self.tests(raw)
        provenance = self.provenance(raw)
        if len(self.out.errors) > before or condition is None or doc is None:
            return None
        assert isinstance(doc, RuleDocument)
        titles = (
            {DEFAULT_LOCALE: doc.title}
            if isinstance(doc.title, str)
            else {k: v for k, v in doc.title.model_dump().items() if v is not None}
        )
        others = [loc for loc in LOCALES if loc != DEFAULT_LOCALE]
        version = json_fingerprint(
            {
                "rule": raw.content,
                "lists": {n: list(self.lists[n].items) for n in sorted(ctx.lists_used)},
                "macros": {n: self.raw_macros[n].content for n in sorted(ctx.macros_used)},
            }
        )
        return Rule(
            id=raw.name,
            title=titles[DEFAULT_LOCALE],
            description=doc.description,
            status=doc.status,
            severity=doc.severity,
            weight=doc.weight,
            owner=doc.owner,
            tags=_texts(doc.tags),
            references=_texts(doc.references),
            provenance=provenance,
            valid_from=valid_from,
            valid_until=valid_until,
            reason=reason.get(DEFAULT_LOCALE, ()),
            translations=tuple(
                (
                    loc,
                    titles.get(loc, titles[DEFAULT_LOCALE]),
                    reason.get(loc, reason.get(DEFAULT_LOCALE, ())),
                )
                for loc in others
                if loc in titles or loc in reason
            ),
            selections=selections,
            condition=condition,
            condition_text=condition_text,
            exceptions=exceptions,
            tests=tests,
            version=version,
            pos=y.pos(raw.node, file),
            lists_used=tuple(sorted(ctx.lists_used)),
            macros_used=tuple(sorted(ctx.macros_used)),
        )

    def provenance(self, raw: _RawDoc) -> tuple[tuple[str, str], ...]:
        """The ``provenance`` mapping of an adopted rule, as (key, text) pairs in key order."""
        node = raw.part("provenance")
        if node is None:
            return ()
        found = {key: str(y.text_value(v)) for key, _, v in y.mapping_items(node)}
        return tuple((k, found[k]) for k in PROVENANCE_KEYS if k in found)

    def weight_band(self, node: Node, file: str, weight: float, severity: str) -> None:
        low, high = SEVERITY_BANDS[severity]
        if not low <= weight <= high:
            self.err(
                node,
                file,
                f"weight {weight:g} is outside the {severity} band {low:g}-{high:g}",
                "change the weight or the severity; bands: "
                + ", ".join(f"{s} {lo:g}-{hi:g}" for s, (lo, hi) in SEVERITY_BANDS.items()),
            )

    def validity(self, raw: _RawDoc) -> tuple[dt.date | None, dt.date | None]:
        node = raw.part("valid")
        if node is None:
            return None, None
        found: dict[str, dt.date] = {}
        for key, _, value_node in y.mapping_items(node):
            val = y.value(value_node)
            found[key] = val.date() if isinstance(val, dt.datetime) else val
        start, end = found.get("from"), found.get("until")
        if start and end and end < start:
            self.err(node, raw.file, f"validity window ends ({end}) before it starts ({start})")
        elif end and end < self.today:
            self.warn(
                node,
                raw.file,
                f"validity window expired on {end}",
                "extend 'until' or set the rule's status to retired",
            )
        return start, end

    def reason(self, raw: _RawDoc) -> dict[str, tuple[ReasonPart, ...]]:
        """The reason template per language given (plain text is English)."""
        node = raw.part("reason")
        if node is None:
            return {}
        if not y.is_mapping(node):
            return {DEFAULT_LOCALE: self.template(node, raw.file)}
        return {
            str(key): self.template(value, raw.file)
            for key, _, value in y.mapping_items(node)
            if key in LOCALES and isinstance(y.value(value), str)
        }

    def template(self, node: Node, file: str) -> tuple[ReasonPart, ...]:
        """One reason template: literal text and ``{field}`` placeholders."""
        text = y.value(node)
        if not isinstance(text, str):
            return ()
        parts: list[ReasonPart] = []
        last = 0
        offset = y.scalar_col_offset(node) if "\n" not in text else 0
        for m in _PLACEHOLDER.finditer(text):
            if m.start() > last:
                parts.append(ReasonPart(text[last : m.start()], False))
            last = m.end()
            tok = m.group(0)
            if tok in ("{{", "}}"):
                parts.append(ReasonPart(tok[0], False))
            elif m.group(1) is None:
                self.err(
                    node,
                    file,
                    f"unbalanced '{tok}' in reason",
                    "write '{{' or '}}' for a literal brace",
                    offset + m.start(),
                )
            else:
                name = m.group(1).strip()
                if name not in self.fields:
                    self.err(
                        node,
                        file,
                        f"unknown field '{name}' in reason",
                        did_you_mean(name, self.fields),
                        offset + m.start(),
                    )
                else:
                    parts.append(ReasonPart(name, True))
        if last < len(text):
            parts.append(ReasonPart(text[last:], False))
        return tuple(parts)

    def exceptions(self, raw: _RawDoc) -> tuple[ExceptionTuple, ...]:
        node = raw.part("exceptions")
        if node is None:
            return ()
        found = (self.exception(item, raw.file) for item in node.value)
        return tuple(exc for exc in found if exc is not None)

    def exception(self, node: Node, file: str) -> ExceptionTuple | None:
        items = {k: (kn, vn) for k, kn, vn in y.mapping_items(node)}
        fnode = items["fields"][1]
        names = [str(y.value(n)) for n in fnode.value]
        ok = True
        for n_node, name in zip(fnode.value, names, strict=True):
            fam = family(self.fields[name]) if name in self.fields else None
            if fam is None:
                self.err(n_node, file, f"unknown field '{name}'", did_you_mean(name, self.fields))
                ok = False
            elif fam in ("text_list", "other"):
                self.err(
                    n_node,
                    file,
                    f"'{name}' cannot be used in an exception tuple",
                    "exceptions compare single values",
                )
                ok = False
        tuples: list[tuple[Any, ...]] = []
        for tnode in items["values"][1].value:
            if len(tnode.value) != len(names):
                self.err(
                    tnode,
                    file,
                    f"each value tuple needs {len(names)} item(s), "
                    f"one per field ({', '.join(names)})",
                )
                ok = False
                continue
            row: list[Any] = []
            for v_node, name in zip(tnode.value, names, strict=True):
                if not ok:
                    break
                fam = family(self.fields[name])
                raw_value = y.text_value(v_node) if fam == "text" else y.value(v_node)
                try:
                    row.append(coerce(raw_value, fam, name))
                except ValueProblem as exc:
                    self.err(v_node, file, str(exc))
                    ok = False
            tuples.append(tuple(row))
        name_val = y.value(items["name"][1]) if "name" in items else "exception"
        return (
            ExceptionTuple(str(name_val), tuple(names), tuple(tuples), y.pos(node, file))
            if ok
            else None
        )

    def tests(self, raw: _RawDoc) -> tuple[RuleTest, ...]:
        node = raw.part("tests")
        if node is None:
            return ()
        found = (self.test(item, raw.file) for item in node.value)
        return tuple(test for test in found if test is not None)

    def test(self, node: Node, file: str) -> RuleTest | None:
        items = {k: (kn, vn) for k, kn, vn in y.mapping_items(node)}
        ok = True
        row: dict[str, Any] = {}
        for key, key_node, v_node in y.mapping_items(items["row"][1]):
            if key not in self.fields:
                self.err(
                    key_node,
                    file,
                    f"unknown field '{key}' in test row",
                    did_you_mean(key, self.fields),
                )
                ok = False
                continue
            fam = family(self.fields[key])
            val = y.text_value(v_node) if fam == "text" else y.value(v_node)
            if fam == "text_list" and y.is_sequence(v_node):
                val = [y.text_value(n) if y.is_scalar(n) else None for n in v_node.value]
            problem = _row_value_problem(val, fam, key)
            if problem:
                self.err(v_node, file, problem)
                ok = False
            row[key] = val
        lists: dict[str, tuple[Any, ...]] = {}
        if "lists" in items:
            for key, key_node, v_node in y.mapping_items(items["lists"][1]):
                if key not in self.lists:
                    self.err(key_node, file, f"unknown list '{key}'", did_you_mean(key, self.lists))
                    ok = False
                else:
                    lists[key] = tuple(str(y.text_value(n)) for n in v_node.value)
        name = y.value(items["name"][1]) if "name" in items else None
        if not ok:
            return None
        return RuleTest(
            cast(Literal["hit", "no_hit"], y.value(items["expect"][1])),
            row,
            lists,
            None if name is None else str(name),
            y.pos(node, file),
        )


def _texts(value: tuple[str, ...] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _row_value_problem(val: Any, fam: str, key: str) -> str | None:
    if val is None:
        return None
    if fam == "text_list":
        if not isinstance(val, list) or not all(isinstance(v, str | int) or v is None for v in val):
            return f"'{key}' is a list of text: write [A, B]"
        return None
    if fam == "numeric" and (isinstance(val, bool) or not isinstance(val, int | float)):
        return f"'{key}' is numeric but {val!r} is not a number"
    if fam == "bool" and not isinstance(val, bool):
        return f"'{key}' is a flag: use true or false"
    if fam == "text" and not isinstance(val, str | int | float):
        return f"'{key}' is text; quote the value"
    if fam == "temporal":
        try:
            coerce(val, "temporal", key)
        except ValueProblem as exc:
            return str(exc)
    return None
