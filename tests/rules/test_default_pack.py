"""The shipped default pack: clean, documented, tested, and in line with the schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import numpy as np
import polars as pl
import yaml

from benchmarks.bench_rules import generate_frame
from engine.schema import known_fields
from rules import DEFAULT_PACK, check_pack, load_pack
from rules._compile import render_rows
from rules._documents import json_schema
from rules._selftest import coverage_problem, run_rule_tests
from tests._english import assert_no_english_left


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


def test_every_rule_speaks_russian_with_the_same_fields() -> None:
    for rule in load_pack().rules:
        assert rule.title_in("ru") != rule.title, rule.id
        assert re.search("[а-яё]", rule.title_in("ru"), re.I), rule.id
        assert rule.reason_in("ru") != rule.reason, rule.id
        # Which fields a reason shows is the same in both languages (the one exception
        # leaves out a role that only has English values).
        english, russian = set(rule.reason_fields("en")), set(rule.reason_fields("ru"))
        assert russian <= english and len(english - russian) <= 1, rule.id


def test_no_rendered_reason_reads_n_a_a_placeholder_or_a_raw_field_name() -> None:
    pack = load_pack()
    frame = generate_frame([pack], 400, seed=9)
    # Engine-made English the reasons carry: match explanations as the screening writes them.
    explanations = [
        "'ALFA TRADING': matched ALFA; TRADNG~TRADING (1 edit); missing CO; extra THE (ignored)",
        "'DAEDONG BANK': same words",
        "'KIM IL': KIMIL~KIM IL (written together)",
    ]
    assert "watchlist_party_match" in frame.columns
    frame = frame.with_columns(
        watchlist_party_match=pl.Series(explanations * (frame.height // 3 + 1))[: frame.height]
    )
    # Every other row with its values unknown: those reasons fall back to the title.
    unknown = pl.int_range(pl.len()) % 2 == 0
    frame = frame.with_columns(
        pl.when(unknown).then(None).otherwise(pl.col(c)).alias(c)
        for c in frame.columns
        if c != "container_number"
    )
    compiled = pack.compile(frame.schema, ignore_validity=True)
    names = set(known_fields())
    for rule in compiled.active:
        for locale in ("en", "ru"):
            rows = np.arange(frame.height)
            texts = set(render_rows(frame, rule, rows, compiled.schema, locale).to_list())
            for text in texts:
                assert text, (rule.id, locale)
                assert not re.search(r"\bn/a\b|\bNone\b|\bnull\b|[{}]", text), (rule.id, text)
                assert not names & set(re.findall(r"\b[a-z]+(?:_[a-z0-9]+)+\b", text)), (
                    rule.id,
                    text,
                )
            if locale == "ru":
                assert rule.title_in("ru") in texts, rule.id
                for text in texts:  # no English left of the engine-made texts
                    assert_no_english_left(text, rule.id)
