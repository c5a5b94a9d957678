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

from engine.identity import canonical_json, json_fingerprint
from rules import _yaml as y
from rules._diagnostics import Collector, did_you_mean
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
from rules._yaml import Node, Pos

RULE_KEYS = {
    "kind": "document kind: rule",
    "id": "unique rule id, lower-case words joined by '-'",
    "title": "one-line title",
    "description": "plain-language description for analysts",
    "status": "experimental | active | retired",
    "severity": "low | medium | high | critical",
    "weight": "points added to rule_score when the rule hits",
    "owner": "team that maintains the rule",
    "tags": "free labels",
    "references": "public sources of the indicator",
    "valid": "validity window {from: date, until: date}",
    "reason": "reason template with {field} placeholders",
    "match": "named selections and one condition",
    "exceptions": "tuples of field values that suppress a hit",
    "tests": "embedded tests: expect hit / no_hit on a mocked row",
    "provenance": "where an adopted rule came from: {source_unit, case_note, adopted_by, "
    "adopted_at}",
}
PROVENANCE_KEYS = {
    "source_unit": "the partner unit that proposed the rule, e.g. KZ-ALA-PCU",
    "case_note": "id of the case note that carried it",
    "adopted_by": "API key id of the rule author who adopted it",
    "adopted_at": "when it was adopted (ISO 8601)",
}
REQUIRED_RULE_KEYS = (
    "id",
    "title",
    "description",
    "status",
    "severity",
    "weight",
    "owner",
    "match",
)
LIST_KEYS = {"kind": "", "name": "", "type": "", "items": "", "description": ""}
MACRO_KEYS = {"kind": "", "name": "", "description": "", "match": ""}
KINDS = ("list", "macro", "rule")
STATUSES = ("experimental", "active", "retired")
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
    items = {k: (kn, vn) for k, kn, vn in y.mapping_items(node, file, out)}
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

    def check_keys(self, raw: _RawDoc, allowed: Mapping[str, str]) -> None:
        for key, (key_node, _) in raw.items.items():
            if key not in allowed:
                self.err(
                    key_node,
                    raw.file,
                    f"unknown key '{key}' in a {raw.kind}",
                    did_you_mean(key, allowed) or "allowed keys: " + ", ".join(allowed),
                )

    def text(self, raw: _RawDoc, key: str, *, required: bool = False) -> str:
        if key not in raw.items:
            if required:
                p = y.pos(raw.node, raw.file)
                self.out.error(
                    p.file,
                    p.line,
                    p.col,
                    f"{raw.kind} '{raw.name}' has no '{key}'",
                    RULE_KEYS.get(key),
                )
            return ""
        node = raw.items[key][1]
        val = y.value(node) if y.is_scalar(node) else None
        if not isinstance(val, str) or (required and not val.strip()):
            self.err(node, raw.file, f"'{key}' must be non-empty text")
            return ""
        return val

    def text_list(self, raw: _RawDoc, key: str) -> tuple[str, ...]:
        if key not in raw.items:
            return ()
        node = raw.items[key][1]
        if y.is_scalar(node) and isinstance(y.value(node), str):
            return (y.value(node),)
        if not y.is_sequence(node) or not all(
            y.is_scalar(n) and isinstance(y.value(n), str) for n in node.value
        ):
            self.err(node, raw.file, f"'{key}' must be a list of text")
            return ()
        return tuple(y.value(n) for n in node.value)

    # ------------------------------------------------------------------ lists
    def read_list(self, raw: _RawDoc) -> ListDef | None:
        self.check_keys(raw, LIST_KEYS)
        list_type = "string"
        if "type" in raw.items:
            tnode = raw.items["type"][1]
            list_type = str(y.value(tnode)) if y.is_scalar(tnode) else ""
            if list_type not in LIST_TYPES:
                self.err(
                    tnode,
                    raw.file,
                    f"unknown list type {list_type!r}",
                    did_you_mean(list_type, LIST_TYPES) or "types: " + ", ".join(LIST_TYPES),
                )
                return None
        if "items" not in raw.items or not y.is_sequence(raw.items["items"][1]):
            node = raw.items["items"][1] if "items" in raw.items else raw.node
            self.err(node, raw.file, f"list '{raw.name}' needs 'items' as a YAML list")
            return None
        items: list[Any] = []
        ok = True
        for item_node in raw.items["items"][1].value:
            item = y.text_value(item_node) if y.is_scalar(item_node) else None
            problem = list_item_problem(list_type, item)
            if problem:
                self.err(item_node, raw.file, problem, LIST_TYPES[list_type])
                ok = False
            else:
                items.append(str(item))
        if not items and ok:
            self.warn(raw.items["items"][1], raw.file, f"list '{raw.name}' is empty")
        description = self.text(raw, "description")
        return (
            ListDef(raw.name, list_type, tuple(items), description, y.pos(raw.node, raw.file))
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
        self.check_keys(raw, MACRO_KEYS)
        ctx = MatchContext(raw.file)
        resolved: tuple[Cond, set[str], set[str]] | None = None
        if "match" not in raw.items:
            self.err(raw.node, raw.file, f"macro '{name}' has no 'match'")
        else:
            match = self.match(raw.items["match"][1], ctx, (*stack, name), macro=name)
            if match is not None:
                resolved = (match[1], ctx.lists_used, ctx.macros_used)
        self.macros[name] = resolved
        return resolved

    # ------------------------------------------------------------------ rules
    def rule(self, raw: _RawDoc) -> Rule | None:
        file = raw.file
        before = len(self.out.errors)
        self.check_keys(raw, RULE_KEYS)
        for key in REQUIRED_RULE_KEYS:
            if key not in raw.items:
                p = y.pos(raw.node, file)
                self.out.error(
                    p.file,
                    p.line,
                    p.col,
                    f"rule '{raw.name}' has no '{key}'",
                    f"add '{key}': {RULE_KEYS[key]}",
                )
        title = self.text(raw, "title", required="title" in raw.items)
        description = self.text(raw, "description", required="description" in raw.items)
        owner = self.text(raw, "owner", required="owner" in raw.items)
        status = self.choice(raw, "status", STATUSES) or "active"
        severity = self.choice(raw, "severity", tuple(SEVERITY_BANDS)) or "low"
        weight = self.weight(raw, severity if "severity" in raw.items else None)
        valid_from, valid_until = self.validity(raw)
        ctx = MatchContext(file)
        selections: tuple[Selection, ...] = ()
        condition: Cond | None = None
        condition_text = ""
        if "match" in raw.items:
            m = self.match(raw.items["match"][1], ctx, (), macro=None)
            if m is not None:
                selections, condition, condition_text = m
        reason = self.reason(raw)
        exceptions = self.exceptions(raw)
        tests = self.tests(raw, ctx)
        provenance = self.provenance(raw)
        if len(self.out.errors) > before or condition is None:
            return None
        version = json_fingerprint(
            {
                "rule": raw.content,
                "lists": {n: list(self.lists[n].items) for n in sorted(ctx.lists_used)},
                "macros": {n: self.raw_macros[n].content for n in sorted(ctx.macros_used)},
            }
        )
        return Rule(
            id=raw.name,
            title=title,
            description=description,
            status=status,  # type: ignore[arg-type]  # validated by choice()
            severity=severity,
            weight=weight,
            owner=owner,
            tags=self.text_list(raw, "tags"),
            references=self.text_list(raw, "references"),
            provenance=provenance,
            valid_from=valid_from,
            valid_until=valid_until,
            reason=reason,
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
        if "provenance" not in raw.items:
            return ()
        node = raw.items["provenance"][1]
        if not y.is_mapping(node):
            self.err(node, raw.file, "'provenance' must be a mapping", RULE_KEYS["provenance"])
            return ()
        found: dict[str, str] = {}
        for key, key_node, value_node in y.mapping_items(node, raw.file, self.out):
            if key not in PROVENANCE_KEYS:
                self.err(
                    key_node,
                    raw.file,
                    f"unknown provenance key '{key}'",
                    did_you_mean(key, PROVENANCE_KEYS)
                    or "allowed keys: " + ", ".join(PROVENANCE_KEYS),
                )
                continue
            text = y.text_value(value_node) if y.is_scalar(value_node) else None
            if text is None or not str(text).strip():
                self.err(value_node, raw.file, f"provenance '{key}' must be non-empty text")
                continue
            found[key] = str(text)
        return tuple((k, found[k]) for k in PROVENANCE_KEYS if k in found)

    def choice(self, raw: _RawDoc, key: str, options: tuple[str, ...]) -> str | None:
        if key not in raw.items:
            return None
        node = raw.items[key][1]
        val = y.value(node) if y.is_scalar(node) else None
        if val not in options:
            self.err(
                node,
                raw.file,
                f"{key} {val!r} is not one of: " + ", ".join(options),
                did_you_mean(str(val), options),
            )
            return None
        return str(val)

    def weight(self, raw: _RawDoc, severity: str | None) -> float:
        if "weight" not in raw.items:
            return 0.0
        node = raw.items["weight"][1]
        val = y.value(node) if y.is_scalar(node) else None
        if not isinstance(val, int | float) or isinstance(val, bool):
            self.err(node, raw.file, f"weight must be a number, got {val!r}")
            return 0.0
        if severity is not None:
            low, high = SEVERITY_BANDS[severity]
            if not low <= val <= high:
                self.err(
                    node,
                    raw.file,
                    f"weight {val:g} is outside the {severity} band {low:g}-{high:g}",
                    "change the weight or the severity; bands: "
                    + ", ".join(f"{s} {lo:g}-{hi:g}" for s, (lo, hi) in SEVERITY_BANDS.items()),
                )
        return float(val)

    def validity(self, raw: _RawDoc) -> tuple[dt.date | None, dt.date | None]:
        if "valid" not in raw.items:
            return None, None
        node = raw.items["valid"][1]
        if not y.is_mapping(node):
            self.err(node, raw.file, "'valid' must be a mapping {from: date, until: date}")
            return None, None
        found: dict[str, dt.date] = {}
        for key, key_node, value_node in y.mapping_items(node, raw.file, self.out):
            if key not in ("from", "until"):
                self.err(
                    key_node,
                    raw.file,
                    f"unknown key '{key}' in 'valid'",
                    did_you_mean(key, ("from", "until")) or "use 'from' and 'until'",
                )
                continue
            val = y.value(value_node) if y.is_scalar(value_node) else None
            if isinstance(val, dt.datetime):
                val = val.date()
            if not isinstance(val, dt.date):
                self.err(value_node, raw.file, f"'{key}' must be a date like 2026-01-31")
                continue
            found[key] = val
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

    def reason(self, raw: _RawDoc) -> tuple[ReasonPart, ...]:
        if "reason" not in raw.items:
            return ()
        node = raw.items["reason"][1]
        text = y.value(node) if y.is_scalar(node) else None
        if not isinstance(text, str):
            self.err(node, raw.file, "'reason' must be text")
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
                    raw.file,
                    f"unbalanced '{tok}' in reason",
                    "write '{{' or '}}' for a literal brace",
                    offset + m.start(),
                )
            else:
                name = m.group(1).strip()
                if name not in self.fields:
                    self.err(
                        node,
                        raw.file,
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
        if "exceptions" not in raw.items:
            return ()
        node = raw.items["exceptions"][1]
        if not y.is_sequence(node):
            self.err(
                node,
                raw.file,
                "'exceptions' must be a list",
                "- {name: ..., fields: [f1, f2], values: [[v1, v2]]}",
            )
            return ()
        out: list[ExceptionTuple] = []
        for item in node.value:
            exc = self.exception(item, raw.file)
            if exc is not None:
                out.append(exc)
        return tuple(out)

    def exception(self, node: Node, file: str) -> ExceptionTuple | None:
        if not y.is_mapping(node):
            self.err(node, file, "an exception must be a mapping {name, fields, values}")
            return None
        items = {k: (kn, vn) for k, kn, vn in y.mapping_items(node, file, self.out)}
        for key, (key_node, _) in items.items():
            if key not in ("name", "fields", "values"):
                self.err(
                    key_node,
                    file,
                    f"unknown key '{key}' in an exception",
                    did_you_mean(key, ("name", "fields", "values")),
                )
        if "fields" not in items or "values" not in items:
            self.err(node, file, "an exception needs 'fields' and 'values'")
            return None
        fnode = items["fields"][1]
        names = [y.value(n) for n in fnode.value] if y.is_sequence(fnode) else []
        if not names or not all(isinstance(n, str) for n in names):
            self.err(fnode, file, "'fields' must be a list of field names")
            return None
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
        vnode = items["values"][1]
        tuples: list[tuple[Any, ...]] = []
        if not y.is_sequence(vnode):
            self.err(vnode, file, "'values' must be a list of tuples, e.g. [[ACME LTD, ECGYE]]")
            return None
        for tnode in vnode.value:
            if not y.is_sequence(tnode) or len(tnode.value) != len(names):
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

    def tests(self, raw: _RawDoc, ctx: MatchContext) -> tuple[RuleTest, ...]:
        if "tests" not in raw.items:
            return ()
        node = raw.items["tests"][1]
        if not y.is_sequence(node):
            self.err(node, raw.file, "'tests' must be a list of {expect, row}")
            return ()
        out: list[RuleTest] = []
        for item in node.value:
            test = self.test(item, raw.file)
            if test is not None:
                out.append(test)
        return tuple(out)

    def test(self, node: Node, file: str) -> RuleTest | None:
        if not y.is_mapping(node):
            self.err(node, file, "a test must be a mapping {expect: hit|no_hit, row: {...}}")
            return None
        items = {k: (kn, vn) for k, kn, vn in y.mapping_items(node, file, self.out)}
        allowed = ("expect", "row", "lists", "name")
        ok = True
        for key, (key_node, _) in items.items():
            if key not in allowed:
                self.err(
                    key_node, file, f"unknown key '{key}' in a test", did_you_mean(key, allowed)
                )
                ok = False
        expect = y.value(items["expect"][1]) if "expect" in items else None
        if expect not in ("hit", "no_hit"):
            self.err(
                items["expect"][1] if "expect" in items else node,
                file,
                "a test needs 'expect: hit' or 'expect: no_hit'",
            )
            ok = False
        row: dict[str, Any] = {}
        if "row" not in items or not y.is_mapping(items["row"][1]):
            self.err(
                items["row"][1] if "row" in items else node,
                file,
                "a test needs 'row', a mapping of field: value",
            )
            return None
        for key, key_node, v_node in y.mapping_items(items["row"][1], file, self.out):
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
            lnode = items["lists"][1]
            if not y.is_mapping(lnode):
                self.err(lnode, file, "'lists' must map list names to mocked items")
                return None
            for key, key_node, v_node in y.mapping_items(lnode, file, self.out):
                if key not in self.lists:
                    self.err(key_node, file, f"unknown list '{key}'", did_you_mean(key, self.lists))
                    ok = False
                elif not y.is_sequence(v_node):
                    self.err(v_node, file, f"mocked list '{key}' must be a YAML list")
                    ok = False
                else:
                    lists[key] = tuple(str(y.text_value(n)) for n in v_node.value)
        name = y.value(items["name"][1]) if "name" in items else None
        if not ok:
            return None
        return RuleTest(
            cast(Literal["hit", "no_hit"], expect),
            row,
            lists,
            None if name is None else str(name),
            y.pos(node, file),
        )


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
