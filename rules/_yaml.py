"""Safe YAML reading that keeps the line and column of every key and value.

PyYAML's SafeLoader composes each document to a node tree (marks included) and the safe
constructor turns scalar nodes into Python values; nothing ever goes through an unsafe
loader, so a pack cannot run code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from rules._diagnostics import Collector

Node = yaml.Node


@dataclass(frozen=True)
class Pos:
    """A 1-based source position."""

    file: str
    line: int
    col: int


def pos(node: Node, file: str) -> Pos:
    """Where ``node`` starts, 1-based."""
    return Pos(file, node.start_mark.line + 1, node.start_mark.column + 1)


def compose_documents(text: str, file: str, out: Collector) -> list[Node]:
    """Every non-empty document of ``text`` as a node tree; syntax errors go to ``out``."""
    # libyaml's safe loader when present (10x faster); same node tree, same marks.
    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    docs: list[Node] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            try:
                value(node)  # refuses any tag the safe constructor does not know
            except yaml.constructor.ConstructorError as exc:
                mark = exc.problem_mark
                out.error(
                    file,
                    mark.line + 1 if mark else 1,
                    mark.column + 1 if mark else 1,
                    f"YAML: {exc.problem}",
                    "only plain YAML values are allowed (no !! tags)",
                )
                continue
            docs.append(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        col = mark.column + 1 if mark else 1
        out.error(
            file,
            line,
            col,
            f"YAML syntax: {exc.problem or exc.context}",
            "check indentation (spaces, not tabs), quotes and colons near here",
        )
    except yaml.YAMLError as exc:  # e.g. a reader error on a control character
        out.error(file, 1, 1, f"YAML cannot be read: {exc}")
    finally:
        loader.dispose()
    return docs


def value(node: Node) -> Any:
    """The plain Python value of ``node`` (safe constructor: str, int, float, bool, date...).

    A fresh SafeConstructor per call: no state shared between threads or packs.
    """
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


def is_mapping(node: Node) -> bool:
    """True for a YAML mapping node."""
    return isinstance(node, yaml.MappingNode)


def is_sequence(node: Node) -> bool:
    """True for a YAML sequence node."""
    return isinstance(node, yaml.SequenceNode)


def is_scalar(node: Node) -> bool:
    """True for a YAML scalar node."""
    return isinstance(node, yaml.ScalarNode)


def mapping_items(node: Node, file: str, out: Collector) -> list[tuple[str, Node, Node]]:
    """(key text, key node, value node) of a mapping; duplicate or non-text keys reported."""
    items: list[tuple[str, Node, Node]] = []
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            p = pos(key_node, file)
            out.error(p.file, p.line, p.col, "a key must be plain text")
            continue
        key = str(key_node.value)
        if key in seen:
            p = pos(key_node, file)
            out.error(
                p.file,
                p.line,
                p.col,
                f"duplicate key '{key}' (first on line {seen[key]})",
                "YAML keeps only one of them; remove or rename the other",
            )
            continue
        seen[key] = key_node.start_mark.line + 1
        items.append((key, key_node, value_node))
    return items


def scalar_col_offset(node: Node) -> int:
    """Columns between the node start and its text (1 for quoted scalars, else 0)."""
    style = getattr(node, "style", None)
    return 1 if style in ("'", '"') else 0


def text_value(node: Node) -> Any:
    """Like :func:`value`, but a plain number keeps its source text (``0304`` stays '0304').

    Used where a field is text: YAML would read an HS code ``0304`` as the octal 196.
    """
    val = value(node)
    if (
        isinstance(node, yaml.ScalarNode)
        and isinstance(val, int | float)
        and not isinstance(val, bool)
    ):
        return str(node.value)
    return val
