"""Air cargo: the AWB check digit, the IATA airports table, Cargo-IMP FWB/FHL and the
air data flow through validation and enrichment."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.enrich import enrich
from engine.generate import AIR_TYPOLOGIES, generate
from engine.generate._air import AirRates
from engine.ingest import detect_format, read_frame
from engine.kernels import _ref_awb, awb_number_valid
from engine.reference import ReferenceData
from engine.validate import validate

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cargoimp" / "day.txt"

# Published examples: Australian Border Force ICS check-digit note (serial 1234567 -> 5),
# and the Lufthansa Cargo / prefix 589 examples of serial 8114074 -> 3.
PUBLISHED = [
    ("176-12345675", True),
    ("020-81140743", True),
    ("589 8114074 3", True),
    ("58981140743", True),
    ("176-12345674", False),  # wrong check digit
    ("176-12345677", False),  # 7 is never a mod-7 remainder
    ("176-1234567", False),  # too short
    ("176-123456750", False),  # too long
    ("17A-12345675", False),  # not digits
    ("", False),
]


@pytest.mark.parametrize(("number", "valid"), PUBLISHED)
def test_awb_check_digit_on_published_examples(number: str, valid: bool) -> None:
    assert awb_number_valid(pl.Series([number])).to_list() == [valid]
    assert _ref_awb(number) is valid


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789- ", max_size=14))
def test_awb_kernel_matches_reference(value: str) -> None:
    kernel = awb_number_valid(pl.Series([value])).to_list()[0]
    assert kernel == _ref_awb(value)


def test_airports_table_is_shipped_with_countries() -> None:
    airports = ReferenceData.load().airports
    assert airports["iata"].is_unique().all()
    row = airports.filter(pl.col("iata") == "TAS").row(0, named=True)
    assert row["country"] == "UZ"
    assert airports.height > 7000


def test_cargoimp_is_detected_and_read_with_every_position() -> None:
    assert detect_format(FIXTURE)[0] == "cargoimp"
    rows, quarantine = read_frame(FIXTURE)
    by_line = {r["source_line"]: r for r in rows.iter_rows(named=True)}
    assert sorted(by_line) == [2, 22, 45, 62]
    master = by_line[2]
    assert master["awb_number"] == "17612345675" and master["house_awb_number"] is None
    assert (master["airport_of_origin"], master["airport_of_destination"]) == ("DXB", "TAS")
    assert master["packages"] == 2 and master["gross_weight_kg"] == 14.5
    assert master["volume_m3"] == 0.08 and master["declared_value"] == 48000.0
    assert master["special_handling_codes"] == ["VAL", "ELI"]
    assert master["shipper_name"] == "GOLDEN BRIDGE GENERAL TRADING LLC"
    assert master["shipper_id"] == "AE1234" and master["shipper_country"] == "AE"
    assert master["consignee_country"] == "UZ" and master["hs_code"] == "851713"
    assert master["goods_description"] == "MOBILE PHONES"
    assert master["filed_at"].date() == date(2026, 11, 27)
    via = by_line[22]
    assert via["transfer_airports"] == ["IST"] and via["flights"] == ["TK0801", "TK0352"]
    house = by_line[45]
    assert house["awb_number"] == "17633333333" and house["house_awb_number"] == "HAWB-0001"
    assert house["hs_code"] == "870899" and house["declared_value"] == 12000.0
    assert house["record_id"] == "17633333333/HAWB-0001"
    # broken segments quarantine their consignment, with the segment's line and text
    bad = {r["source_line"]: r for r in quarantine.iter_rows(named=True)}
    assert sorted(bad) == [39, 42, 61, 63]
    assert bad[42]["field"] == "gross_weight_kg" and "X" in bad[42]["reason"]
    assert bad[61]["field"] == "declared_value" and bad[61]["raw"].startswith("CVD/EUR")
    assert "FSU/14" in bad[63]["reason"]


def test_air_rows_get_flags_and_derived_fields() -> None:
    rows, _ = read_frame(FIXTURE)
    rows = pl.concat(
        [rows, rows.head(1).with_columns(awb_number=pl.lit("17612345674"), record_id=pl.lit("x"))],
        how="vertical_relaxed",
    )
    refs = ReferenceData.load()
    out = enrich(validate(rows, refs), refs)
    assert out["transport_mode"].unique().to_list() == ["air"]
    assert out["dq_invalid_awb_number"].to_list() == [False, False, False, False, True]
    assert out["dq_unknown_airport"].sum() == 0
    assert out["airline_prefix"].to_list()[:2] == ["176", "235"]
    assert out["transfer_airport_countries"][1].to_list() == ["TR"]
    assert out["airport_of_destination_country"].to_list()[0] == "UZ"
    assert out["kg_per_m3"][0] == pytest.approx(14.5 / 0.08)


def test_generator_air_day_plants_typologies_and_keeps_sea_files(tmp_path: Path) -> None:
    plain = generate(days=1, rows_per_day=200, seed=3, out_dir=tmp_path / "a", history_days=2)
    rates = AirRates(**dict.fromkeys(AIR_TYPOLOGIES, 0.05))
    both = generate(
        days=1,
        rows_per_day=200,
        seed=3,
        out_dir=tmp_path / "b",
        history_days=2,
        air_rows_per_day=300,
        air_rates=rates,
        formats=("csv", "parquet"),
    )
    assert (
        plain.manifests[0].read_bytes()
        == (tmp_path / "b/manifests/manifest_2026-11-27.csv").read_bytes()
    )
    air = pl.read_parquet(both.air_manifests[1])
    assert air.height == 300
    assert awb_number_valid(air["awb_number"]).mean() > 0.97  # ~0.5 % mistyped
    truth = pl.read_parquet(both.air_truth[0])
    assert set(truth["typology"]) == set(AIR_TYPOLOGIES)
    assert both.air_history is not None
    history = pl.read_parquet(both.air_history)
    assert history.height == 600 and history["inspected"].sum() > 0
    small = air.join(truth, on=["awb_number"], how="inner").filter(
        pl.col("typology") == "air_small_high_value"
    )
    assert (small["gross_weight_kg"] <= 30).all()
