"""An air cargo day for an Air Cargo Control Unit: canonical air waybill rows and the truth.

Traffic: consignments flown into the unit's airports (Tashkent, Almaty, Astana, Bishkek,
Dushanbe, Baku, Tbilisi, Ashgabat) from the airports in ``data/air.json``, direct or with a
transfer at a hub, on real IATA airline prefixes with valid AWB numbers (mod-7 check digit;
about 0.5 % mistyped), masters with and without house waybills, recurring parties composed
like the sea generator's. Typologies planted at :class:`AirRates` and recorded only in the
truth: small high-value parcels from source airports, source-region consignments transferred
at a hub with vague descriptions, and vague consignments to brand-new consignees.

Everything is drawn with numpy from a stream of its own (``[seed, day, 1]``), so adding air
traffic never changes the sea manifests of the same seed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import polars as pl

from engine.generate._codes import IntArray, weighted_choice
from engine.generate._parties import compose_addresses, compose_names
from engine.schema import CANONICAL

AIR_TYPOLOGIES: tuple[str, ...] = (
    "air_small_high_value",
    "air_hub_transfer",
    "air_vague_new_consignee",
)
AIR_COLUMNS: tuple[str, ...] = (
    "awb_number",
    "house_awb_number",
    "airport_of_origin",
    "transfer_airports",
    "airport_of_destination",
    "flights",
    "filed_at",
    "departed_at",
    "arrival_eta",
    "shipper_name",
    "shipper_address",
    "shipper_country",
    "consignee_name",
    "consignee_address",
    "consignee_country",
    "origin_country",
    "hs_code",
    "goods_description",
    "packages",
    "gross_weight_kg",
    "volume_m3",
    "declared_value",
    "currency",
    "special_handling_codes",
)
"""The canonical columns of a generated air waybill file (labels added for history)."""


@dataclass(frozen=True)
class AirRates:
    """Share of air waybill rows planted with each air typology."""

    air_small_high_value: float = 0.004
    air_hub_transfer: float = 0.004
    air_vague_new_consignee: float = 0.004

    def as_array(self) -> np.ndarray:
        return np.asarray([getattr(self, name) for name in AIR_TYPOLOGIES], dtype=np.float64)


@cache
def _tables() -> dict[str, Any]:
    data = resources.files("engine.generate") / "data" / "air.json"
    tables: dict[str, Any] = json.loads(data.read_text(encoding="utf-8"))
    return {name: table["value"] for name, table in tables.items()}


@dataclass(frozen=True)
class AirUniverse:
    """Recurring air parties: shippers per origin airport, consignees per destination."""

    shipper_name: pl.Series
    shipper_address: pl.Series
    shipper_origin: IntArray  # index into the origins table
    consignee_name: pl.Series
    consignee_address: pl.Series
    consignee_dest: IntArray  # index into the destinations table
    consignee_born: IntArray  # first day (timeline index) the consignee trades


def build_air_universe(seed: int, rows_per_day: int, timeline_days: int) -> AirUniverse:
    """Party pools sized for ``rows_per_day`` air waybills a day over the timeline."""
    t = _tables()
    rng = np.random.default_rng([seed, 0xA1])
    origins, dests = t["ORIGINS"], t["DESTINATIONS"]
    n_ship = max(20, rows_per_day // 3)
    n_cons = max(20, rows_per_day // 4)
    ship_origin = weighted_choice(rng, np.asarray([o[2] for o in origins]), n_ship)
    ship_country = np.asarray([origins[i][1] for i in ship_origin])
    ship_city = pl.Series([origins[i][3] for i in ship_origin], dtype=pl.String)
    cons_dest = weighted_choice(rng, np.asarray([d[2] for d in dests]), n_cons)
    cons_country = np.asarray([dests[i][1] for i in cons_dest])
    cons_city = pl.Series([dests[i][3] for i in cons_dest], dtype=pl.String)
    # most consignees trade from the start; the rest appear along the timeline
    born = np.where(
        rng.random(n_cons) < 0.7, 0, rng.integers(0, max(1, timeline_days), n_cons)
    ).astype(np.int64)
    return AirUniverse(
        shipper_name=compose_names(rng, ship_country, ship_city),
        shipper_address=compose_addresses(
            rng, ship_country, ship_city, pl.Series(ship_country), np.full(n_ship, 0.05)
        ),
        shipper_origin=ship_origin,
        consignee_name=compose_names(rng, cons_country, cons_city),
        consignee_address=compose_addresses(
            rng, cons_country, cons_city, pl.Series(cons_country), np.full(n_cons, 0.05)
        ),
        consignee_dest=cons_dest,
        consignee_born=born,
    )


def _awb_numbers(rng: np.random.Generator, prefixes: list[str], rows: int) -> pl.Series:
    prefix = np.asarray(prefixes)[rng.integers(0, len(prefixes), rows)]
    serial = rng.integers(1_000_000, 9_999_999, rows)
    check = serial % 7
    typo = rng.random(rows) < 0.005
    check = np.where(typo, (check + 1 + rng.integers(0, 5, rows)) % 10, check)
    parts = pl.DataFrame({"p": prefix, "s": serial, "c": check})
    return parts.select(
        pl.format("{}-{}{}", "p", pl.col("s").cast(pl.String).str.zfill(7), "c").alias("awb")
    )["awb"]


def air_day(
    uni: AirUniverse,
    rates: AirRates,
    seed: int,
    t: int,
    day: date,
    rows: int,
    *,
    labelled: bool,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One day's air waybill frame (with labels if ``labelled``) and its truth rows."""
    tab = _tables()
    rng = np.random.default_rng([seed, day.toordinal(), 1])
    origins, dests, goods = tab["ORIGINS"], tab["DESTINATIONS"], tab["GOODS"]
    carriers, hubs = tab["CARRIERS"], tab["HUBS"]
    source = np.asarray([o[0] in tab["SOURCE_AIRPORTS"] for o in origins])

    # typology of each row (-1: clean)
    typology = np.full(rows, -1, dtype=np.int64)
    draw = rng.random(rows)
    edges = np.cumsum(rates.as_array())
    for k in range(len(AIR_TYPOLOGIES) - 1, -1, -1):
        typology[draw < edges[k]] = k

    # parties: a shipper (whose airport is the origin) and a consignee already trading
    alive = np.flatnonzero(uni.consignee_born <= t)
    if alive.size == 0:
        alive = np.arange(len(uni.consignee_born))
    shipper = rng.integers(0, len(uni.shipper_origin), rows)
    consignee = alive[rng.integers(0, alive.size, rows)]
    source_shippers = np.flatnonzero(source[uni.shipper_origin])
    planted = typology >= 0
    from_source = planted & (typology != 2)
    if source_shippers.size:
        shipper = np.where(
            from_source, source_shippers[rng.integers(0, source_shippers.size, rows)], shipper
        )
    # new consignees: those born today (or the youngest) for two of the typologies
    young = np.argsort(-uni.consignee_born)[: max(3, len(uni.consignee_born) // 20)]
    newcomer = planted & (typology != 1)
    consignee = np.where(newcomer, young[rng.integers(0, young.size, rows)], consignee)
    origin = uni.shipper_origin[shipper]
    dest = uni.consignee_dest[consignee]

    # route: direct, or one transfer at a hub (always for the hub typology)
    transfer = (rng.random(rows) < 0.45) | (typology == 1)
    hub = rng.integers(0, len(hubs), rows)
    carrier = weighted_choice(rng, np.asarray([c[2] for c in carriers]), rows)
    prefixes = [carriers[i][0] for i in range(len(carriers))]
    awb = _awb_numbers(rng, prefixes, rows)
    # consolidations: a third of the rows are houses of a master shared by 1-4 houses
    house = rng.random(rows) < 0.35
    house_no = pl.DataFrame({"h": house, "n": rng.integers(0, 10**7, rows)}).select(
        pl.when("h").then(pl.format("HAWB{}", pl.col("n").cast(pl.String).str.zfill(7))).alias("h")
    )["h"]

    # goods: clean rows draw from the goods table; typologies pick theirs
    good = weighted_choice(rng, np.asarray([g[3] for g in goods]), rows)
    hs = np.asarray([g[0] for g in goods])[good]
    text = np.asarray([g[1] for g in goods])[good]
    usd_per_kg = np.asarray([g[2] for g in goods], dtype=np.float64)[good]
    vague = np.asarray(tab["VAGUE"])[rng.integers(0, len(tab["VAGUE"]), rows)]
    small = np.asarray(tab["SMALL_VALUABLE"])[rng.integers(0, len(tab["SMALL_VALUABLE"]), rows)]
    text = np.where(typology == 0, small, np.where(typology >= 1, vague, text))
    pieces = np.maximum(1, rng.poisson(4.0, rows))
    kg = np.round(rng.lognormal(np.log(60.0), 1.0, rows), 1)
    kg = np.where(typology == 0, np.round(rng.uniform(2.0, 30.0, rows), 1), kg)
    pieces = np.where(typology == 0, rng.integers(1, 3, rows), pieces)
    value = np.round(kg * usd_per_kg * rng.lognormal(0.0, 0.3, rows), 2)
    value = np.where(typology == 0, np.round(kg * rng.uniform(150.0, 900.0, rows), 2), value)
    volume = np.round(kg / rng.uniform(120.0, 300.0, rows), 3)
    shc = np.where(
        (typology == 0) | (usd_per_kg > 200), "VAL", np.where(hs.astype("U2") == "06", "PER", "")
    )

    base = datetime(day.year, day.month, day.day, tzinfo=UTC)
    departed = pl.select(
        pl.lit(base) - pl.duration(hours=pl.lit(pl.Series(rng.integers(6, 40, rows))))
    ).to_series()
    frame = pl.DataFrame(
        {
            "awb_number": awb,
            "house_awb_number": house_no,
            "airport_of_origin": np.asarray([o[0] for o in origins])[origin],
            "airport_of_destination": np.asarray([d[0] for d in dests])[dest],
            "hub": np.asarray(hubs)[hub],
            "transfer": transfer,
            "carrier": np.asarray([c[1] for c in carriers])[carrier],
            "flight_no": rng.integers(1, 9999, rows),
            "departed_at": pl.Series(departed, dtype=CANONICAL["departed_at"].dtype),
            "lead": rng.integers(2, 30, rows),
            "flight_hours": rng.integers(4, 20, rows),
            "shipper_name": uni.shipper_name.gather(shipper),
            "shipper_address": uni.shipper_address.gather(shipper),
            "shipper_country": np.asarray([o[1] for o in origins])[origin],
            "consignee_name": uni.consignee_name.gather(consignee),
            "consignee_address": uni.consignee_address.gather(consignee),
            "consignee_country": np.asarray([d[1] for d in dests])[dest],
            "hs_code": hs,
            "goods_description": text,
            "packages": pieces.astype(np.int64),
            "gross_weight_kg": kg,
            "volume_m3": volume,
            "declared_value": value,
            "shc": shc,
        }
    )
    frame = frame.with_columns(
        transfer_airports=pl.when("transfer")
        .then(pl.concat_list("hub"))
        .otherwise(pl.lit([], dtype=pl.List(pl.String))),
        flights=pl.when("transfer")
        .then(
            pl.concat_list(
                pl.format("{}{}", "carrier", pl.col("flight_no").cast(pl.String).str.zfill(4)),
                pl.format(
                    "{}{}",
                    "carrier",
                    ((pl.col("flight_no") + 1) % 10000).cast(pl.String).str.zfill(4),
                ),
            )
        )
        .otherwise(
            pl.concat_list(
                pl.format("{}{}", "carrier", pl.col("flight_no").cast(pl.String).str.zfill(4))
            )
        ),
        filed_at=pl.col("departed_at") - pl.duration(hours=pl.col("lead")),
        arrival_eta=pl.col("departed_at") + pl.duration(hours=pl.col("flight_hours")),
        origin_country=pl.col("shipper_country"),
        currency=pl.lit("USD"),
        special_handling_codes=pl.when(pl.col("shc") == "")
        .then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(pl.concat_list("shc")),
    )
    frame = frame.select(pl.col(name).cast(CANONICAL[name].dtype) for name in AIR_COLUMNS)
    truth = frame.select("awb_number", "house_awb_number").with_columns(
        row_index=pl.int_range(0, rows, dtype=pl.Int64),
        manifest_date=pl.lit(day),
        typology=pl.Series(np.asarray((*AIR_TYPOLOGIES, ""))[typology]),
    )
    if labelled:
        inspected = (rng.random(rows) < 0.08) | (planted & (rng.random(rows) < 0.5))
        positive = inspected & planted & (rng.random(rows) < 0.7)
        positive |= inspected & ~planted & (rng.random(rows) < 0.03)
        frame = frame.with_columns(
            inspected=pl.Series(inspected, dtype=pl.Boolean),
            inspection_result=pl.when(pl.Series(positive))
            .then(pl.lit("seizure"))
            .when(pl.Series(inspected))
            .then(pl.lit("clean")),
            finding_type=pl.when(pl.Series(positive)).then(
                pl.Series(np.where(typology == 0, "drugs", "revenue"))
            ),
            inspected_at=pl.when(pl.Series(inspected)).then(
                pl.col("arrival_eta") + pl.duration(hours=24)
            ),
        )
        truth = truth.with_columns(
            inspected=frame["inspected"], inspection_result=frame["inspection_result"]
        )
    truth = truth.filter(pl.Series(planted)).select(
        "manifest_date",
        "row_index",
        "awb_number",
        "house_awb_number",
        "typology",
        *(["inspected", "inspection_result"] if labelled else []),
    )
    return frame, truth
