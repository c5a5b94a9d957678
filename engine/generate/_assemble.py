"""Turn a day's index arrays into the canonical manifest frame (polars string building).

Also adds the generator's natural dirt — unknown UN/LOCODEs and non-positive weights —
which real manifests carry and which are not smuggling typologies.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from engine.generate import _words as words
from engine.generate._day import CURRENCIES, OWNER_CODES
from engine.generate._draw import FREIGHT_PAYMENTS, ISO_TYPES, Draw, Universe
from engine.generate._parties import text
from engine.generate._world import World
from engine.schema import AIR_FIELDS, CANONICAL, LABEL_FIELDS

UNKNOWN_LOCODE_SHARE = 0.003
NONPOSITIVE_WEIGHT_SHARE = 0.001
DG_SHARE = 0.3

MANIFEST_COLUMNS: tuple[str, ...] = tuple(
    n for n in CANONICAL if n not in LABEL_FIELDS and n not in AIR_FIELDS
)
"""The container manifest's columns (air waybill fields are written to the air files)."""


def bill_source(draw: Draw) -> np.ndarray:
    """For each row, the row whose draws its bill uses (FCL: the bill's first container;
    LCL: the house bill itself), so that bill-level text agrees across containers."""
    rows = np.arange(draw.n)
    return np.where(draw.is_lcl, rows, np.searchsorted(draw.group, draw.group))


def _dg_numbers(world: World, draw: Draw, rng: np.random.Generator) -> pl.Series:
    chapters = world.hs_chapter[draw.hs]
    un = np.zeros(draw.n, dtype=np.int64)
    u = rng.random(draw.n)
    for chapter, numbers in words.DG_BY_CHAPTER.items():  # a handful of chapters
        mask = (chapters == chapter) & (u < DG_SHARE)
        un[mask] = np.asarray(numbers, dtype=np.int64)[rng.integers(0, len(numbers), mask.sum())]
    un = np.where(draw.dg_override >= 0, draw.dg_override, un[bill_source(draw)])
    un = np.where(draw.is_empty, 0, un)
    return pl.Series(un).cast(pl.String).str.zfill(4).replace("0000", None)


def as_text(values: np.ndarray) -> pl.Series:
    """A numpy string array of few distinct values as a polars Series, via its codes."""
    uniq, inverse = np.unique(values, return_inverse=True)
    return text(uniq.tolist(), inverse)


def list_column(candidates: list[pl.Series], present: np.ndarray) -> pl.Series:
    """A list column whose row ``i`` holds ``candidates[j][i]`` for each ``present[i, j]``.

    Built from offsets with Arrow: far cheaper than ``concat_list(...).list.drop_nulls()``.
    """
    n = present.shape[0]
    rows, which = np.nonzero(present)
    flat = pl.concat(candidates).gather(which * n + rows)
    offsets = np.concatenate([[0], np.cumsum(present.sum(axis=1))]).astype(np.int64)
    # from_buffers, not pa.array: the latter imports pandas, which costs seconds at start-up
    offset_array = pa.Array.from_buffers(pa.int64(), len(offsets), [None, pa.py_buffer(offsets)])
    lists = pa.LargeListArray.from_arrays(offset_array, flat.to_arrow())
    series = pl.from_arrow(lists)
    assert isinstance(series, pl.Series)
    return series


def _party(table: pl.DataFrame, idx: np.ndarray, role: str) -> pl.DataFrame:
    picked: pl.DataFrame = table[np.maximum(idx, 0)]
    return picked.rename({c: f"{role}_{c}" for c in picked.columns})


