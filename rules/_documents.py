"""The rule pack's document kinds as models: ``kind: rule``, ``kind: list``, ``kind: macro``.

The models say what each document may contain (keys, types, choices, what is required);
the loader (``rules._loader``) then resolves what only the pack as a whole can say: field
names against the catalogue, ``$list`` and macro references, conditions, weight bands.
The JSON Schema (``rules/schema.json``) is generated from these models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

import polars as pl
from pydantic import Field, WithJsonSchema

from engine.documents import (
    Date,
    DocumentModel,
    NonEmptyScalar,
    NonEmptyText,
    OptionalKey,
    ScalarText,
    TextList,
    defined_elsewhere,
    document_schema,
)
from engine.i18n import LOCALES
from engine.schema import known_fields
from rules._types import FLAGS, LIST_TYPES, OPERATORS, SEVERITY_BANDS, family

RULE_ID_PATTERN = r"^[a-z0-9][a-z0-9_.\-]*$"
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

Status = Literal["experimental", "active", "retired"]
Severity = Literal["low", "medium", "high", "critical"]
ListType = Literal["string", "locode", "hs_prefix", "country", "regex"]
assert set(Severity.__args__) == set(SEVERITY_BANDS), "Severity must list SEVERITY_BANDS"  # type: ignore[attr-defined]
assert set(ListType.__args__) == set(LIST_TYPES), "ListType must list LIST_TYPES"  # type: ignore[attr-defined]

_SCALAR: dict[str, Any] = {"type": ["string", "number", "boolean"]}

Scalar = Annotated[Any, WithJsonSchema(_SCALAR)]
MatchBlock = Annotated[
    dict[str, Any],
    defined_elsewhere("match"),
    Field(description="named selections and one condition"),
]
FieldName = Annotated[str, defined_elsewhere("field_name")]


class Validity(DocumentModel):
    """When a rule applies."""

    label: ClassVar[str] = "'valid'"
    from_: OptionalKey[Date] = Field(
        default=None, alias="from", description="first day the rule applies"
    )
    until: OptionalKey[Date] = Field(default=None, description="last day the rule applies")


class Provenance(DocumentModel):
    """Where an adopted rule came from (written by adoption)."""

    source_unit: OptionalKey[NonEmptyScalar] = Field(
        default=None, description="the partner unit that proposed the rule, e.g. KZ-ALA-PCU"
    )
    case_note: OptionalKey[NonEmptyScalar] = Field(
        default=None, description="id of the case note that carried it"
    )
    adopted_by: OptionalKey[NonEmptyScalar] = Field(
        default=None, description="API key id of the rule author who adopted it"
    )
    adopted_at: OptionalKey[NonEmptyScalar] = Field(
        default=None, description="when it was adopted (ISO 8601)"
    )


class LocalisedText(DocumentModel):
    """A text per language: English required, Russian optional (``{en: ..., ru: ...}``)."""

    en: NonEmptyText = Field(description="the English text (required)")
    ru: OptionalKey[NonEmptyText] = Field(
        default=None, description="the Russian text; without it Russian readers see the English"
    )


assert tuple(LocalisedText.model_fields) == LOCALES, "LocalisedText must list engine.i18n.LOCALES"

TextPerLanguage = NonEmptyText | LocalisedText
"""Plain text (English), or ``{en: ..., ru: ...}``."""


class RuleException(DocumentModel):
    """Tuples of field values that suppress a hit."""

    label: ClassVar[str] = "an exception"
    name: OptionalKey[ScalarText] = Field(default=None, description="what the exception is for")
    fields: list[FieldName] = Field(min_length=1, description="the fields compared, in order")
    values: list[list[Scalar]] = Field(description="value tuples, one item per field")


class RuleTest(DocumentModel):
    """An embedded test: a mocked row and whether the rule must hit it."""

    label: ClassVar[str] = "a test"
    expect: Literal["hit", "no_hit"] = Field(description="hit or no_hit")
    row: Annotated[dict[str, Any], defined_elsewhere("test_row")] = Field(
        description="the mocked row: field: value"
    )
    lists: OptionalKey[dict[str, list[Scalar]]] = Field(
        default=None, description="mocked list contents: list name -> items"
    )
    name: OptionalKey[ScalarText] = Field(default=None, description="what the test shows")


class RuleDocument(DocumentModel):
    """``kind: rule``: one profiling rule."""

    label: ClassVar[str] = "a rule"
    kind: Literal["rule"] = Field(description="document kind: rule")
    id: str = Field(
        pattern=RULE_ID_PATTERN, description="unique rule id, lower-case words joined by '-'"
    )
    title: TextPerLanguage = Field(
        description="one-line title; plain text or per language {en: ..., ru: ...}"
    )
    description: NonEmptyText = Field(description="plain-language description for analysts")
    status: Status = Field(description="experimental | active | retired")
    severity: Severity = Field(
        description="low | medium | high | critical; weight bands: "
        + ", ".join(f"{s} {lo:g}-{hi:g}" for s, (lo, hi) in SEVERITY_BANDS.items())
    )
    weight: float = Field(
        strict=True, ge=0, description="points added to rule_score when the rule hits"
    )
    owner: NonEmptyText = Field(description="team that maintains the rule")
    tags: OptionalKey[TextList] = Field(default=None, description="free labels")
    references: OptionalKey[TextList] = Field(
        default=None, description="public sources of the indicator"
    )
    valid: OptionalKey[Validity] = Field(
        default=None, description="validity window {from: date, until: date}"
    )
    reason: OptionalKey[str | LocalisedText] = Field(
        default=None,
        description="reason template with {field} placeholders; plain text or per language "
        "{en: ..., ru: ...}",
    )
    match: MatchBlock
    exceptions: OptionalKey[list[RuleException]] = Field(
        default=None, description="tuples of field values that suppress a hit"
    )
    tests: OptionalKey[list[RuleTest]] = Field(
        default=None, description="embedded tests: expect hit / no_hit on a mocked row"
    )
    provenance: OptionalKey[Provenance] = Field(
        default=None,
        description="where an adopted rule came from: {source_unit, case_note, adopted_by, "
        "adopted_at}",
    )


class ListDocument(DocumentModel):
    """``kind: list``: named values that rules use as ``$name``."""

    label: ClassVar[str] = "a list"
    kind: Literal["list"] = Field(description="document kind: list")
    name: str = Field(pattern=NAME_PATTERN, description="the list's name, used as $name")
    type: ListType = Field(
        default="string", description="; ".join(f"{k}: {v}" for k, v in LIST_TYPES.items())
    )
    description: OptionalKey[str] = Field(
        default=None, description="what the list holds and its source"
    )
    items: list[Annotated[Any, WithJsonSchema({"type": ["string", "number"]})]] = Field(
        description="the values"
    )


class MacroDocument(DocumentModel):
    """``kind: macro``: a named condition that rules reuse by name."""

    label: ClassVar[str] = "a macro"
    kind: Literal["macro"] = Field(description="document kind: macro")
    name: str = Field(pattern=NAME_PATTERN, description="the macro's name, used in conditions")
    description: OptionalKey[str] = Field(default=None, description="what the macro means")
    match: MatchBlock


DOCUMENT_MODELS: dict[str, type[DocumentModel]] = {
    "rule": RuleDocument,
    "list": ListDocument,
    "macro": MacroDocument,
}
PROVENANCE_KEYS: dict[str, str] = {
    name: info.description or "" for name, info in Provenance.model_fields.items()
}


def _field_descriptions(fields: Mapping[str, pl.DataType]) -> dict[str, str]:
    catalogue = known_fields()
    return {
        name: (catalogue[name].description if name in catalogue else "dataset field")
        + f" ({family(dtype).replace('_', ' ')}, {dtype})"
        for name, dtype in sorted(fields.items())
    }


def json_schema(fields: Mapping[str, pl.DataType] | None = None) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one pack document: a list, a macro or a rule.

    Generated from the document models; the field names of ``match`` blocks, exceptions and
    test rows come from the field catalogue (plus ``fields``, dataset-declared).
    """
    if fields is None:
        fields = {name: f.dtype for name, f in known_fields().items()}
    descriptions = _field_descriptions(fields)
    names = "|".join(sorted(fields, key=len, reverse=True))
    modifiers = "|".join(sorted([*OPERATORS, *FLAGS], key=len, reverse=True))
    value: dict[str, Any] = {"anyOf": [_SCALAR, {"type": "array", "items": _SCALAR}]}
    return document_schema(
        Annotated[RuleDocument | ListDocument | MacroDocument, Field(discriminator="kind")],
        name="rule-pack",
        title="Lookout rule pack document",
        description="One YAML document of a Lookout rule pack: kind list, macro or rule.",
        defs={
            "field_name": {"enum": sorted(fields)},
            "test_row": {"type": "object", "propertyNames": {"$ref": "#/$defs/field_name"}},
            "field_map": {
                "type": "object",
                "minProperties": 1,
                "properties": {n: {"description": d, **value} for n, d in descriptions.items()},
                "patternProperties": {rf"^({names})(\|({modifiers}))+$": value},
                "additionalProperties": False,
            },
            "match": {
                "type": "object",
                "description": "named selections (field tests; a list of maps ORs them) and one "
                "condition",
                "required": ["condition"],
                "properties": {
                    "condition": {
                        "type": "string",
                        "description": "and / or / not, parentheses, '1 of sel_*', 'all of them', "
                        "selection and macro names",
                    }
                },
                "additionalProperties": {
                    "anyOf": [
                        {"$ref": "#/$defs/field_map"},
                        {"type": "array", "items": {"$ref": "#/$defs/field_map"}},
                    ]
                },
            },
        },
    )
