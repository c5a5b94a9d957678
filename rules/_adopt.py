"""Rules proposed by a partner unit: check a proposal, and adopt it into a pack in shadow.

A **proposal** is YAML text of one or more rules with the lists and macros they use, carried
by a case note from another unit. ``check_proposal`` loads it alone with the ordinary loader
(every problem at ``file:line:col``) and runs the rules' embedded tests, so a unit never sends,
and never adopts, a rule that does not load or fails its own tests.

``adopt_proposal`` writes the proposal into a pack's ``adopted.yaml`` (the pack's other files
stay byte for byte as they were): each rule becomes ``status: experimental`` — evaluated and
reported in shadow, never scored — and gains a ``provenance`` mapping (source unit, case
note, who adopted it, when). The author's text is kept, edited only at those two places, so
comments and the source form of values (``hs_code|startswith: 0304``) survive. A list or macro
the pack already has with the same content is left out (the pack's own is used); the same
name with other content, or a rule id the pack already has, is a conflict, never an overwrite.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl
import yaml

from engine.errors import LookoutError
from rules._diagnostics import Collector, Diagnostic
from rules._loader import PROVENANCE_KEYS, LoadResult, load_sources
from rules._pack import catalogue_dtypes
from rules._selftest import failure_diagnostic, run_rule_tests

ADOPTED_FILE = "adopted.yaml"
MAX_PROPOSAL_BYTES = 64 * 1024
MAX_PROPOSED_RULES = 20


@dataclass
class ProposalCheck:
    """What ``check_proposal`` found: diagnostics (errors stop a send or an adoption)."""

    rule_ids: list[str]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    tests_run: int = 0

    @property
    def valid(self) -> bool:
        """True when nothing is an error."""
        return not any(d.is_error for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        """The errors, in file order."""
        return [d for d in self.diagnostics if d.is_error]


class AdoptionConflict(LookoutError):
    """A proposal cannot go into this pack as it is (e.g. a rule id the pack already has)."""

    def __init__(self, problems: list[str], *, hint: str | None = None):
        self.problems = problems
        super().__init__(
            "; ".join(problems),
            hint=hint
            or "decline the case note, or change your pack (or ask the sender to rename) first",
        )


def _load(
    sources: list[tuple[str, str]], fields: Mapping[str, pl.DataType] | None
) -> tuple[LoadResult, Collector]:
    out = Collector()
    return load_sources(sources, catalogue_dtypes(fields), out), out


def check_proposal(
    text: str, *, file: str = "proposed-rule.yaml", fields: Mapping[str, pl.DataType] | None = None
) -> ProposalCheck:
    """Load ``text`` as a self-contained pack and run its rules' tests; every problem found.

    >>> check_proposal("kind: rule").valid
    False
    """
    if len(text.encode()) > MAX_PROPOSAL_BYTES:
        problem = Diagnostic(
            file, 1, 1, "error", f"a proposed rule is limited to {MAX_PROPOSAL_BYTES // 1024} KiB"
        )
        return ProposalCheck([], [problem])
    result, out = _load([(file, text)], fields)
    check = ProposalCheck([r.id for r in result.rules])
    if out.errors:
        check.diagnostics = sorted(out.items, key=lambda d: (d.line, d.col))
        return check
    if any(isinstance(t, yaml.DirectiveToken) for t in yaml.scan(text, Loader=yaml.SafeLoader)):
        out.error(file, 1, 1, "YAML directives (%YAML, %TAG) are not allowed in a proposal")
    for doc in _documents(text):
        if doc.kind == "rule" and "provenance" in doc.keys:
            key = doc.keys["provenance"][0]
            out.error(
                file,
                key.start_mark.line + 1,
                key.start_mark.column + 1,
                "a proposed rule cannot carry 'provenance'",
                "remove it: the receiving unit writes provenance when it adopts the rule",
            )
    if not result.rules:
        out.error(file, 1, 1, "the proposal has no rule", "add a document with 'kind: rule'")
    if len(result.rules) > MAX_PROPOSED_RULES:
        out.error(file, 1, 1, f"a proposal holds at most {MAX_PROPOSED_RULES} rules")
    for rule in result.rules:
        if rule.status == "retired":
            p = rule.pos
            out.error(
                p.file, p.line, p.col, f"rule '{rule.id}' is retired: there is nothing to adopt"
            )
        for outcome in run_rule_tests(rule, catalogue_dtypes(fields)):
            check.tests_run += 1
            if not outcome.passed:
                out.items.append(failure_diagnostic(outcome))
    check.diagnostics = sorted(out.items, key=lambda d: (d.line, d.col))
    return check


@dataclass
class _Document:
    kind: str
    name: str
    root: yaml.MappingNode
    keys: dict[str, tuple[yaml.Node, yaml.Node]]


def _documents(text: str) -> list[_Document]:
    # The pure-Python loader: its marks are character indexes into ``text``, which the
    # edits below need (the proposal has been loaded cleanly before this runs).
    docs = []
    for root in yaml.compose_all(text, Loader=yaml.SafeLoader):
        if not isinstance(root, yaml.MappingNode):
            continue
        keys: dict[str, tuple[yaml.Node, yaml.Node]] = {
            str(k.value): (k, v) for k, v in root.value if isinstance(k, yaml.ScalarNode)
        }
        kind = keys.get("kind", (None, None))[1]
        kind_text = str(kind.value) if isinstance(kind, yaml.ScalarNode) else ""
        name = keys.get("id" if kind_text == "rule" else "name", (None, None))[1]
        name_text = str(name.value) if isinstance(name, yaml.ScalarNode) else ""
        docs.append(_Document(kind_text, name_text, root, keys))
    return docs


@dataclass
class Adoption:
    """The pack's files after adoption, what went in and what was left out."""

    files: dict[str, str]
    rule_ids: list[str]
    reused: list[str]
    """Lists and macros of the proposal the pack already had, identical (its own are used)."""
    rule_count: int = 0
    """Rules in the whole new pack."""


