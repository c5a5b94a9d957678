"""The shipped default pack: clean, documented, tested, and in line with the schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from rules import DEFAULT_PACK, check_pack, load_pack
from rules._documents import json_schema
from rules._selftest import coverage_problem, run_rule_tests


def test_default_pack_is_clean() -> None:
    assert check_pack(DEFAULT_PACK) == []


def test_default_pack_has_enough_documented_active_rules() -> None:
    pack = load_pack()
    active = [r for r in pack.rules if r.status == "active"]
    assert len(active) >= 25
    assert any(r.status == "experimental" for r in pack.rules)
    for rule in pack.rules:
        assert rule.description and rule.owner, rule.id
        assert rule.references, rule.id
        assert rule.reason, rule.id
        assert coverage_problem(rule) is None, rule.id


def test_every_embedded_test_passes() -> None:
    pack = load_pack()
    outcomes = [
        o for r in pack.rules if r.status != "retired" for o in run_rule_tests(r, pack.fields)
    ]
    failed = [(o.rule_id, o.index, o.error) for o in outcomes if not o.passed]
    assert len(outcomes) >= 75 and failed == []


def test_pack_documents_validate_against_the_json_schema() -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    for file in sorted(Path(DEFAULT_PACK).glob("*.yaml")):
        for doc in yaml.safe_load_all(file.read_text()):
            plain = json.loads(json.dumps(doc, default=str))
            errors = [e.message for e in validator.iter_errors(plain)]
            assert errors == [], (file.name, doc.get("id") or doc.get("name"))


def test_shipped_schema_file_is_up_to_date() -> None:
    shipped = json.loads((Path(DEFAULT_PACK).parent.parent / "schema.json").read_text())
    assert shipped == json_schema(), "regenerate: lookout rules schema --out rules/schema.json"


def test_versions_are_stable_across_loads() -> None:
    a, b = load_pack(), load_pack()
    assert a.pack_hash == b.pack_hash
    assert [r.version for r in a.rules] == [r.version for r in b.rules]
