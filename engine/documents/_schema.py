"""JSON Schema (draft 2020-12) of a document model, for editors and for review."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, WithJsonSchema

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE = "https://lookout.example/schemas/"
_MARK = "x-lookout-def"


def defined_elsewhere(name: str) -> WithJsonSchema:
    """Annotation: this value's schema is ``$defs/<name>``, given to :func:`document_schema`.

    For what a model keeps as plain data and its owner checks itself (a rule's ``match``
    block: its field names come from the catalogue, not from the model).
    """
    return WithJsonSchema({_MARK: name})


def _link(node: Any) -> Any:
    if isinstance(node, dict):
        if _MARK in node:
            rest = {k: v for k, v in node.items() if k != _MARK}
            return {"$ref": f"#/$defs/{node[_MARK]}", **rest}
        return {k: _link(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_link(v) for v in node]
    return node


def document_schema(
    tp: Any,
    *,
    name: str,
    title: str,
    description: str,
    defs: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The JSON Schema of ``tp`` (a model or a union of models), id ``<base><name>.json``.

    ``defs`` supplies the definitions named with :func:`defined_elsewhere`.
    """
    generated = _link(TypeAdapter(tp).json_schema(by_alias=True, mode="validation"))
    generated.pop("title", None)
    extra = dict(defs or {})
    if extra:
        generated["$defs"] = {**generated.get("$defs", {}), **extra}
    head = {"$schema": DRAFT, "$id": f"{SCHEMA_BASE}{name}.json", "title": title}
    return {**head, "description": description, **generated}
