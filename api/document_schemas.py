"""The JSON Schema of every YAML document kind, generated from the document models.

``make schemas`` (``python -m api.document_schemas``) writes them beside what they describe;
``tests/test_document_schemas.py`` checks that the committed files are the generated ones.
Editors use them for completion (``# yaml-language-server: $schema=<path>``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from api.federation.directory import DirectoryDocument
from api.federation.keys import UnitFile
from engine.documents import document_schema
from engine.policy import PolicyDocument
from engine.spec import SpecDocument
from models.recipe import RecipeDocument
from rules._documents import json_schema as rule_pack_schema

ROOT = Path(__file__).resolve().parent.parent


def _model_def(tp: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A model's schema for use as a definition, and the definitions it brings along."""
    schema = TypeAdapter(tp).json_schema(by_alias=True, mode="validation")
    return schema, schema.pop("$defs", {})


def dataset_spec_schema() -> dict[str, Any]:
    """Dataset spec, its ``model:`` section (the training recipe) included."""
    recipe, recipe_defs = _model_def(RecipeDocument)
    return document_schema(
        SpecDocument,
        name="dataset-spec",
        title="Lookout dataset spec",
        description="How a source's columns map onto the canonical manifest record, and how a "
        "model learns from it (engine/spec.py, models/recipe.py).",
        defs={"ModelRecipe": recipe, **recipe_defs},
    )


SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "rules/schema.json": rule_pack_schema,
    "engine/specs/dataset-spec.schema.json": dataset_spec_schema,
    "engine/policies/scoring-policy.schema.json": lambda: document_schema(
        PolicyDocument,
        name="scoring-policy",
        title="Lookout scoring policy",
        description="How rule score and model probability become a risk score, a lane and a "
        "selection within inspection capacity (engine/policy.py).",
    ),
    "api/federation/partner-directory.schema.json": lambda: document_schema(
        DirectoryDocument,
        name="partner-directory",
        title="Lookout partner directory",
        description="The units this one trusts, their keys and endpoints, and named groups "
        "(api/federation/directory.py).",
    ),
    "api/federation/unit.schema.json": lambda: document_schema(
        UnitFile,
        name="unit",
        title="Lookout unit.yaml",
        description="This unit's public facts, written by `lookout unit init` "
        "(api/federation/keys.py).",
    ),
}
"""Repository path -> generator of the schema written there."""


def render(schema: dict[str, Any]) -> str:
    """The text a schema file holds."""
    return json.dumps(schema, indent=2) + "\n"


def stale(root: Path = ROOT) -> list[str]:
    """Paths whose committed schema differs from the generated one."""
    return [
        path
        for path, make in SCHEMAS.items()
        if not (root / path).is_file() or (root / path).read_text() != render(make())
    ]


def write(root: Path = ROOT) -> list[str]:
    """Write every schema; returns the paths written."""
    for path, make in SCHEMAS.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(render(make()))
    return list(SCHEMAS)


def main(argv: list[str] | None = None) -> int:
    """``--check``: exit 1 listing stale schemas; otherwise write them all."""
    args = sys.argv[1:] if argv is None else argv
    if "--check" in args:
        outdated = stale()
        for path in outdated:
            print(f"stale: {path} (run `make schemas`)")
        return 1 if outdated else 0
    for path in write():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