def assemble(world: World, uni: Universe, draw: Draw, rng: np.random.Generator) -> pl.DataFrame:
    """The day's manifest rows with exactly the canonical (non-label) columns."""
    d, n = draw.derived, draw.n
    parties = pl.concat([uni.parties, *draw.extras]) if draw.extras else uni.parties
    ship = _party(parties, draw.shipper, "shipper")
    cons = _party(parties, draw.consignee, "consignee")
    noti = _party(parties, draw.notify, "notify")

    bill = bill_source(draw)

    def pick(options: list[str]) -> pl.Series:
        return text(options, rng.integers(0, len(options), n)[bill])

    override = draw.description_override
    declared = np.round(d["usd"] * d["rate"], 2)
    gross = d["gross"]
    dirt = rng.random(n)
    gross = np.where(
        dirt < NONPOSITIVE_WEIGHT_SHARE,
        np.where(dirt < NONPOSITIVE_WEIGHT_SHARE / 2, 0.0, -gross),
        gross,
    )
    westbound = world.loc_lon[draw.port_of_loading] > world.loc_lon[draw.port_of_discharge]
    scacs = [c[0] for c in words.CARRIERS]
    loc_code = world.text["loc_code"]
    fleet_names = pl.Series(uni.fleet.name.tolist(), dtype=pl.String)
    fleet_imo = pl.Series(uni.fleet.imo.tolist(), dtype=pl.String)
    fleet_code = pl.Series(_voyage_code(np.arange(len(uni.fleet.name))).tolist(), dtype=pl.String)

    frame = (
        pl.DataFrame(
            {
                "owner": text(OWNER_CODES, d["owner"]),
                "serial": d["serial"],
                "check": d["check"],
                "iso": text(list(ISO_TYPES), d["iso_type"]),
                "seal1": d["seal1"],
                "seal2": d["seal2"],
                "scac": text(scacs, d["carrier"]),
                "seal_prefix": text([c[:2] for c in scacs], d["carrier"]),
                "is_lcl": draw.is_lcl,
                "is_empty": draw.is_empty,
                "bl_body": d["bl_body"],
                "house_body": d["house_body"],
                "has_house": d["has_house"],
                "to_order": draw.bl_to_order,
                "bank": pick(words.BANKS),
                "to_order_plain": (rng.random(n) < 0.5)[bill],
                "filed": d["filed"],
                "departed": d["departed"],
                "eta": d["eta"],
                "amended_at": d["last_amended"],
                "amendments": draw.amendments,
                "collect": draw.freight_collect,
                "payment": text(list(FREIGHT_PAYMENTS), draw.freight_payment),
                "notify_kind": draw.notify,
                "placeholder": pick(words.PLACEHOLDER_NOTIFY),
                "hs": world.text["hs_code"].gather(draw.hs),
                "hs_text": world.text["hs_text"].gather(draw.hs),
                "prefix": pick(words.DESCRIPTION_PREFIXES),
                "vague": draw.vague,
                "vague_text": pick(words.VAGUE_DESCRIPTIONS),
                "override": text([*draw.descriptions, ""], override),
                "has_override": override >= 0,
                "packages": d["packages"],
                "package_type": world.text["hs_package_type"].gather(draw.hs),
                "gross": gross,
                "declared": declared,
                "currency": text(CURRENCIES, d["currency"]),
                "origin": as_text(draw.origin_country),
                "receipt": loc_code.gather(np.maximum(draw.place_of_receipt, 0)),
                "has_receipt": draw.place_of_receipt >= 0,
                "pol": loc_code.gather(draw.port_of_loading),
                "hub1": loc_code.gather(np.maximum(draw.hub1, 0)),
                "has_hub1": draw.hub1 >= 0,
                "hub2": loc_code.gather(np.maximum(draw.hub2, 0)),
                "has_hub2": draw.hub2 >= 0,
                "pod": loc_code.gather(draw.port_of_discharge),
                "delivery": loc_code.gather(draw.place_of_delivery),
                "unknown_pol": (rng.random(n) < UNKNOWN_LOCODE_SHARE)[bill],
                "vessel_imo": fleet_imo.gather(draw.vessel),
                "vessel_name": fleet_names.gather(draw.vessel),
                "voyage_code": fleet_code.gather(draw.vessel),
                "westbound": westbound,
            }
        )
        .hstack(ship)
        .hstack(cons)
        .hstack(noti)
    )
    seals = frame.select(pl.format("{}{}", "seal_prefix", "seal1"), pl.format("CS{}", "seal2"))
    has_seals = np.stack([~draw.is_empty, (d["seal2"] >= 0) & ~draw.is_empty], axis=1)
    frame = frame.with_columns(
        un_dg_number=_dg_numbers(world, draw, rng),
        seal_list=list_column([seals.to_series(0), seals.to_series(1)], has_seals),
        hub_list=list_column(
            [frame["hub1"], frame["hub2"]], np.stack([draw.hub1 >= 0, draw.hub2 >= 0], axis=1)
        ),
    )

    def loc(column: str) -> pl.Expr:
        return pl.when(pl.col(f"has_{column}")).then(pl.col(column))

    def utc(column: str) -> pl.Expr:
        return pl.col(column).cast(pl.Datetime("us", "UTC"))

    empty = pl.col("is_empty")
    pol_code = pl.col("pol")
    out = frame.select(
        container_number=pl.format(
            "{}{}{}", "owner", pl.col("serial").cast(pl.String).str.zfill(6), "check"
        ),
        iso_type="iso",
        seals="seal_list",
        fcl_lcl=pl.when("is_lcl").then(pl.lit("LCL")).otherwise(pl.lit("FCL")),
        is_empty="is_empty",
        bl_number=pl.format("{}{}", "scac", pl.col("bl_body").cast(pl.String).str.zfill(10)),
        house_bl_number=pl.when("has_house").then(
            pl.format(
                "HB{}{}", "consignee_country", pl.col("house_body").cast(pl.String).str.zfill(8)
            )
        ),
        bl_type=pl.when("to_order").then(pl.lit("to_order")).otherwise(pl.lit("straight")),
        filed_at=utc("filed"),
        amendments=pl.col("amendments").cast(pl.Int32),
        last_amended_at=pl.when(pl.col("amendments") > 0).then(utc("amended_at")),
        freight_terms=pl.when("collect").then(pl.lit("collect")).otherwise(pl.lit("prepaid")),
        freight_payment="payment",
        shipper_name="shipper_name",
        shipper_address="shipper_address",
        shipper_country="shipper_country",
        shipper_id="shipper_id",
        consignee_name=pl.when("to_order")
        .then(
            pl.when("to_order_plain")
            .then(pl.lit("TO ORDER"))
            .otherwise(pl.format("TO THE ORDER OF {}", "bank"))
        )
        .otherwise("consignee_name"),
        consignee_address=pl.when("to_order").then(None).otherwise("consignee_address"),
        consignee_country="consignee_country",
        consignee_id=pl.when("to_order").then(None).otherwise("consignee_id"),
        # on a to-order bill the real buyer is the notify party
        notify_name=pl.when(pl.col("notify_kind") >= 0)
        .then("notify_name")
        .when((pl.col("notify_kind") == -1) | pl.col("to_order"))
        .then("consignee_name")
        .when(pl.col("notify_kind") == -2)
        .then("placeholder"),
        notify_address=pl.when(pl.col("notify_kind") >= 0)
        .then("notify_address")
        .when((pl.col("notify_kind") == -1) | pl.col("to_order"))
        .then("consignee_address"),
        hs_code=pl.when(empty).then(None).otherwise("hs"),
        goods_description=pl.when(empty)
        .then(pl.lit("EMPTY CONTAINER"))
        .when("vague")
        .then("vague_text")
        .when("has_override")
        .then("override")
        .otherwise(pl.format("{}{}", "prefix", "hs_text")),
        packages="packages",
        package_type=pl.when(empty).then(None).otherwise("package_type"),
        gross_weight_kg="gross",
        declared_value=pl.when(empty).then(None).otherwise("declared"),
        currency=pl.when(empty).then(None).otherwise("currency"),
        un_dg_number="un_dg_number",
        origin_country="origin",
        place_of_receipt=loc("receipt"),
        port_of_loading=pl.when("unknown_pol")
        .then(
            # a mistyped code: the location part reversed, unless that is a real port too
            pl.concat_str(pol_code.str.slice(0, 2), pol_code.str.slice(2).str.reverse())
        )
        .otherwise(pol_code),
        transshipment_ports="hub_list",
        port_of_discharge="pod",
        place_of_delivery="delivery",
        vessel_imo="vessel_imo",
        vessel_name="vessel_name",
        voyage=pl.format(
            "{}{}{}{}",
            "voyage_code",
            (utc("departed").dt.year() % 10).cast(pl.String),
            utc("departed").dt.week().cast(pl.String).str.zfill(2),
            pl.when("westbound").then(pl.lit("W")).otherwise(pl.lit("E")),
        ),
        carrier_scac="scac",
        departed_at=utc("departed"),
        arrival_eta=utc("eta"),
        unknown_pol="unknown_pol",
    )
    known = world.text["loc_code"].head(world.n_seaports).implode()
    out = out.with_columns(
        port_of_loading=pl.when(pl.col("unknown_pol") & pl.col("port_of_loading").is_in(known))
        .then(pl.format("{}ZZZ", pl.col("port_of_loading").str.slice(0, 2)))
        .otherwise("port_of_loading")
    )
    return out.select([pl.col(name).cast(CANONICAL[name].dtype) for name in MANIFEST_COLUMNS])


def _voyage_code(vessel: np.ndarray) -> np.ndarray:
    """Two letters per vessel, stable across days (a vessel's service code)."""
    letters = np.asarray(list("ABCDEFGHJKLMNPQRSTUVWXYZ"))
    return np.char.add(letters[(vessel * 7 + 3) % 24], letters[(vessel * 11 + 5) % 24])
