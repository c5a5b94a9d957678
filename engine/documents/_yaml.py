"""Safe YAML reading that keeps the line and column of every key and value.

PyYAML's safe loader composes each document to a node tree (marks included) and the safe
constructor turns scalar nodes into Python values; nothing ever goes through an unsafe
loader, so a document cannot run code. On top of that every document is checked once:
no duplicate or non-text keys, no deeper nesting than :data:`Limits.max_depth`, no more
than :data:`Limits.max_nodes` nodes once aliases are expanded (no "billion laughs"), and
no file larger than :data:`Limits.max_bytes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from engine.documents._diagnostics import Collector

Node = yaml.Node


@dataclass(frozen=True)
class Limits:
    """How large a YAML document may be."""

    max_bytes: int = 16 * 1024 * 1024
    max_depth: int = 64
    max_nodes: int = 500_000


LIMITS = Limits()


@dataclass(frozen=True)
class Pos:
    """A 1-based source position."""

    file: str
    line: int
    col: int


def pos(node: Node, file: str) -> Pos:
    """Where ``node`` starts, 1-based."""
    return Pos(file, node.start_mark.line + 1, node.start_mark.column + 1)


def compose_documents(
    text: str, file: str, out: Collector, *, limits: Limits = LIMITS
) -> list[Node]:
    """Every non-empty, well-formed document of ``text`` as a node tree.

    Syntax errors, unknown tags, duplicate keys and documents beyond ``limits`` go to
    ``out``; a document with a tag or beyond the limits is left out.
    """
    size = len(text.encode("utf-8", errors="replace"))
    if size > limits.max_bytes:
        out.error(
            file,
            1,
            1,
            f"the file is {size:,} bytes; a YAML document may have at most {limits.max_bytes:,}",
            "split it into several files",
        )
        return []
    # libyaml's safe loader when present (10x faster); same node tree, same marks.
    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    docs: list[Node] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None or not _within_limits(node, file, out, limits):
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
    except RecursionError:
        out.error(file, 1, 1, f"YAML nested too deeply (at most {limits.max_depth} levels)")
    finally:
        loader.dispose()
    return docs


def _within_limits(root: Node, file: str, out: Collector, limits: Limits) -> bool:
    """Depth and expanded size within ``limits``; duplicate and non-text keys reported."""
    stack: list[tuple[Node, int]] = [(root, 1)]
    visits = 0
    checked: set[int] = set()
    while stack:
        node, depth = stack.pop()
        visits += 1
        if visits > limits.max_nodes:
            p = pos(root, file)
            out.error(
                p.file,
                p.line,
                p.col,
                f"the document has more than {limits.max_nodes:,} values "
                "(counting every use of an alias)",
                "split it, or use fewer aliases (&name / *name)",
            )
            return False
        if depth > limits.max_depth:
            p = pos(node, file)
            out.error(
                p.file, p.line, p.col, f"YAML nested too deeply (at most {limits.max_depth} levels)"
            )
            return False
        if isinstance(node, yaml.MappingNode):
            if id(node) not in checked:
                checked.add(id(node))
                _check_keys(node, file, out)
            for key_node, value_node in node.value:
                stack.append((value_node, depth + 1))
                if not isinstance(key_node, yaml.ScalarNode):
                    stack.append((key_node, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
    return True


def _check_keys(node: yaml.MappingNode, file: str, out: Collector) -> None:
    seen: dict[str, int] = {}
    for key_node, _ in node.value:
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


def value(node: Node) -> Any:
    """The plain Python value of ``node`` (safe constructor: str, int, float, bool, date...).

    A fresh SafeConstructor per call: no state shared between threads or documents.
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


def mapping_items(node: Node) -> list[tuple[str, Node, Node]]:
    """(key text, key node, value node) of a mapping, first occurrence of each key.

    Duplicate and non-text keys were reported when the document was composed.
    """
    items: list[tuple[str, Node, Node]] = []
    seen: set[str] = set()
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        key = str(key_node.value)
        if key not in seen:
            seen.add(key)
            items.append((key, key_node, value_node))
    return items


def child(node: Node, key: str) -> Node | None:
    """The value node of ``key`` in a mapping node (None when absent or not a mapping)."""
    if not is_mapping(node):
        return None
    return next((v for k, kn, v in mapping_items(node) if k == key), None)


def texts(node: Node) -> Any:
    """Like :func:`value`, but every scalar is its source text (``NO`` stays 'NO', not False).

    For documents whose values are all text (unit ids, country codes, keys, URLs).
    """
    if isinstance(node, yaml.MappingNode):
        return {k: texts(v) for k, _, v in mapping_items(node)}
    if isinstance(node, yaml.SequenceNode):
        return [texts(v) for v in node.value]
    return str(node.value)


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
