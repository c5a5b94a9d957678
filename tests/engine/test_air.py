"""Air cargo: the AWB check digit, the IATA airports table, Cargo-IMP FWB/FHL and the
air data flow through validation and enrichment."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

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
    # the unit's own airports are known (upstream lists Manas, Bishkek, as BSZ; it is FRU)
    known = set(airports["iata"].to_list())
    assert {"TAS", "ALA", "FRU", "DYU", "NQZ", "GYD", "ASB"} <= known and "BSZ" not in known
    assert airports.height > 7000


def test_cargoimp_is_detected_and_read_with_every_position() -> None:
    assert detect_format(FIXTURE)[0] == "cargoimp"
    rows, quarantine = read_frame(FIXTURE)
    by_line = {r["source_line"]: r for r in rows.iter_rows(named=True)}
    assert sorted(by_line) == [2, 22, 45, 62]
    master = by_line[2]
    assert master["awb_number"] == "17612345675" and master["house_awb_number"] is None
    assert master["record_id"] == "17612345675"  # a master without a house: no trailing "/"
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


# Fields only a container on a bill of lading has (equipment, vessel, seaports, B/L) and the
# ratios whose thresholds only mean something for sea cargo (weight per carton or bag).
SEA_ONLY_FIELDS = {
    "container_number",
    "iso_type",
    "is_empty",
    "is_reefer",
    "equipment_group",
    "bl_type",
    "port_of_loading",
    "port_of_loading_country",
    "port_of_discharge_country",
    "place_of_receipt_country",
    "transshipment_ports",
    "transshipment_count",
    "kg_per_package",
    "dq_invalid_container_number",
    "dq_invalid_iso_type",
    "dq_invalid_vessel_imo",
    "dq_unknown_port_of_loading",
    "watchlist_vessel_hit",
    "watchlist_vessel_name_hit",
    "watchlist_container_hit",
    "container_prior_seizures",
}


def test_sea_rules_never_hit_an_air_waybill() -> None:
    from rules import load_pack
    from rules._pack import catalogue_dtypes
    from rules._selftest import run_rule_tests

    pack = load_pack()
    dtypes = catalogue_dtypes()
    sea_rules = [r for r in pack.rules if r.fields() & SEA_ONLY_FIELDS]
    assert {"apparel-heavy-cartons", "coffee-implausible-bag-weight"} <= {r.id for r in sea_rules}
    for rule in sea_rules:
        hits = [t for t in rule.tests if t.expect == "hit"]
        assert hits, rule.id
        for mode, expect in (("sea", "hit"), ("air", "no_hit")):
            probe = dataclasses.replace(
                rule,
                tests=tuple(
                    dataclasses.replace(t, row={**t.row, "transport_mode": mode}, expect=expect)
                    for t in hits
                ),
            )
            failed = [o for o in run_rule_tests(probe, dtypes) if not o.passed]
            assert not failed, (rule.id, mode, failed)
    # and no air rule reads a sea-only field
    for rule in pack.rules:
        if "air" in rule.tags:
            assert not rule.fields() & SEA_ONLY_FIELDS, rule.id


def test_air_outcomes_are_keyed_by_master_and_house_awb(tmp_path: Path) -> None:
    from api.history_cli import history_app
    from engine.history import HistoryFeatures, HistoryStore

    rows, _ = read_frame(FIXTURE)
    store = HistoryStore(tmp_path / "store")
    store.append(rows, batch_id="air-day")
    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text(
        "awb_number,house_awb_number,inspection_result,finding_type,recorded_at\n"
        "17612345675,,seizure,drugs,2026-11-28T10:00:00Z\n"
        "17633333333,HAWB-0001,clean,,2026-11-28T11:00:00Z\n"
        "17699999999,,clean,,2026-11-28T11:00:00Z\n"  # not stored (yet): kept, not matched
    )
    done = CliRunner().invoke(history_app, ["outcomes", str(outcomes), "--store", str(store.root)])
    assert done.exit_code == 0, done.output
    assert "recorded 3 outcome(s); 2 stored row(s) matched" in done.output
    seen = store.scan().collect()
    result = dict(
        zip(seen["record_id"].to_list(), seen["inspection_result"].to_list(), strict=True)
    )
    assert result["17612345675"] == "seizure"
    assert result["17633333333/HAWB-0001"] == "clean"
    assert result["17633333333/HAWB-0003"] is None  # another house of that master
    # the air history learns from it: the consignee of the seized master has a positive
    later = rows.filter(pl.col("record_id") == "17612345675").with_columns(
        pl.col("filed_at") + pl.duration(days=10), record_id=pl.lit("17612345686")
    )
    features = HistoryFeatures(store).apply(later)
    assert features["consignee_past_inspections"].to_list() == [1]
    assert features["consignee_past_positives"].to_list() == [1]
