"""The committed JSON Schemas are the ones the document models generate, and fit the files."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from api.document_schemas import ROOT, SCHEMAS, main, render, stale, write
from engine.policy import DEFAULT_POLICY_PATH
from engine.spec import shipped_specs


def test_committed_schemas_are_the_generated_ones() -> None:
    assert stale() == [], "run `make schemas`"


def test_check_reports_a_stale_schema(tmp_path: Path) -> None:
    write(tmp_path)
    assert stale(tmp_path) == []
    (tmp_path / "rules/schema.json").write_text("{}\n")
    assert stale(tmp_path) == ["rules/schema.json"]
    assert main(["--check"]) == 0


def _validator(path: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((ROOT / path).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _plain(path: Path) -> object:
    return json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))


def test_shipped_documents_fit_their_schemas() -> None:
    specs = _validator("engine/specs/dataset-spec.schema.json")
    examples = sorted((ROOT / "models/examples").glob("*/spec.yaml"))
    for file in [*shipped_specs().values(), *examples]:
        errors = [e.message for e in specs.iter_errors(_plain(file))]
        assert errors == [], file
    policy = _validator("engine/policies/scoring-policy.schema.json")
    assert [e.message for e in policy.iter_errors(_plain(DEFAULT_POLICY_PATH))] == []


def test_schemas_refuse_what_the_loaders_refuse() -> None:
    specs = _validator("engine/specs/dataset-spec.schema.json")
    assert not specs.is_valid({"colums": {}})
    assert not specs.is_valid({"extra": {"Foo": {}}})
    assert not specs.is_valid({"model": {"label": "x", "sed": 1}})
    directory = _validator("api/federation/partner-directory.schema.json")
    entry = {k: "x" for k in ("unit_id", "country", "name", "base_url", "public_key")}
    assert directory.is_valid({"units": [entry], "groups": {"G": ["x"]}})
    assert not directory.is_valid({"units": [{**entry, "base_ulr": "x"}]})
    assert set(SCHEMAS) and all(render(make()).endswith("}\n") for make in SCHEMAS.values())
