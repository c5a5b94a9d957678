"""Loader and lint: every problem reported, each at file:line:col with a hint."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rules import RulePackError, check_pack, load_pack, load_pack_text
from rules._ir import Sel

HEADER = """\
kind: rule
id: r1
title: t
description: d
status: active
severity: medium
weight: 20
owner: o
"""


def _pack(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path


def _errors(tmp_path: Path, text: str) -> list[tuple[int, int, str]]:
    diags = check_pack(_pack(tmp_path, text))
    return [(d.line, d.col, d.message) for d in diags if d.is_error]


def test_minimal_rule_loads_with_positions(tmp_path: Path) -> None:
    pack = load_pack(_pack(tmp_path, HEADER + "match:\n  a: {is_reefer: true}\n  condition: a\n"))
    rule = pack.rules[0]
    assert rule.id == "r1" and rule.weight == 20.0 and rule.status == "active"
    assert isinstance(rule.condition, Sel)
    test = rule.condition.selection.alternatives[0][0]
    assert (test.field, test.op, test.values) == ("is_reefer", "eq", (True,))
    assert (test.pos.line, test.pos.col) == (10, 7)
    assert len(rule.version) == 64 and len(pack.pack_hash) == 64


def test_unknown_field_points_at_key_with_did_you_mean(tmp_path: Path) -> None:
    text = HEADER + "match:\n  a: {consigne_name|contains: x}\n  condition: a\n"
    diags = check_pack(_pack(tmp_path, text))
    [d] = [d for d in diags if d.is_error]
    assert (d.line, d.col) == (10, 7)
    assert d.message == "unknown field 'consigne_name'"
    assert d.hint is not None and "'consignee_name'" in d.hint
    rendered = d.render().splitlines()
    assert rendered[0] == f"{tmp_path / 'p.yaml'}:10:7: error: unknown field 'consigne_name'"
    assert rendered[1].strip() == "a: {consigne_name|contains: x}"
    assert rendered[2].index("^") == rendered[1].index("consigne_name")
    assert rendered[3].startswith("  hint: did you mean")


def test_every_error_is_reported_at_once(tmp_path: Path) -> None:
    text = """\
kind: list
name: ports
type: locode
items: [ECGYE, bad1]
---
kind: rule
id: r1
title: t
description: d
status: active
severity: low
weight: 35
owner: o
reason: "at {port_of_lodaing}"
match:
  a: {port_of_loading|in: $portz}
  b: {goods_description|gt: 5}
  c: {hs_code|re: '(?<=a)b'}
  d: {packages|between: [5, 1]}
  e: {is_reefer|cassed: true}
  condition: a and b and c and d and e and zz
