"""The one YAML reader: safe, position-keeping, bounded; model errors at file:line:col."""

from __future__ import annotations

from typing import ClassVar, Literal

import pytest
from pydantic import Field

from engine.documents import (
    Collector,
    DocumentModel,
    Limits,
    compose_documents,
    read_document,
    validate_node,
)
from engine.errors import LookoutError


class Options(DocumentModel):
    label: ClassVar[str] = "a column"
    source: str = Field(description="the source column")
    unit: str = Field(default=None, description="a unit")


class Doc(DocumentModel):
    label: ClassVar[str] = "a test document"
    kind: Literal["thing"] = Field(description="document kind: thing")
    name: str = Field(description="its name")
    count: int = Field(default=0, ge=0)
    columns: dict[str, str | Options] = Field(default_factory=dict)


def _check(text: str) -> list[tuple[int, int, str, str | None]]:
    out = Collector()
    [node] = compose_documents(text, "d.yaml", out)
    doc, _ = validate_node(Doc, node, "d.yaml", out, title="thing 'x'")
    assert (doc is None) == bool(out.errors)
    return [(d.line, d.col, d.message, d.hint) for d in out.items]


def test_valid_document_has_no_diagnostics() -> None:
    assert _check("kind: thing\nname: x\ncolumns: {a: A, b: {source: B}}\n") == []


def test_unknown_key_is_located_with_did_you_mean() -> None:
    found = _check("kind: thing\nname: x\ncolumns:\n  b: {sorce: B}\n")
    assert found == [  # the misspelling first: it explains the missing key
        (4, 7, "unknown key 'sorce' in a column", "did you mean 'source'?"),
        (4, 6, "a column has no 'source'", "add 'source': the source column"),
    ]


def test_missing_key_names_the_document_and_what_to_add() -> None:
    [(line, col, message, hint)] = _check("kind: thing\ncount: 2\n")
    assert (line, col, message) == (1, 1, "thing 'x' has no 'name'")
    assert hint == "add 'name': its name"


def test_wrong_choice_type_and_bound_are_each_located() -> None:
    found = _check("kind: thin\nname: [x]\ncount: -1\ncolumns: {a: 3}\n")
    assert found == [
        (1, 7, "kind 'thin' is not one of: thing", "did you mean 'thing'?"),
        (2, 7, "'name' must be text, got ['x']", None),
        (3, 8, "'count' must be at least 0, got -1", None),
        (4, 14, "'a' must be text or a mapping, got 3", None),
    ]


def test_duplicate_keys_and_tags_are_refused() -> None:
    out = Collector()
    compose_documents("a: 1\nb: 2\na: 3\n", "d.yaml", out)
    [dup] = out.items
    assert (dup.line, dup.col) == (3, 1) and dup.message == "duplicate key 'a' (first on line 1)"
    out = Collector()
    assert compose_documents("a: !!python/object/apply:os.system [ls]\n", "d.yaml", out) == []
    assert out.errors and out.errors[0].line == 1


def test_alias_expansion_is_bounded() -> None:
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i, name in enumerate("bcdefgh"):
        prev = "abcdefgh"[i]
        laughs += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
    out = Collector()
    assert compose_documents(laughs, "d.yaml", out, limits=Limits(max_nodes=10_000)) == []
    [err] = out.errors
    assert "more than 10,000 values" in err.message and (err.line, err.col) == (1, 1)


def test_depth_and_size_are_bounded() -> None:
    out = Collector()
    deep = "a: " + "[" * 10 + "]" * 10 + "\n"
    assert compose_documents(deep, "d.yaml", out, limits=Limits(max_depth=5)) == []
    assert out.errors[0].message == "YAML nested too deeply (at most 5 levels)"
    out = Collector()
    assert compose_documents("a: 1\n" * 100, "d.yaml", out, limits=Limits(max_bytes=100)) == []
    assert "at most 100" in out.errors[0].message


def test_read_document_raises_the_first_error_with_its_position(tmp_path: object) -> None:
    with pytest.raises(LookoutError) as info:
        read_document("d.yaml", Doc, LookoutError, text="kind: thing\nname: x\ncont: 1\n")
    assert str(info.value.location) == "d.yaml:3:1"
    assert info.value.message == "unknown key 'cont' in a test document"
    assert info.value.hint == "did you mean 'count'?"
    doc, node, _ = read_document("d.yaml", Doc, LookoutError, text="kind: thing\nname: x\n")
    assert doc.name == "x" and node is not None
