"""Enrichment: declared names and dtypes, rows kept in count and order, nulls handled."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from engine.enrich import ENRICHMENT_FIELDS, EnrichmentStage, enrich
from engine.reference import ReferenceData
from engine.schema import DERIVED, canonical_schema


@pytest.fixture(scope="module")
def refs() -> ReferenceData:
    return ReferenceData.load()


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=canonical_schema())


def assert_schema_dtypes(frame: pl.DataFrame, names: tuple[str, ...]) -> None:
    """Every ``names`` column exists with exactly the dtype the schema declares."""
    wrong = {
        name: (frame.schema.get(name), DERIVED[name].dtype)
        for name in names
        if frame.schema.get(name) != DERIVED[name].dtype
    }
    assert not wrong, f"columns with missing or wrong dtype (found, declared): {wrong}"


def _one(refs: ReferenceData, **row: Any) -> dict[str, Any]:
    return enrich(_frame([row]), refs).row(0, named=True)


def test_adds_every_enrichment_field_of_the_schema() -> None:
    declared = {
        name
        for name, field in DERIVED.items()
        if field.kind == "derived"
        and not name.startswith("dq_")
        and name in ENRICHMENT_FIELDS  # history and watchlist fields belong to other stages
    }
    from engine import schema

    named = {f.name for f in (*schema._ENRICHMENT, *schema._AIR)}
    assert named == set(ENRICHMENT_FIELDS) == declared


def test_dtypes_on_full_and_all_null_frames(refs: ReferenceData) -> None:
    full = _frame(
        [
            {
                "port_of_loading": "NLRTM",
                "transshipment_ports": ["SGSIN"],
                "hs_code": "847130",
                "gross_weight_kg": 10.0,
                "packages": 2,
                "declared_value": 5.0,
                "iso_type": "45R1",
                "departed_at": datetime(2026, 1, 1, tzinfo=UTC),
                "arrival_eta": datetime(2026, 1, 2, tzinfo=UTC),
                "last_amended_at": datetime(2026, 1, 1, 6, tzinfo=UTC),
            }
        ]
    )
    assert_schema_dtypes(enrich(full, refs), ENRICHMENT_FIELDS)
    empty = enrich(_frame([{}, {}]), refs)
    assert_schema_dtypes(empty, ENRICHMENT_FIELDS)
    # every derived value is unknown, except the mode: a row without an AWB is a sea row
    assert all(
        empty[name].null_count() == 2 for name in ENRICHMENT_FIELDS if name != "transport_mode"
    )
    assert empty["transport_mode"].to_list() == ["sea", "sea"]
    assert_schema_dtypes(enrich(_frame([]), refs), ENRICHMENT_FIELDS)


def test_frames_with_null_typed_or_absent_columns(refs: ReferenceData) -> None:
    frame = pl.DataFrame({"bl_number": ["A", "B"], "hs_code": [None, None]})  # Null dtype
    out = enrich(frame, refs)
    assert_schema_dtypes(out, ENRICHMENT_FIELDS)
    assert out.columns[:2] == ["bl_number", "hs_code"]
    assert out.schema["hs_code"] == pl.Null  # the caller's column is left as it was


def test_row_count_and_order_preserved(refs: ReferenceData) -> None:
    # duplicate codes, codes the tables do not know and nulls: none may add, drop or move rows
    ports = ["NLRTM", "CNSGH", None, "NLRTM", "QQQQQ", "BEBRU", "nlrtm"] * 300
    frame = _frame(
        [
            {"bl_number": f"BL{i:05d}", "port_of_discharge": p, "hs_code": "0101", "packages": i}
            for i, p in enumerate(ports)
        ]
    )
    out = enrich(frame, refs)
    assert out.height == frame.height
    assert_frame_equal(out.select(frame.columns), frame)
    countries = out["port_of_discharge_country"].to_list()[:7]
    assert countries == ["NL", "CN", None, "NL", None, "BE", "NL"]


def test_place_countries(refs: ReferenceData) -> None:
    row = _one(
        refs,
        port_of_loading="ECGYE",
        port_of_discharge="be anr",
        place_of_receipt="DEDUS",  # inland: not a seaport, still German
        place_of_delivery="ZZABC",  # ZZ is no country
    )
    assert row["port_of_loading_country"] == "EC"
    assert row["port_of_discharge_country"] == "BE"
    assert row["place_of_receipt_country"] == "DE"
    assert row["place_of_delivery_country"] is None


def test_transshipment_countries_keep_order_and_nulls(refs: ReferenceData) -> None:
    frame = _frame(
        [
            {"transshipment_ports": ["PAONX", "ESALG", "NLRTM"]},
            {"transshipment_ports": ["SGSIN", None, "QQXXX", "lk cmb"]},
            {"transshipment_ports": []},
            {"transshipment_ports": None},
        ]
    )
    out = enrich(frame, refs)
    assert out["transshipment_countries"].to_list() == [
        ["PA", "ES", "NL"],
        ["SG", None, None, "LK"],
        [],
        None,
    ]
    assert out["transshipment_count"].to_list() == [3, 3, 0, None]


def test_hs_prefixes_and_descriptions(refs: ReferenceData) -> None:
    frame = _frame(
        [
            {"hs_code": "8471.30.00"},
            {"hs_code": "0901"},
            {"hs_code": "09"},
            {"hs_code": "101"},
            {"hs_code": "9999"},
            {"hs_code": None},
        ]
    )
    out = enrich(frame, refs)
    assert out["hs_chapter"].to_list() == ["84", "09", "09", None, "99", None]
    assert out["hs_heading"].to_list() == ["8471", "0901", None, None, "9999", None]
    assert out["hs_subheading"].to_list() == ["847130", None, None, None, None, None]
    chapter_text = out["hs_chapter_description"].to_list()
    assert chapter_text[1] == chapter_text[2] == "Coffee, tea, mate and spices"
    assert chapter_text[4] is None  # "not specified" is not an HS chapter
    heading_text = out["hs_heading_description"].to_list()
    assert heading_text[0] is not None and heading_text[0].startswith("Automatic data processing")
    assert heading_text[2:] == [None, None, None, None]


@pytest.mark.parametrize(
    ("weight", "packages", "value", "kg_per_package", "value_per_kg"),
    [
        (100.0, 4, 500.0, 25.0, 5.0),
        (100.0, 0, 500.0, None, 5.0),
        (0.0, 4, 500.0, 0.0, None),
        (-5.0, 5, 10.0, -1.0, None),
        (100.0, -1, None, None, None),
        (None, 3, 10.0, None, None),
        (10.0, None, None, None, None),
        (float("nan"), 2, 10.0, None, None),
        (float("inf"), 2, 10.0, None, None),
        (4.0, 2, float("nan"), 2.0, None),
    ],
)
def test_ratios(
    refs: ReferenceData,
    weight: float | None,
    packages: int | None,
    value: float | None,
    kg_per_package: float | None,
    value_per_kg: float | None,
) -> None:
    row = _one(refs, gross_weight_kg=weight, packages=packages, declared_value=value)
    assert row["kg_per_package"] == kg_per_package
    assert row["value_per_kg"] == value_per_kg


@pytest.mark.parametrize(
    ("iso_type", "group", "reefer"),
    [
        ("45R1", "R", True),
        ("22g1", "G", False),
        ("22 R0", "R", True),
        ("22T6", "T", False),
        ("22R", None, None),
        (None, None, None),
    ],
)
def test_equipment(
    refs: ReferenceData, iso_type: str | None, group: str | None, reefer: bool | None
) -> None:
    row = _one(refs, iso_type=iso_type)
    assert (row["equipment_group"], row["is_reefer"]) == (group, reefer)


def test_times(refs: ReferenceData) -> None:
    departed = datetime(2026, 3, 1, 12, tzinfo=UTC)
    frame = _frame(
        [
            {
                "departed_at": departed,
                "arrival_eta": datetime(2026, 3, 15, 0, tzinfo=UTC),
                "last_amended_at": datetime(2026, 3, 2, 18, tzinfo=UTC),
            },
            {
                "departed_at": departed,
                "arrival_eta": datetime(2026, 2, 28, 12, tzinfo=UTC),
                "last_amended_at": datetime(2026, 2, 28, 0, tzinfo=UTC),
            },
            {"departed_at": None, "arrival_eta": departed, "last_amended_at": departed},
        ]
    )
    out = enrich(frame, refs)
    assert out["transit_days"].to_list() == [13.5, -1.0, None]
    assert out["amended_after_departure_hours"].to_list() == [30.0, -36.0, None]


def test_enriching_twice_gives_the_same_frame(refs: ReferenceData) -> None:
    frame = _frame([{"port_of_loading": "NLRTM", "hs_code": "0101", "iso_type": "22G1"}])
    once = enrich(frame, refs)
    assert_frame_equal(enrich(once, refs), once)


def test_stage_protocol(refs: ReferenceData) -> None:
    from engine.stages import Stage

    stage = EnrichmentStage(refs)
    assert isinstance(stage, Stage)
    assert stage.apply(_frame([{"port_of_loading": "NLRTM"}]))["port_of_loading_country"].item()
    assert stage.fingerprint()["reference_data"]["sha256"] == refs.digests
