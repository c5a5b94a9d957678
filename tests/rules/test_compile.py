"""The compiled stage on tiny literal frames."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal, assert_series_equal

from engine.stages import Stage
from rules import CompiledPack, load_pack_text

HEAD = """\
kind: rule
id: {id}
title: {title}
description: d
status: {status}
severity: medium
weight: {weight}
owner: o
"""


def rule(
    body: str, *, id: str = "r", status: str = "active", weight: int = 20, title: str = "t"
) -> str:
    return HEAD.format(id=id, status=status, weight=weight, title=title) + body


def hits(body: str, frame: pl.DataFrame) -> list[bool]:
    pack = load_pack_text(rule(body))
    out = pack.compile(frame.schema).apply(frame, keep_rule_columns=True)
    return out["rule__r"].to_list()


PORTS = pl.DataFrame({"port_of_loading": ["ECGYE", "ecgye", "NLRTM", None]})


def test_equality_is_case_insensitive_unless_cased() -> None:
    assert hits("match: {a: {port_of_loading: ECGYE}, condition: a}", PORTS) == [
        True,
        True,
        False,
        False,
    ]
    assert hits("match: {a: {port_of_loading|cased: ECGYE}, condition: a}", PORTS) == [
        True,
        False,
        False,
        False,
    ]


def test_neq_is_false_on_null_and_not_is_true() -> None:
    assert hits("match: {a: {port_of_loading|neq: [ECGYE, XXABC]}, condition: a}", PORTS) == [
        False,
        False,
        True,
        False,
    ]
    assert hits("match: {a: {port_of_loading: ECGYE}, condition: not a}", PORTS) == [
        False,
        False,
        True,
        True,
    ]


def test_text_operators() -> None:
    frame = pl.DataFrame({"goods_description": ["Said to contain FAK", "bananas", None]})
    body = "match: {{a: {{goods_description|{}: {}}}, condition: a}}"
    assert hits(body.format("contains", "fak"), frame) == [True, False, False]
    assert hits(body.format("startswith", "said"), frame) == [True, False, False]
    assert hits(body.format("endswith", "NAS"), frame) == [False, True, False]
    assert hits(body.format("re", "'^b.n'"), frame) == [False, True, False]
    assert hits(body.format("re|cased", "'^B'"), frame) == [False, False, False]
    assert hits(body.format("contains|all", "[said, fak]"), frame) == [True, False, False]
    assert hits(body.format("contains|all", "[said, banana]"), frame) == [False, False, False]


def test_numeric_operators_and_between() -> None:
    frame = pl.DataFrame({"kg_per_package": [1.0, 18.0, 61.0, None]})
    body = "match: {{a: {{kg_per_package|{}: {}}}, condition: a}}"
    assert hits(body.format("gt", 40), frame) == [False, False, True, False]
    assert hits(body.format("lte", 18), frame) == [True, True, False, False]
    assert hits(body.format("between", "[18, 61]"), frame) == [False, True, True, False]
    assert hits(body.format("exists", "false"), frame) == [False, False, False, True]


def test_list_fields_match_any_element() -> None:
    frame = pl.DataFrame({"transshipment_ports": [["PAMIT", "ESALG"], ["SGSIN"], [], None]})
    body = "match: {{a: {{transshipment_ports|{}: {}}}, condition: a}}"
    assert hits(body.format("in", "[esalg, BEANR]"), frame) == [True, False, False, False]
    assert hits(body.format("startswith", "SG"), frame) == [False, True, False, False]
    assert hits(body.format("in|all", "[PAMIT, ESALG]"), frame) == [True, False, False, False]
    assert hits(body.format("exists", "true"), frame) == [True, True, False, False]


def test_fieldref_compares_two_fields() -> None:
    frame = pl.DataFrame(
        {"consignee_country": ["KG", "ge", None], "port_of_discharge_country": ["GE", "GE", "GE"]}
    )
    body = "match: {a: {consignee_country|neq|fieldref: port_of_discharge_country}, condition: a}"
    assert hits(body, frame) == [True, False, False]


def test_selection_list_of_maps_ors_and_map_ands() -> None:
    frame = pl.DataFrame(
        {
            "is_reefer": [True, True, False],
            "kg_per_package": [50.0, 18.0, 50.0],
            "hs_chapter": ["08", "08", "08"],
        }
    )
    body = """match:
  odd:
    - {kg_per_package|gt: 40, is_reefer: true}
    - {hs_chapter: "09"}
  condition: odd