def adopt_proposal(
    pack_files: Mapping[str, str],
    proposal: str,
    *,
    provenance: Mapping[str, str],
    fields: Mapping[str, pl.DataType] | None = None,
) -> Adoption:
    """``pack_files`` (name -> YAML text) with ``proposal`` appended to ``adopted.yaml``.

    Every proposed rule is written ``status: experimental`` with ``provenance`` (keys
    ``source_unit``, ``case_note``, ``adopted_by``, ``adopted_at``). Raises
    ``AdoptionConflict`` when the proposal does not fit the pack; the result is checked by
    loading the whole new pack, so what is returned always loads.
    """
    unknown = sorted(set(provenance) - set(PROVENANCE_KEYS))
    if unknown:
        raise ValueError(f"unknown provenance keys {unknown}")
    check = check_proposal(proposal, fields=fields)
    if not check.valid:
        raise AdoptionConflict([d.render() for d in check.errors])
    existing, out = _load(sorted(pack_files.items()), fields)
    if out.errors:
        raise AdoptionConflict(
            [f"the unit's own pack does not load: {out.errors[0].render()}"],
            hint="fix the active pack first (`lookout rules check`)",
        )
    proposed, _ = _load([("proposal.yaml", proposal)], fields)
    edits, reused, problems = _plan(proposal, existing, proposed, provenance)
    if problems:
        raise AdoptionConflict(problems)
    text = _apply(proposal, edits + _stream_markers(proposal))
    header = "# adopted from {source_unit}, case note {case_note}, by {adopted_by} at {adopted_at}"
    block = header.format(**{k: provenance.get(k, "?") for k in PROVENANCE_KEYS}) + "\n" + text
    previous = pack_files.get(ADOPTED_FILE, "").rstrip("\n")
    files = dict(pack_files)
    files[ADOPTED_FILE] = (previous + "\n---\n" if previous else "") + block.rstrip("\n") + "\n"
    result, out = _load(sorted(files.items()), fields)
    if out.errors:
        raise AdoptionConflict([d.render() for d in out.errors])
    return Adoption(files, [r.id for r in proposed.rules], reused, len(result.rules))


_Edit = tuple[int, int, str]


