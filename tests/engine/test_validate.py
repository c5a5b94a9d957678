"""Data-quality flags: one literal frame per rule, plus the not-applicable / missing rules."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_series_equal

from engine.reference import ReferenceData, blank_to_null
from engine.schema import CANONICAL, DERIVED, DQ_FLAGS, canonical_schema
from engine.validate import (
    DQ_COUNT,
    TEXT_FLAG_MEMOS,
    TextCheck,
    TextFlagMemo,
    ValidationStage,
    simplified_text,
    simplified_texts,
    text_check_flags,
    validate,
)


@pytest.fixture(scope="module")
def refs() -> ReferenceData:
    return ReferenceData.load()


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """A canonical frame (every column, typed) from a few literal rows."""
    return pl.DataFrame(rows, schema=canonical_schema())


def _flag(refs: ReferenceData, field: str, values: list[Any], flag: str) -> list[bool]:
    out = validate(_frame([{field: v} for v in values]), refs, present={field})
    return out[flag].to_list()


def _dq_columns() -> list[str]:
    return [name for name in DERIVED if name.startswith("dq_")]


def test_every_schema_flag_is_added_with_its_dtype_and_no_nulls(refs: ReferenceData) -> None:
    out = validate(_frame([{}, {"container_number": "x"}]), refs)
    for name in _dq_columns():
        assert out.schema[name] == DERIVED[name].dtype, name
        assert out[name].null_count() == 0, name
    assert out.height == 2


def test_all_null_frame_raises_only_weight_and_packages(refs: ReferenceData) -> None:
    out = validate(_frame([{}, {}]), refs)
    raised = [name for name in DQ_FLAGS if out[name].any()]
    assert raised == ["dq_nonpositive_weight", "dq_nonpositive_packages"]
    assert out[DQ_COUNT].to_list() == [2, 2]


def test_fields_not_present_raise_nothing(refs: ReferenceData) -> None:
    bad = {
        "container_number": "CSQU3054384",
        "iso_type": "ZZZZ",
        "vessel_imo": "8814274",
        "port_of_loading": "XXXXX",
        "shipper_country": "ZZ",
        "goods_description": "FAK",
        "consignee_name": "to order",
        "gross_weight_kg": None,
        "packages": None,
    }
    out = validate(_frame([bad]), refs, present={"hs_code", "bl_number"})
    assert not any(out[name].item() for name in DQ_FLAGS)
    assert out[DQ_COUNT].item() == 0
    everything = validate(_frame([bad]), refs)  # present=None: every column counts
    assert everything[DQ_COUNT].item() == 9


def test_declarations_without_containers(refs: ReferenceData) -> None:
    # a declarations data set: no container, no IMO, no ports; HS and countries only
    frame = pl.DataFrame(
        {"hs_code": ["847130", "999999"], "origin_country": ["CN", "XX"]},
    )
    out = validate(frame, refs, present={"hs_code", "origin_country"})
    assert out["dq_invalid_container_number"].to_list() == [False, False]
    assert out["dq_invalid_hs_code"].to_list() == [False, True]
    assert out["dq_invalid_country"].to_list() == [False, True]
    assert out["dq_nonpositive_weight"].to_list() == [False, False]
    assert out.columns[:2] == ["hs_code", "origin_country"]  # caller's columns untouched


def test_container_number(refs: ReferenceData) -> None:
    values = ["CSQU3054383", "csqu 305438-3", "CSQU3054384", "CSQU305438", None, "", "  "]
    flags = _flag(refs, "container_number", values, "dq_invalid_container_number")
    assert flags == [False, False, True, True, False, False, False]


def test_vessel_imo(refs: ReferenceData) -> None:
    values = ["IMO 9319466", "8814275", "8814274", "IMO", None]
    assert _flag(refs, "vessel_imo", values, "dq_invalid_vessel_imo") == [
        False,
        False,
        True,
        True,
        False,
    ]


def test_iso_type(refs: ReferenceData) -> None:
    values = ["22G1", "45r1", "L5G1", "22X1", "2210", "22G", "Z2G1", None]
    flags = _flag(refs, "iso_type", values, "dq_invalid_iso_type")
    # "2210" is a pre-1995 code, not in the current ISO 6346 tables
    assert flags == [False, False, False, True, True, True, True, False]


def test_ports(refs: ReferenceData) -> None:
    values = ["NLRTM", "nl rtm", "SG-SIN", "NLQQQ", "ZZRTM", "ROTTERDAM", None, ""]
    expected = [False, False, False, True, True, True, False, False]
    assert _flag(refs, "port_of_loading", values, "dq_unknown_port_of_loading") == expected
    assert _flag(refs, "port_of_discharge", values, "dq_unknown_port_of_discharge") == expected


def test_transshipment_ports(refs: ReferenceData) -> None:
    values = [["SGSIN", "LKCMB"], ["SGSIN", "QQQQQ"], [], None, ["sg sin", None], ["XXXXX"]]
    flags = _flag(refs, "transshipment_ports", values, "dq_unknown_transshipment_port")
    assert flags == [False, True, False, False, False, True]


def test_inland_locodes_only_need_to_be_well_formed(refs: ReferenceData) -> None:
    # DEDUS (Düsseldorf) is an inland place: well formed, known country, not a seaport
    values = ["DEDUS", "dedus", "ZZABC", "DE1AB", "DEDU", "DEDUSS", None]
    expected = [False, False, True, True, True, True, False]
    assert _flag(refs, "place_of_receipt", values, "dq_invalid_locode") == expected
    assert _flag(refs, "place_of_delivery", values, "dq_invalid_locode") == expected


def test_hs_code(refs: ReferenceData) -> None:
    values = [
        "847130",  # subheading
        "8471.30.00",  # with dots: national 8-digit line
        "8471300000",
        "84",  # chapter
        "8471",  # heading
        "847190",
        "847131",  # heading exists, subheading does not
        "8499",  # chapter 84 exists, heading 8499 does not
        "77",  # reserved chapter
        "99",  # trade-statistics "not specified"
        "101",  # lost leading zero
        "84713000001",  # 11 digits
        "84A130",
        None,
    ]
    flags = _flag(refs, "hs_code", values, "dq_invalid_hs_code")
    assert flags == [
        False,
        False,
        False,
        False,
        False,
        False,
        True,
        True,
        True,
        True,
        True,
        True,
        True,
        False,
    ]


@pytest.mark.parametrize("field", ["shipper_country", "consignee_country", "origin_country"])
def test_countries(refs: ReferenceData, field: str) -> None:
    values = ["CN", "na", " de ", "XX", "CHN", "China", None, ""]
    flags = _flag(refs, field, values, "dq_invalid_country")
    assert flags == [False, False, False, True, True, True, False, False]


def test_country_flag_is_any_of_the_three(refs: ReferenceData) -> None:
    frame = _frame(
        [
            {"shipper_country": "CN", "consignee_country": "NL", "origin_country": "CN"},
            {"shipper_country": "CN", "consignee_country": "NL", "origin_country": "??"},
        ]
    )
    assert validate(frame, refs)["dq_invalid_country"].to_list() == [False, True]
    only_shipper = validate(frame, refs, present={"shipper_country", "consignee_country"})
    assert only_shipper["dq_invalid_country"].to_list() == [False, False]


@pytest.mark.parametrize(
    ("text", "vague"),
    [
        ("FAK", True),
        ("F.A.K.", True),
        ("Freight All Kinds", True),
        ("said to contain general cargo", True),
        ("1 X 40HC STC 20 PALLETS GENERAL CARGO", True),
        ("SHIPPER'S LOAD, STOW AND COUNT: VARIOUS GOODS", True),
        ("see invoice", True),
        ("AS PER INVOICE NO. 2024-113", True),
        ("Personal effects", True),
        ("consolidated cargo", True),
        ("PARTS", True),
        ("Spare parts", True),
        ("goods", True),
        ("MERCHANDISE", True),
        ("Samples", True),
        ("sundries", True),
        ("Carga general", True),
        ("MERCANCÍAS VARIAS", True),
        ("marchandises diverses", True),
        ("según factura", True),
        ("STC 1200 CARTONS OF LADIES SHOES", False),
        ("auto parts for passenger cars", False),
        ("frozen shrimp", False),
        ("Fakir brand incense", False),  # word boundary: "fak" inside a word is not FAK
        ("BANANAS", False),
        ("TV", False),
        ("household goods", False),
        ("Samples of cotton fabric", False),
        ("", False),
        (None, False),
    ],
)
def test_vague_goods_description(refs: ReferenceData, text: str | None, vague: bool) -> None:
    assert _flag(refs, "goods_description", [text], "dq_vague_goods_description") == [vague]


@pytest.mark.parametrize(
    ("name", "placeholder"),
    [
        ("unknown", True),
        ("UNKNOWN", True),
        ("To Order", True),
        ("TO THE ORDER OF BANCO NACIONAL", True),
        ("to order of shipper", True),
        ("N/A", True),
        ("n.a.", True),
        ("NA", True),
        ("none", True),
        ("TBA", True),
        ("same as consignee", True),
        ("A LA ORDEN DE BANCO PICHINCHA", True),
        ("à l'ordre de la Banque", True),
        ("Desconocido", True),
        ("XXX", True),
        ("xxxxxxxx", True),
        ("-", True),
        (".", True),
        ("ACME Trading Co", False),
        ("Order Logistics Ltd", False),  # "order" inside a real name
        ("Nana Foods", False),
        ("Toorder GmbH", False),
        ("", False),  # blank is missing, not a placeholder
        (None, False),
    ],
)
def test_placeholder_parties(refs: ReferenceData, name: str | None, placeholder: bool) -> None:
    for field, flag in [
        ("shipper_name", "dq_placeholder_shipper"),
        ("consignee_name", "dq_placeholder_consignee"),
        ("notify_name", "dq_placeholder_notify"),
    ]:
        assert _flag(refs, field, [name], flag) == [placeholder], field


@pytest.mark.parametrize(
    ("address", "po_box_only"),
    [
        ("P.O. Box 123", True),
        ("PO BOX 4471, Dubai, UAE", True),
        ("POB 55", True),
        ("Postfach 10 20 30, 20095 Hamburg", True),
        ("B.P. 1234 Douala Cameroun", True),
        ("Apartado Postal 45-B, Colon", True),
        ("Casilla 1001, Santiago", True),
        ("Caixa Postal 88, Santos", True),
        ("P.O. Box 123, 45 Sheikh Zayed Road, Dubai", False),
        ("Hauptstrasse 5, Postfach 12, Berlin", False),  # a street as well
        ("12 Harbour Street, Mombasa", False),
        ("Bpost Center, Brussels", False),
        ("PO BOX 9, Jebel Ali Free Zone South, Dubai, UAE", False),  # more than a place name
        ("", False),
        (None, False),
    ],
)
def test_po_box_addresses(refs: ReferenceData, address: str | None, po_box_only: bool) -> None:
    for field, flag in [
        ("shipper_address", "dq_po_box_shipper_address"),
        ("consignee_address", "dq_po_box_consignee_address"),
    ]:
        assert _flag(refs, field, [address], flag) == [po_box_only], field


# fmt: off
_SAMPLE_TEXTS = [
    "", "  ", "-", "TBA", "To Order", "unknown party", "XXX", "ACME Trading Co",
    "P.O. Box 123", "PO BOX 4471, Dubai, UAE", "Postfach 10 20 30, 20095 Hamburg",
    "P.O. Box 123, 45 Sheikh Zayed Road, Dubai", "12 Harbour Street, Mombasa",
    "FAK", "STC 1200 CARTONS OF LADIES SHOES", "1 X 40HC STC 20 PALLETS FAK",
    "said to contain general cargo", "MERCANCÍAS VARIAS", "goods", "Samples",
]
# fmt: on
_TEXTS = st.one_of(
    st.none(),
    st.sampled_from(_SAMPLE_TEXTS),
    st.text(st.sampled_from("aoxtPOB .-/0129ÀßéK"), max_size=12),
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(st.characters(codec="utf-8"), max_size=12),
            st.text(st.characters(max_codepoint=127), max_size=20),  # control characters too
            st.sampled_from(_SAMPLE_TEXTS),
        ),
        max_size=40,
    )
)
def test_simplified_texts_equal_the_expression(values: list[str | None]) -> None:
    series = pl.Series("text", values, dtype=pl.String)
    expected = series.to_frame().select(simplified_text(pl.col("text"))).to_series()
    assert_series_equal(simplified_texts(series), expected)


def _uncached(values: list[str | None], check: TextCheck) -> list[bool]:
    """The flag as one expression per row, as validate computed it before the memo."""
    value = blank_to_null(pl.col("text"))
    frame = pl.DataFrame({"text": values}, schema={"text": pl.String})
    return frame.select(check(value).fill_null(False) & value.is_not_null())["text"].to_list()


@settings(max_examples=60, deadline=None)
@given(st.lists(_TEXTS, max_size=40), st.lists(_TEXTS, max_size=40), st.integers(1, 50))
def test_text_flag_memo_gives_the_uncached_flags(
    first: list[str | None], second: list[str | None], limit: int
) -> None:
    for kind, memo in TEXT_FLAG_MEMOS.items():
        fresh = TextFlagMemo(memo.check, limit=limit)
        most = limit  # the memo outgrows its limit only by one chunk's texts
        for chunk in (first, second, first + second):  # the later chunks repeat texts
            values = pl.Series("text", chunk, dtype=pl.String)
            expected = _uncached(chunk, memo.check)
            assert fresh.flags(values).to_list() == expected, kind
            assert text_check_flags(values, memo.check).to_list() == expected, kind
            most = max(most, len(set(chunk)))
            assert len(fresh) <= most


def test_text_flag_memo_checks_the_text_behind_a_hash() -> None:
    memo = TextFlagMemo(_placeholder_check())
    values = pl.Series("text", ["TBA", "ACME Trading Co"], dtype=pl.String)
    # the memo holds another text under the hashes of these two, with the wrong verdicts
    memo._known = pl.DataFrame(
        {"hash": values.hash(), "known_text": ["other", "other 2"], "flag": [False, True]}
    )
    assert memo.flags(values).to_list() == [True, False]
    assert memo.flags(values).to_list() == [True, False]
    assert len(memo) == 2  # the hashes stay with the texts that held them


def _placeholder_check() -> TextCheck:
    return TEXT_FLAG_MEMOS["placeholder"].check


def test_text_flag_memos_are_per_check(refs: ReferenceData) -> None:
    # one text in fields of different checks: each field gets its own check's verdict, in
    # either order of first sight
    for text, vague, placeholder in [("cargo", True, False), ("TBA", False, True)]:
        for order in (["goods_description", "shipper_name"], ["shipper_name", "goods_description"]):
            for memo in TEXT_FLAG_MEMOS.values():
                memo.clear()
            for field in order:
                out = validate(_frame([{field: text}]), refs, present={field})
                if field == "goods_description":
                    assert out["dq_vague_goods_description"].to_list() == [vague]
                else:
                    assert out["dq_placeholder_shipper"].to_list() == [placeholder]


def test_text_flags_do_not_depend_on_the_memo(refs: ReferenceData) -> None:
    frame = _frame(
        [
            {"goods_description": "FAK", "shipper_name": "TBA", "consignee_address": "POB 55"},
            {"goods_description": "bananas", "shipper_name": "ACME", "shipper_address": "PO BOX 1"},
            {"goods_description": "FAK", "notify_name": "-", "consignee_address": "12 Main St"},
        ]
    )
    for memo in TEXT_FLAG_MEMOS.values():
        memo.clear()
    cold = validate(frame, refs)
    warm = validate(frame, refs)
    assert cold.equals(warm)
    assert cold["dq_vague_goods_description"].to_list() == [True, False, True]
    assert cold["dq_placeholder_shipper"].to_list() == [True, False, False]
    assert cold["dq_placeholder_notify"].to_list() == [False, False, True]
    assert cold["dq_po_box_shipper_address"].to_list() == [False, True, False]
    assert cold["dq_po_box_consignee_address"].to_list() == [True, False, False]


def test_weight_and_packages_count_missing(refs: ReferenceData) -> None:
    weights = [10.0, 0.0, -1.0, None, float("nan")]
    assert _flag(refs, "gross_weight_kg", weights, "dq_nonpositive_weight") == [
        False,
        True,
        True,
        True,
        True,
    ]
    packages = [3, 0, -2, None]
    assert _flag(refs, "packages", packages, "dq_nonpositive_packages") == [
        False,
        True,
        True,
        True,
    ]


def test_unparseable_from_ingest_is_kept_and_counted(refs: ReferenceData) -> None:
    frame = _frame([{"gross_weight_kg": 1.0, "packages": 1}] * 3).with_columns(
        dq_unparseable_values=pl.Series([True, None, False]),
        dq_unparseable_fields=pl.Series([["packages"], None, []]),
    )
    out = validate(frame, refs)
    assert out["dq_unparseable_values"].to_list() == [True, False, False]
    assert out["dq_unparseable_fields"].to_list() == [["packages"], [], []]
    assert out[DQ_COUNT].to_list() == [1, 0, 0]


def test_count_sums_flags_and_rows_keep_order(refs: ReferenceData) -> None:
    rows: list[dict[str, Any]] = [
        {
            "container_number": "CSQU3054384",
            "gross_weight_kg": 5.0,
            "packages": 1,
            "bl_number": "A",
        },
        {
            "container_number": "CSQU3054383",
            "gross_weight_kg": 5.0,
            "packages": 1,
            "bl_number": "B",
        },
        {"container_number": "CSQU3054384", "hs_code": "77", "bl_number": "C"},
    ]
    out = validate(_frame(rows), refs)
    assert out["bl_number"].to_list() == ["A", "B", "C"]
    assert_series_equal(out[DQ_COUNT], pl.Series(DQ_COUNT, [1, 0, 4], dtype=pl.Int32))
    summed = out.select(pl.sum_horizontal(pl.col(list(DQ_FLAGS)).cast(pl.Int32)))
    assert summed.to_series().to_list() == out[DQ_COUNT].to_list()


def test_revalidating_replaces_flags(refs: ReferenceData) -> None:
    once = validate(_frame([{"container_number": "CSQU3054384"}]), refs)
    twice = validate(once, refs)
    assert twice.columns == once.columns
    assert twice[DQ_COUNT].to_list() == once[DQ_COUNT].to_list()


def test_stage_protocol(refs: ReferenceData) -> None:
    from engine.stages import Stage

    stage = ValidationStage(refs, present={"container_number"})
    assert isinstance(stage, Stage)
    frame = _frame([{"container_number": "CSQU3054384"}])
    assert stage.apply(frame)["dq_count"].to_list() == [1]
    fingerprint = stage.fingerprint()
    assert fingerprint["present"] == ["container_number"]
    assert len(fingerprint["rules_sha256"]) == 64


def test_the_phrase_digest_is_the_same_in_every_process() -> None:
    # The phrase lists are sets; their pattern, and the digest a run record keeps, must not
    # follow the process's string-hash seed.
    code = "from engine.validate import rules_digest; print(rules_digest())"
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1


def test_canonical_catalogue_is_what_validate_reads() -> None:
    # every field the flags read is canonical, so ingest null-fills it
    for field in ["container_number", "vessel_imo", "transshipment_ports", "notify_name"]:
        assert field in CANONICAL


def test_codes_held_as_numbers_are_read_as_text(refs: ReferenceData) -> None:
    frame = pl.DataFrame({"hs_code": [847130, 101], "vessel_imo": [9319466, 8814274]})
    out = validate(frame, refs)
    assert out["dq_invalid_hs_code"].to_list() == [False, True]  # 101: lost leading zero
    assert out["dq_invalid_vessel_imo"].to_list() == [False, True]
    assert out.schema["hs_code"] == pl.Int64  # the caller's column is left as it was


def test_zero_rows_and_no_canonical_columns(refs: ReferenceData) -> None:
    empty = validate(_frame([]), refs)
    assert empty.height == 0
    assert set(_dq_columns()) <= set(empty.columns)
    foreign = validate(pl.DataFrame({"x": [1, 2]}), refs)  # nothing canonical: nothing applies
    assert foreign[DQ_COUNT].to_list() == [0, 0]
