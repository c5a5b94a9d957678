"""The lists of fields outputs are written by derive from the catalogue (``engine.schema``):
``flagged.csv``'s columns, the air columns a sea batch leaves out of it, the fields shown
with a flagged row and the columns industry-message readers fill. Each keeps the names and
the order it had when it was written out by hand (pinned below: it is the outputs' contract),
and a run writes ``flagged.csv`` in that order for a sea and for an air batch."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from api.services.indexing import DISPLAY_FIELDS
from engine import schema
from engine.formats._common import EMITTED
from engine.pipeline import FLAGGED_COLUMNS, run_batch
from engine.policy import Capacity, ScoringPolicy
from engine.reference import ReferenceData
from engine.scorer import Scorer
from engine.watchlist import WATCHLIST_COLUMNS
from rules import load_pack

AIR_BEFORE = (
    "transport_mode",
    "awb_number",
    "house_awb_number",
    "airport_of_origin",
    "airport_of_destination",
)
FLAGGED_BEFORE = (
    "record_id",
    "container_number",
    "bl_number",
    *AIR_BEFORE,
    "lane",
    "risk_score",
    "selected",
    "selection_reason",
    "rule_score",
    "model_probability",
    "rule_hits",
    "reasons",
    "shipper_name",
    "consignee_name",
    "port_of_loading",
    "port_of_discharge",
    "hs_code",
    "goods_description",
    "source_file",
    "source_line",
)
WATCHLIST_BEFORE = (
    "watchlist_party_score",
    "watchlist_party_role",
    "watchlist_entry",
    "watchlist_party_match",
    "watchlist_vessel_hit",
    "watchlist_vessel_name_hit",
    "watchlist_vessel_entry",
    "watchlist_container_hit",
    "watchlist_container_entry",
)
AIR_FIELDS_BEFORE = (
    "awb_number",
    "house_awb_number",
    "airport_of_origin",
    "transfer_airports",
    "airport_of_destination",
    "flights",
    "volume_m3",
    "special_handling_codes",
)
SHOWN_BEFORE = (
    "transport_mode",
    *AIR_FIELDS_BEFORE,
    "house_bl_number",
    "shipper_name",
    "shipper_country",
    "consignee_name",
    "consignee_country",
    "notify_name",
    "hs_code",
    "hs_chapter",
    "goods_description",
    "packages",
    "package_type",
    "gross_weight_kg",
    "declared_value",
    "currency",
    "origin_country",
    "place_of_receipt",
    "port_of_loading",
    "transshipment_ports",
    "port_of_discharge",
    "place_of_delivery",
    "vessel_imo",
    "vessel_name",
    "voyage",
    "carrier_scac",
    "iso_type",
    "filed_at",
    "departed_at",
    "arrival_eta",
    *WATCHLIST_BEFORE,
)
NOT_IN_MESSAGES_BEFORE = frozenset(
    {"amendments", "last_amended_at", "freight_payment", "declared_value", "currency"}
)
LABELS_BEFORE = ("inspected", "inspection_result", "finding_type", "inspected_at")


def test_derived_lists_are_the_ones_written_by_hand_before() -> None:
    assert FLAGGED_COLUMNS == schema.FLAGGED_COLUMNS == FLAGGED_BEFORE
    assert schema.AIR_FLAGGED_COLUMNS == AIR_BEFORE
    assert DISPLAY_FIELDS == schema.SHOWN_FIELDS == SHOWN_BEFORE
    assert WATCHLIST_COLUMNS == schema.WATCHLIST_FIELDS == WATCHLIST_BEFORE
    assert schema.NOT_IN_MESSAGES == NOT_IN_MESSAGES_BEFORE
    assert schema.LABEL_FIELDS == LABELS_BEFORE
    assert schema.AIR_FIELDS == AIR_FIELDS_BEFORE
    assert list(EMITTED) == [
        n for n in schema.CANONICAL if n not in LABELS_BEFORE and n not in NOT_IN_MESSAGES_BEFORE
    ]


@pytest.mark.parametrize("attribute", ["flagged", "shown"])
def test_places_run_from_one_without_gaps_or_repeats(attribute: str) -> None:
    places = sorted(
        place for f in schema.catalogue() if (place := getattr(f, attribute)) is not None
    )
    assert places == list(range(1, len(places) + 1))


def test_derived_fields_keep_their_places() -> None:
    assert schema.DERIVED["transport_mode"].flagged == 4
    assert schema.DERIVED["watchlist_party_score"].shown == 38
    assert schema.DERIVED["transport_mode"].kind == "derived"


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer(refs=ReferenceData.load(), policy=ScoringPolicy.load(), rules=load_pack())


SEA = (
    "container_number,bl_number,iso_type,gross_weight_kg,packages,port_of_loading,"
    "port_of_discharge,hs_code,goods_description,consignee_name,filed_at\n"
    "MSCU6639871,BL1,45R1,1000,10,ECGYE,GEPTI,080390,bananas,Acme LLC,2026-11-27T08:00:00Z\n"
    "MSCU1234560,BL2,45R1,0,10,ECGYE,GEPTI,080390,said to contain,Acme LLC,2026-11-27T08:00:00Z\n"
)
AIR = (
    "awb_number,house_awb_number,airport_of_origin,airport_of_destination,packages,"
    "gross_weight_kg,goods_description,consignee_name,filed_at\n"
    "23512345675,,IST,FRU,3,120,spare parts,Acme LLC,2026-11-27T08:00:00Z\n"
    "23512345686,H1,DXB,FRU,1,5,said to contain general cargo,Acme LLC,2026-11-27T09:00:00Z\n"
)


@pytest.mark.parametrize(("name", "text"), [("sea", SEA), ("air", AIR)])
def test_flagged_csv_columns_come_in_the_order_they_always_had(
    tmp_path: Path, scorer: Scorer, name: str, text: str
) -> None:
    source = tmp_path / f"{name}.csv"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    run_batch(source, scorer=scorer, out_dir=out, capacity=Capacity.parse("100%"))
    written = pl.read_csv(out / "flagged.csv", infer_schema=False).columns
    present = {*pl.read_parquet_schema(out / "scored.parquet"), "reasons"}
    if name == "sea":
        present -= set(AIR_BEFORE)
    assert written == [c for c in FLAGGED_BEFORE if c in present]
    assert ("awb_number" in written) == (name == "air")