def _plan(
    text: str,
    existing: LoadResult,
    proposed: LoadResult,
    provenance: Mapping[str, str],
) -> tuple[list[_Edit], list[str], list[str]]:
    own_rules = {r.id for r in existing.rules}
    edits: list[_Edit] = []
    reused: list[str] = []
    problems: list[str] = []
    mapping = ", ".join(
        f"{k}: {json.dumps(provenance[k], ensure_ascii=False)}"
        for k in PROVENANCE_KEYS
        if k in provenance
    )
    starts = [
        (t.start_mark.index, t.end_mark.index)
        for t in yaml.scan(text, Loader=yaml.SafeLoader)
        if isinstance(t, yaml.DocumentStartToken)
    ]
    for doc in _documents(text):
        if doc.kind == "rule":
            if doc.name in own_rules:
                problems.append(f"your pack already has a rule '{doc.name}'")
                continue
            edits.extend(_rule_edits(doc, "{" + mapping + "}", problems))
        elif doc.kind == "list" and doc.name in existing.lists:
            mine, theirs = existing.lists[doc.name], proposed.lists[doc.name]
            if (mine.type, set(mine.items)) != (theirs.type, set(theirs.items)):
                extra = sorted(set(theirs.items) - set(mine.items))
                lacking = sorted(set(mine.items) - set(theirs.items))
                problems.append(
                    f"list '{doc.name}' differs from your pack's list of that name "
                    f"(proposal adds {extra or 'nothing'}, lacks {lacking or 'nothing'})"
                )
                continue
            reused.append(f"list {doc.name}")
            edits.extend(_drop(doc, f"list {doc.name}", starts))
        elif doc.kind == "macro" and doc.name in existing.macros:
            if existing.macros[doc.name] != proposed.macros.get(doc.name):
                problems.append(f"macro '{doc.name}' differs from your pack's macro of that name")
                continue
            reused.append(f"macro {doc.name}")
            edits.extend(_drop(doc, f"macro {doc.name}", starts))
    return list(dict.fromkeys(edits)), reused, problems


def _stream_markers(text: str) -> list[_Edit]:
    """Edits removing a leading ``---`` and a trailing ``...``, so the text can be appended
    to other documents after a ``---`` of its own."""
    tokens = [t for t in yaml.scan(text, Loader=yaml.SafeLoader)]
    body = [t for t in tokens if not isinstance(t, yaml.StreamStartToken | yaml.StreamEndToken)]
    edits: list[_Edit] = []
    if body and isinstance(body[0], yaml.DocumentStartToken):
        edits.append((body[0].start_mark.index, body[0].end_mark.index, ""))
    if len(body) > 1 and isinstance(body[-1], yaml.DocumentEndToken):
        edits.append((body[-1].start_mark.index, body[-1].end_mark.index, ""))
    return edits


def _drop(doc: _Document, what: str, starts: list[tuple[int, int]]) -> list[_Edit]:
    """Edits replacing a document by a comment, and removing one ``---`` beside it so no
    empty document is left behind (the comment joins the next document, or the previous)."""
    start, end = doc.root.start_mark.index, doc.root.end_mark.index
    after = [s for s in starts if s[0] >= end]
    before = [s for s in starts if s[1] <= start]
    marker = after[0] if after else before[-1]
    return [
        (start, end, f"# {what}: identical to this unit's own, which is used\n"),
        (marker[0], marker[1], ""),
    ]


def _rule_edits(doc: _Document, mapping: str, problems: list[str]) -> list[_Edit]:
    key, value = doc.keys["status"]
    if not isinstance(value, yaml.ScalarNode) or value.start_mark.index < key.end_mark.index:
        problems.append(f"rule '{doc.name}': write its status as plain text (not an alias)")
        return []
    first = doc.root.value[0][0]
    at = first.start_mark.index
    if doc.root.flow_style:
        insert = f"provenance: {mapping}, "
    else:
        insert = f"provenance: {mapping}\n" + " " * first.start_mark.column
    return [
        (value.start_mark.index, value.end_mark.index, "experimental"),
        (at, at, insert),
    ]


def _apply(text: str, edits: list[_Edit]) -> str:
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        text = text[:start] + replacement + text[end:]
    return text