"""
    assert hits(body, frame) == [True, False, False]


def test_one_of_and_all_of() -> None:
    frame = pl.DataFrame({"is_reefer": [True, True, False], "is_empty": [True, False, False]})
    sels = "match: {{sel_a: {{is_reefer: true}}, sel_b: {{is_empty: true}}, condition: {}}}"
    assert hits(sels.format("1 of sel_*"), frame) == [True, True, False]
    assert hits(sels.format("all of them"), frame) == [True, False, False]
    assert hits(sels.format("not (sel_a or sel_b)"), frame) == [False, False, True]


def test_exceptions_drop_hits() -> None:
    frame = pl.DataFrame({"hs_code": ["291524", "291524"], "consignee_id": ["lic-1", "X"]})
    body = """match: {a: {hs_code|startswith: "2915"}, condition: a}
exceptions:
  - {name: licensed, fields: [consignee_id], values: [[LIC-1]]}
"""
    assert hits(body, frame) == [False, True]


def test_outputs_scores_reasons_shadow_and_no_helper_columns() -> None:
    text = "\n---\n".join(
        [
            rule(
                "reason: 'reefer from {port_of_loading}, {consignee_first_seen_days} days'\n"
                "match: {a: {is_reefer: true}, condition: a}",
                id="r1",
                weight=20,
            ),
            rule(
                "match: {a: {port_of_loading: ECGYE}, condition: a}",
                id="r2",
                weight=15,
                title="from Guayaquil",
            ),
            rule("match: {a: {is_reefer: false}, condition: a}", id="r3", status="experimental"),
        ]
    )
    frame = pl.DataFrame(
        {
            "is_reefer": [True, False, None],
            "port_of_loading": ["ECGYE", "ECGYE", None],
            "consignee_first_seen_days": [3.0, 2.5, None],
        }
    )
    stage = load_pack_text(text).compile(frame.schema)
    assert isinstance(stage, Stage) and isinstance(stage, CompiledPack)
    assert stage.name == "rules" and stage.rule_ids == ["r1", "r2", "r3"]
    out = stage.apply(frame)
    expected = frame.with_columns(
        pl.Series("rule_score", [35.0, 15.0, 0.0]),
        pl.Series("rule_hits", [["r1", "r2"], ["r2"], []], dtype=pl.List(pl.String)),
        pl.Series(
            "rule_reasons",
            [["reefer from ECGYE, 3 days", "from Guayaquil"], ["from Guayaquil"], []],
            dtype=pl.List(pl.String),
        ),
        # Rules without a Russian text give the English one to Russian readers.
        pl.Series(
            "rule_reasons_ru",
            [["reefer from ECGYE, 3 days", "from Guayaquil"], ["from Guayaquil"], []],
            dtype=pl.List(pl.String),
        ),
        pl.Series("rule_shadow_hits", [[], ["r3"], []], dtype=pl.List(pl.String)),
    )
    assert_frame_equal(out, expected)


def test_reasons_per_language() -> None:
    text = "\n---\n".join(
        [
            rule(
                "reason:\n"
                "  en: '{kg_per_package} kg per package, reefer {is_reefer}, via "
                "{transshipment_ports}'\n"
                "  ru: '{kg_per_package} кг на место, рефрижератор: {is_reefer}, через "
                "{transshipment_ports}'\n"
                "match: {a: {kg_per_package|gt: 0}, condition: a}",
                id="r1",
                title="{en: Heavy packages, ru: Тяжёлые грузовые места}",
            ),
            # A Russian title alone: the English reason template, the Russian fallback.
            rule(
                "reason: 'first seen {consignee_first_seen_days} days ago'\n"
                "match: {a: {kg_per_package|gt: 0}, condition: a}",
                id="r2",
                title="{en: Young consignee, ru: Новый грузополучатель}",
            ),
        ]
    )
    frame = pl.DataFrame(
        {
            "kg_per_package": [61.256, 12.5],
            "is_reefer": [True, False],
            "transshipment_ports": [["PAMIT"], None],
            "consignee_first_seen_days": [3.5, None],
        }
    )
    pack = load_pack_text(text)
    assert [r.title_in("ru") for r in pack.rules] == [
        "Тяжёлые грузовые места",
        "Новый грузополучатель",
    ]
    assert [r.title for r in pack.rules] == ["Heavy packages", "Young consignee"]
    out = pack.compile(frame.schema).apply(frame)
    assert out["rule_reasons"].to_list() == [
        ["61.26 kg per package, reefer yes, via PAMIT", "first seen 3 days ago"],
        ["Heavy packages", "Young consignee"],
    ]
    # Decimal comma, да/нет, and the Russian title where a field is unknown.
    assert out["rule_reasons_ru"].to_list() == [
        ["61,26 кг на место, рефрижератор: да, через PAMIT", "first seen 3 days ago"],
        ["Тяжёлые грузовые места", "Новый грузополучатель"],
    ]
    lean = pack.compile(frame.schema).apply(frame, reasons=False)
    assert "rule_reasons_ru" not in lean.columns
    assert_series_equal(pack.compile(frame.schema).reasons(lean, "ru"), out["rule_reasons_ru"])


def test_reasons_render_floats_lists_and_unknown_fields_give_the_title() -> None:
    text = rule(
        "reason: '{kg_per_package} kg via {transshipment_ports}; {consignee_name}'\n"
        "match: {a: {kg_per_package|gt: 0}, condition: a}",
        title="Heavy packages",
    )
    frame = pl.DataFrame(
        {
            "kg_per_package": [61.256, 40.0, 12.5, 3.0],
            "transshipment_ports": [["PAMIT", "ESALG"], None, [], ["PAMIT"]],
            "consignee_name": [None, "ACME", "ACME", "ACME"],
        }
    )
    out = load_pack_text(text).compile(frame.schema).apply(frame)
    # A template never renders with an unknown field (null or an empty list): the title.
    assert out["rule_reasons"].to_list() == [
        ["Heavy packages"],
        ["Heavy packages"],
        ["Heavy packages"],
        ["3 kg via PAMIT; ACME"],
    ]


def test_reasons_read_whole_days_and_short_texts() -> None:
    text = rule(
        "reason: 'first seen {consignee_first_seen_days} days ago; {hs_heading_description}; "
        "reefer {is_reefer}'\n"
        "match: {a: {consignee_first_seen_days|lt: 100}, condition: a}"
    )
    heading = (
        "Electric accumulators, including separators therefor, whether or not rectangular "
        "(including square)"
    )
    frame = pl.DataFrame(
        {
            "consignee_first_seen_days": [52.73, 0.2],
            "hs_heading_description": [heading, "Bananas"],
            "is_reefer": [False, True],
        }
    )
    reasons = load_pack_text(text).compile(frame.schema).apply(frame)["rule_reasons"].to_list()
    assert reasons[1] == ["first seen 0 days ago; Bananas; reefer yes"]
    first = reasons[0][0]
    assert first.startswith("first seen 52 days ago; Electric accumulators, including")
    shown = first.split("; ")[1]
    assert shown.endswith("…") and len(shown) <= 61 and heading.startswith(shown[:-1])
    assert first.endswith("; reefer no")


def test_missing_fields_skip_the_rule_once_and_fingerprint_lists_it() -> None:
    text = "\n---\n".join(
        [
            rule("match: {a: {is_reefer: true}, condition: a}", id="r1"),
            rule("match: {a: {consignee_first_seen_days|lt: 30}, condition: a}", id="r2"),
        ]
    )
    frame = pl.DataFrame({"is_reefer": [True]})
    pack = load_pack_text(text)
    stage = pack.compile(frame.schema)
    assert stage.rule_ids == ["r1"]
    fp = stage.fingerprint()
    assert fp["pack_hash"] == pack.pack_hash
    assert set(fp["rules"]) == {"r1"} and len(fp["rules"]["r1"]) == 64
    assert fp["skipped"] == [
        {
            "id": "r2",
            "missing_fields": ["consignee_first_seen_days"],
            "reason": "the data has no consignee_first_seen_days",
        }
    ]
    assert fp["counts"]["active"] == 2 and fp["counts"]["evaluated"] == 1
    assert stage.apply(frame)["rule_hits"].to_list() == [["r1"]]


def test_wrong_column_type_skips_instead_of_crashing() -> None:
    pack = load_pack_text(rule("match: {a: {packages|gt: 3}, condition: a}"))
    stage = pack.compile({"packages": pl.String()})
    assert stage.rule_ids == [] and "does not apply" in stage.skipped[0]["reason"]


def test_validity_window_and_retired_rules() -> None:
    text = "\n---\n".join(
        [
            rule("valid: {from: 2030-01-01}\nmatch: {a: {is_reefer: true}, condition: a}", id="r1"),
            rule("match: {a: {is_reefer: true}, condition: a}", id="r2", status="retired"),
        ]
    )
    pack = load_pack_text(text)
    schema = {"is_reefer": pl.Boolean()}
    assert pack.compile(schema, as_of=dt.date(2026, 6, 1)).rule_ids == []
    assert pack.compile(schema, as_of=dt.date(2030, 6, 1)).rule_ids == ["r1"]
    assert pack.compile(schema, ignore_validity=True).rule_ids == ["r1"]


def test_temporal_comparison_against_dates() -> None:
    frame = pl.DataFrame(
        {
            "filed_at": [
                dt.datetime(2025, 12, 31, 23, tzinfo=dt.UTC),
                dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
            ]
        },
        schema={"filed_at": pl.Datetime("us", "UTC")},
    )
    assert hits("match: {a: {filed_at|gte: 2026-01-01}, condition: a}", frame) == [False, True]


def test_rows_keep_order_and_other_columns() -> None:
    frame = pl.DataFrame({"is_reefer": [False, True] * 3, "row_index": list(range(6))})
    out = (
        load_pack_text(rule("match: {a: {is_reefer: true}, condition: a}"))
        .compile(frame.schema)
        .apply(frame)
    )
    assert_series_equal(out["row_index"], frame["row_index"])
    assert out.columns == [
        *frame.columns,
        "rule_score",
        "rule_hits",
        "rule_reasons",
        "rule_reasons_ru",
        "rule_shadow_hits",
    ]


@pytest.mark.parametrize("dtype", [pl.Categorical(), pl.String()])
def test_categorical_text_columns(dtype: pl.DataType) -> None:
    frame = pl.DataFrame({"bl_type": ["TO_ORDER", "straight"]}, schema={"bl_type": dtype})
    assert hits("match: {a: {bl_type: to_order}, condition: a}", frame) == [True, False]


def test_stage_for_compiles_once_per_schema_for_every_thread() -> None:
    """The pack's cache of compiled stages: one stage per schema, shared by concurrent
    callers; a pickled pack (a distributed worker's copy) compiles its own."""
    import pickle
    from concurrent.futures import ThreadPoolExecutor

    pack = load_pack_text(rule("match: {a: {gross_weight_kg|gt: 10}, condition: a}", id="heavy"))
    frame = pl.DataFrame({"gross_weight_kg": [5.0, 50.0]})
    with ThreadPoolExecutor(max_workers=8) as pool:
        stages = list(pool.map(lambda _: pack.stage_for(frame.schema), range(32)))
    assert all(stage is stages[0] for stage in stages)
    other = pack.stage_for(pl.Schema({"gross_weight_kg": pl.Int64()}))
    assert other is not stages[0]
    copy = pickle.loads(pickle.dumps(pack))
    theirs = copy.stage_for(frame.schema)
    assert theirs is not stages[0]
    assert theirs.fingerprint() == stages[0].fingerprint()
    assert theirs.apply(frame)["rule_hits"].to_list() == [[], ["heavy"]]


def test_reasons_read_shares_as_percentages_and_the_match_explanation_in_russian() -> None:
    """A share reads "0 %" (never "is 0 of"), a tiny one "under 1 %"; the watchlist match
    explanation (engine-made English) reads Russian in a Russian reason."""
    text = rule(
        "reason:\n"
        "  en: 'chapter 39 is {shipper_hs_chapter_share} of past shipments; "
        "{watchlist_party_match}'\n"
        "  ru: 'доля группы 39: {shipper_hs_chapter_share}; {watchlist_party_match}'\n"
        "match: {a: {shipper_hs_chapter_share|lt: 0.5}, condition: a}"
    )
    explanation = [
        "'ALFA CO': matched ALFA; missing CO; extra LLC (ignored)",
        "'AB CD': same words",
        "'KIM IL': KIMIL~KIM IL (written together, 1 edit)",
    ]
    frame = pl.DataFrame(
        {"shipper_hs_chapter_share": [0.0, 0.003, 0.2567], "watchlist_party_match": explanation}
    )
    out = load_pack_text(text).compile(frame.schema).apply(frame)
    assert [r[0].split(";")[0] for r in out["rule_reasons"].to_list()] == [
        "chapter 39 is 0 % of past shipments",
        "chapter 39 is under 1 % of past shipments",
        "chapter 39 is 26 % of past shipments",
    ]
    assert out["rule_reasons"][0][0] == "chapter 39 is 0 % of past shipments; " + explanation[0]
    assert out["rule_reasons_ru"].to_list() == [
        # shortened as every long text in a reason is (the page shows the whole explanation)
        ["доля группы 39: 0 %; 'ALFA CO': совпали: ALFA; не хватает: CO; лишние: LLC (не…"],
        ["доля группы 39: менее 1 %; 'AB CD': те же слова"],
        ["доля группы 39: 26 %; 'KIM IL': KIMIL~KIM IL (слитно, правок: 1)"],
    ]
