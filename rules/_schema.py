"""JSON Schema of the rule YAML, generated from the field catalogue, for editor completion."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from engine.schema import known_fields
from rules._loader import PROVENANCE_KEYS
from rules._types import FLAGS, LIST_TYPES, OPERATORS, SEVERITY_BANDS, family

SCHEMA_ID = "https://lookout.example/schemas/rule-pack.json"


def _field_descriptions(fields: Mapping[str, pl.DataType]) -> dict[str, str]:
    catalogue = known_fields()
    return {
        name: (catalogue[name].description if name in catalogue else "dataset field")
        + f" ({family(dtype).replace('_', ' ')}, {dtype})"
        for name, dtype in sorted(fields.items())
    }


def json_schema(fields: Mapping[str, pl.DataType] | None = None) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one pack document: a list, a macro or a rule."""
    if fields is None:
        fields = {name: f.dtype for name, f in known_fields().items()}
    descriptions = _field_descriptions(fields)
    names = "|".join(sorted(fields, key=len, reverse=True))
    modifiers = "|".join(sorted([*OPERATORS, *FLAGS], key=len, reverse=True))
    scalar: dict[str, Any] = {"type": ["string", "number", "boolean"]}
    value: dict[str, Any] = {"anyOf": [scalar, {"type": "array", "items": scalar}]}
    field_map: dict[str, Any] = {
        "type": "object",
        "minProperties": 1,
        "properties": {n: {"description": d, **value} for n, d in descriptions.items()},
        "patternProperties": {rf"^({names})(\|({modifiers}))+$": value},
        "additionalProperties": False,
    }
    match: dict[str, Any] = {
        "type": "object",
        "description": "named selections (field tests; a list of maps ORs them) and one condition",
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
    }
    test: dict[str, Any] = {
        "type": "object",
        "required": ["expect", "row"],
        "additionalProperties": False,
        "properties": {
            "expect": {"enum": ["hit", "no_hit"]},
            "name": {"type": "string"},
            "row": {"type": "object", "propertyNames": {"enum": sorted(fields)}},
            "lists": {"type": "object", "additionalProperties": {"type": "array", "items": scalar}},
        },
    }
    rule: dict[str, Any] = {
        "type": "object",
        "required": [
            "kind",
            "id",
            "title",
            "description",
            "status",
            "severity",
            "weight",
            "owner",
            "match",
        ],
        "additionalProperties": False,
        "properties": {
            "kind": {"const": "rule"},
            "id": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_.\-]*$"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "status": {"enum": ["experimental", "active", "retired"]},
            "severity": {
                "enum": list(SEVERITY_BANDS),
                "description": "weight bands: "
                + ", ".join(f"{s} {lo:g}-{hi:g}" for s, (lo, hi) in SEVERITY_BANDS.items()),
            },
            "weight": {"type": "number", "minimum": 0},
            "owner": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "references": {"type": "array", "items": {"type": "string"}},
            "valid": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "from": {"type": "string", "format": "date"},
                    "until": {"type": "string", "format": "date"},
                },
            },
            "reason": {"type": "string", "description": "template with {field} placeholders"},
            "match": {"$ref": "#/$defs/match"},
            "exceptions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["fields", "values"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string"},
                        "fields": {"type": "array", "items": {"enum": sorted(fields)}},
                        "values": {"type": "array", "items": {"type": "array", "items": scalar}},
                    },
                },
            },
            "tests": {"type": "array", "items": {"$ref": "#/$defs/test"}},
            "provenance": {
                "type": "object",
                "description": "where an adopted rule came from (written by adoption)",
                "additionalProperties": False,
                "properties": {k: {"type": "string"} for k in PROVENANCE_KEYS},
            },
        },
    }
    list_doc: dict[str, Any] = {
        "type": "object",
        "required": ["kind", "name", "items"],
        "additionalProperties": False,
        "properties": {
            "kind": {"const": "list"},
            "name": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
            "type": {"enum": list(LIST_TYPES)},
            "description": {"type": "string"},
            "items": {"type": "array", "items": {"type": ["string", "number"]}},
        },
    }
    macro: dict[str, Any] = {
        "type": "object",
        "required": ["kind", "name", "match"],
        "additionalProperties": False,
        "properties": {
            "kind": {"const": "macro"},
            "name": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
            "description": {"type": "string"},
            "match": {"$ref": "#/$defs/match"},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Lookout rule pack document",
        "description": "One YAML document of a Lookout rule pack: kind list, macro or rule.",
        "oneOf": [{"$ref": "#/$defs/rule"}, {"$ref": "#/$defs/list"}, {"$ref": "#/$defs/macro"}],
        "$defs": {
            "rule": rule,
            "list": list_doc,
            "macro": macro,
            "match": match,
            "field_map": field_map,
            "test": test,
        },
    }
