"""Every YAML document Lookout reads, read one way.

One safe, position-keeping YAML reader (no tags, no duplicate keys, size and depth limits)
and one validation path: each document kind is a pydantic :class:`DocumentModel` owned by
the package that uses it (rule packs, dataset specs, scoring policies, training recipes, the
partner directory); its errors come back at ``file:line:col`` with a hint, and its JSON
Schema is generated from the model (``make schemas``).

>>> from engine.documents import Collector, compose_documents
>>> out = Collector()
>>> [node] = compose_documents("kind: rule\\nid: x\\n", "x.yaml", out)
>>> out.items
[]
"""

from engine.documents._diagnostics import Collector, Diagnostic, Severity, did_you_mean
from engine.documents._models import (
    DocumentModel,
    OptionalKey,
    compose_single,
    raise_first,
    read_document,
    validate_data,
    validate_node,
)
from engine.documents._schema import defined_elsewhere, document_schema
from engine.documents._types import Date, NonEmptyScalar, NonEmptyText, ScalarText, TextList
from engine.documents._yaml import (
    LIMITS,
    Limits,
    Node,
    Pos,
    child,
    compose_documents,
    is_mapping,
    is_scalar,
    is_sequence,
    mapping_items,
    pos,
    scalar_col_offset,
    text_value,
    texts,
    value,
)

__all__ = [
    "LIMITS",
    "Collector",
    "Date",
    "Diagnostic",
    "DocumentModel",
    "Limits",
    "Node",
    "NonEmptyScalar",
    "NonEmptyText",
    "OptionalKey",
    "Pos",
    "ScalarText",
    "Severity",
    "TextList",
    "child",
    "compose_documents",
    "compose_single",
    "defined_elsewhere",
    "did_you_mean",
    "document_schema",
    "is_mapping",
    "is_scalar",
    "is_sequence",
    "mapping_items",
    "pos",
    "raise_first",
    "read_document",
    "scalar_col_offset",
    "text_value",
    "texts",
    "validate_data",
    "validate_node",
    "value",
]