---
kind: rule
id: r1
title: t
description: d
status: actve
severity: low
weight: 5
owner: o
match:
  x: {is_reefer: true}
  condition: x and (
"""
    errors = _errors(tmp_path, text)
    messages = [m for _, _, m in errors]
    assert errors[0][:2] == (4, 16) and "not a valid locode" in errors[0][2]
    assert "weight 35 is outside the low band 1-15" in messages
    assert "unknown field 'port_of_lodaing' in reason" in messages
    assert "unknown list '$portz'" in messages
    assert any(m.startswith("'gt' cannot be used on 'goods_description'") for m in messages)
    assert any("look-around" in m for m in messages)
    assert "'between' low 5 is above high 1" in messages
    assert "unknown modifier 'cassed'" in messages
    assert "unknown selection or macro 'zz'" in messages
    assert "duplicate rule 'r1'" in messages
    assert any(m.startswith("status 'actve'") for m in messages)
    assert (33, 21, "condition ends too early") in errors
    # broken selections are reported once, where they are, not again in the condition
    assert not any(
        m in messages for m in ("unknown selection or macro 'a'", "unknown selection or macro 'b'")
    )
    with pytest.raises(RulePackError) as info:
        load_pack(tmp_path)
    assert len([d for d in info.value.diagnostics if d.is_error]) == len(errors)
    assert f"{tmp_path / 'p.yaml'}:4:16" in str(info.value)


def test_condition_error_column_points_into_the_condition(tmp_path: Path) -> None:
    text = HEADER + "match:\n  a: {is_reefer: true}\n  condition: a and nope\n"
    [(line, col, message)] = _errors(tmp_path, text)
    assert (line, col) == (11, 20) and message == "unknown selection or macro 'nope'"


def test_warnings_unused_selection_and_expired_window(tmp_path: Path) -> None:
    text = HEADER + (
        "valid: {from: 2020-01-01, until: 2020-12-31}\n"
        "match:\n  a: {is_reefer: true}\n  b: {is_empty: true}\n  condition: a\n"
    )
    diags = check_pack(_pack(tmp_path, text), today=dt.date(2026, 1, 1))
    assert [d.severity for d in diags] == ["warning", "warning"]
    assert "expired on 2020-12-31" in diags[0].message
    assert diags[1].message == "selection 'b' is never used by the condition"
    pack = load_pack(tmp_path, today=dt.date(2026, 1, 1))  # warnings do not stop loading
    assert len(pack.diagnostics) == 2


def test_yaml_syntax_error_has_position(tmp_path: Path) -> None:
    diags = check_pack(_pack(tmp_path, "kind: rule\nid: [unclosed\n"))
    assert diags[0].is_error and diags[0].message.startswith("YAML syntax")
    assert diags[0].line >= 2


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    text = HEADER + "weight: 25\nmatch:\n  a: {is_reefer: true}\n  condition: a\n"
    errors = _errors(tmp_path, text)
    assert errors[0][0] == 9 and errors[0][2].startswith("duplicate key 'weight'")


def test_unsafe_yaml_tags_are_refused(tmp_path: Path) -> None:
    text = (
        HEADER + "match:\n  a: {goods_description: !!python/object/apply:os.system [ls]}\n"
        "  condition: a\n"
    )
    errors = _errors(tmp_path, text)
    assert errors and errors[0][0] == 10


def test_numeric_looking_hs_codes_keep_their_text() -> None:
    pack = load_pack_text(
        HEADER + "match:\n  a: {hs_code|startswith: [0304, 2939]}\n  condition: a\n"
    )
    sel = pack.rules[0].condition
    assert isinstance(sel, Sel)
    assert sel.selection.alternatives[0][0].values == ("0304", "2939")


def test_macros_resolve_and_cycles_are_errors(tmp_path: Path) -> None:
    ok = load_pack_text(
        """\
kind: macro
name: reefer
match: {r: {is_reefer: true}, condition: r}
---
"""
        + HEADER
        + "match:\n  e: {is_empty: false}\n  condition: reefer and e\n"
    )
    rule = ok.rules[0]
    assert rule.macros_used == ("reefer",)
    cyclic = """\
kind: macro
name: m1
match: {condition: m2}
---
kind: macro
name: m2
match: {condition: m1}
"""
    messages = [m for _, _, m in _errors(tmp_path, cyclic)]
    assert any(m.startswith("macro cycle") for m in messages)


def test_list_change_changes_rule_version_not_others() -> None:
    def pack(items: str) -> dict[str, str]:
        text = (
            f"kind: list\nname: p\ntype: locode\nitems: [{items}]\n---\n"
            + HEADER
            + "match:\n  a: {port_of_loading|in: $p}\n  condition: a\n---\n"
            + HEADER.replace("id: r1", "id: r2")
            + "match:\n  a: {is_reefer: true}\n"
            "  condition: a\n"
        )
        loaded = load_pack_text(text)
        return {r.id: r.version for r in loaded.rules} | {"pack": loaded.pack_hash}

    a, b = pack("ECGYE"), pack("ECGYE, COBUN")
    assert a["r1"] != b["r1"] and a["r2"] == b["r2"] and a["pack"] != b["pack"]


def test_dataset_fields_extend_the_catalogue() -> None:
    import polars as pl

    text = HEADER + "match:\n  a: {declarant_code|startswith: X}\n  condition: a\n"
    with pytest.raises(RulePackError):
        load_pack_text(text)
    pack = load_pack_text(text, fields={"declarant_code": pl.String()})
    assert pack.rules[0].fields() == {"declarant_code"}


def test_shape_errors_are_located_with_hints(tmp_path: Path) -> None:
    text = HEADER.replace("title: t", "titel: t").replace("weight: 20", 'weight: "20"') + (
        "valid: {from: 2026-01-01, untl: 2026-02-01}\n"
        "tests:\n  - {expect: hti, row: {is_reefer: true}}\n"
        "match:\n  a: {is_reefer: true}\n  condition: a\n"
    )
    diags = [d for d in check_pack(_pack(tmp_path, text)) if d.is_error]
    found = [(d.line, d.col, d.message, d.hint) for d in diags]
    assert found == [
        (
            1,
            1,
            "rule 'r1' has no 'title'",
            "add 'title': one-line title; plain text or per language {en: ..., ru: ...}",
        ),
        (3, 1, "unknown key 'titel' in a rule", "did you mean 'title'?"),
        (7, 9, "'weight' must be a number, got '20'", None),
        (9, 27, "unknown key 'untl' in 'valid'", "did you mean 'until'?"),
        (11, 14, "expect 'hti' is not one of: hit, no_hit", "did you mean 'hit'?"),
    ]


def test_pack_identity_is_the_content_of_its_documents() -> None:
    """pack_hash and rule versions are fingerprints of the YAML content, nothing else."""
    import yaml

    from engine.identity import canonical_json, json_fingerprint
    from rules import DEFAULT_PACK

    docs = [
        doc
        for file in sorted(Path(DEFAULT_PACK).rglob("*.yaml"))
        for doc in yaml.safe_load_all(file.read_text(encoding="utf-8"))
        if doc is not None
    ]
    expected = json_fingerprint(
        sorted(canonical_json({"kind": d["kind"], "content": d}) for d in docs)
    )
    pack = load_pack()
    assert pack.pack_hash == expected
    lists = {d["name"]: d for d in docs if d["kind"] == "list"}
    macros = {d["name"]: d for d in docs if d["kind"] == "macro"}
    for rule in pack.rules:
        [content] = [d for d in docs if d["kind"] == "rule" and d["id"] == rule.id]
        version = json_fingerprint(
            {
                "rule": content,
                "lists": {n: [str(i) for i in lists[n]["items"]] for n in rule.lists_used},
                "macros": {n: macros[n] for n in rule.macros_used},
            }
        )
        assert rule.version == version, rule.id


def test_reason_and_title_per_language_only_en_and_ru_with_en_required(tmp_path: Path) -> None:
    body = "match:\n  a: {is_reefer: true}\n  condition: a\n"
    head = HEADER.replace("title: t\n", "title: {en: Reefer, ru: Рефрижератор}\n")
    good = (
        head
        + "reason:\n  en: 'reefer at {port_of_loading}'\n  ru: 'рефрижератор, {port_of_loading}'\n"
    )
    [rule] = load_pack(_pack(tmp_path, good + body)).rules
    assert rule.title == "Reefer" and rule.title_in("ru") == "Рефрижератор"
    assert [p.text for p in rule.reason_in("ru")] == ["рефрижератор, ", "port_of_loading"]
    assert [p.text for p in rule.reason_in("en")] == ["reefer at ", "port_of_loading"]

    errors = _errors(
        tmp_path,
        HEADER + "reason:\n  en: 'at {port_of_loading}'\n  de: 'in {port_of_loading}'\n" + body,
    )
    assert [(line, col) for line, col, _ in errors] == [(11, 3)]
    assert "de" in errors[0][2]
    errors = _errors(tmp_path, HEADER + "reason:\n  ru: 'в {port_of_loading}'\n" + body)
    assert len(errors) == 1 and "en" in errors[0][2]
    # A placeholder in the Russian text is checked where it is.
    errors = _errors(
        tmp_path,
        HEADER + "reason:\n  en: 'at {port_of_loading}'\n  ru: 'в {port_of_lodaing}'\n" + body,
    )
    assert [(line, col, m) for line, col, m in errors] == [
        (11, 10, "unknown field 'port_of_lodaing' in reason")
    ]
