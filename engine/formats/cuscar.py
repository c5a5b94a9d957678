"""UN/EDIFACT CUSCAR (customs cargo report) → canonical rows, via pydifact.

One row per container per consignment (``CNI`` group); ``source_line`` is the position of
the consignment's ``CNI`` segment in the file (1-based, ``UNA`` counts as a segment).

Segments read (others are parsed and ignored):

- message level: ``BGM`` (manifest number), ``DTM`` 137 (filed_at), ``TDT`` (voyage, carrier,
  vessel IMO and name from C222) with its ``LOC``/``DTM`` (132/178 arrival, 133/186
  departure), ``NAD`` CA, ``EQD``/``MEA``/``SEL`` of equipment listed before the consignments;
- consignment (``CNI``: document number = B/L number): ``RFF`` BM/BH (B/L, house B/L),
  ``LOC`` 9/11/13/88/7/27 (loading, discharge, transshipment, receipt, delivery, origin
  country), ``NAD`` CZ/CN/N1 (shipper, consignee, notify), ``EQD``/``SEL``;
- goods item (``GID``: packages and type): ``FTX`` AAA (description), ``MEA`` (gross weight,
  converted to kg), ``PIA``/``CST`` (HS codes), ``DGS`` (UN number), ``SGP`` (container and
  packages in it).

A goods item split over several containers (several ``SGP``) has its weight shared in
proportion to the packages in each (equally when counts are missing); a goods item with no
``SGP`` is placed in every container of its consignment, its weight shared equally. Per
container, ``hs_code`` is the first HS code, ``hs_codes`` lists all, ``goods_description``
joins every description with `` | `` (the same rule as the DCSA reader).

Bad input: a segment that pydifact cannot parse, a mapped segment missing what it must
carry (``EQD``/``SGP`` without an equipment number), a number that is not a number, an
unknown unit of measure or a bad date — each quarantines its consignment, with the
segment's position and the reason. A broken segment in the message header (before the
first ``CNI``), a wrong ``UNT`` segment count or a missing ``UNT`` quarantines every
consignment of that message. The rest of the file is still read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from engine._canonical import empty_quarantine
from engine.errors import IngestError, Location
from engine.formats._base import RawChunk
from engine.formats._common import columns_frame, emitted_schema, joined, quarantine_frame
from engine.formats._cuscar_walk import Tables, walk
from engine.formats._edifact import parse_segments
from engine.spec import DatasetSpec

EXTRA_COLUMNS: tuple[str, ...] = ("hs_codes", "goods_items", "manifest_number", "message_reference")
"""Columns the CUSCAR reader adds beside the canonical fields."""

SCHEMA = emitted_schema(EXTRA_COLUMNS)

# ---------------------------------------------------------------------------------------
# Assembly in polars
# ---------------------------------------------------------------------------------------
_GOODS_SCHEMA = {
    "cni": pl.Int64(),
    "gid": pl.Int64(),
    "packages": pl.Int64(),
    "package_type": pl.String(),
    "descriptions": pl.List(pl.String()),
    "kg": pl.Float64(),
    "hs_codes": pl.List(pl.String()),
    "un_numbers": pl.List(pl.String()),
}
_PLACE_SCHEMA = {
    "cni": pl.Int64(),
    "gid": pl.Int64(),
    "container_number": pl.String(),
    "sgp_packages": pl.Int64(),
}
_EQ_SCHEMA = {
    "container_number": pl.String(),
    "iso_type": pl.String(),
    "seals": pl.List(pl.String()),
    "is_empty": pl.Boolean(),
    "eq_kg": pl.Float64(),
    "order": pl.Int64(),
    "msg": pl.Int64(),
    "cni": pl.Int64(),
}
_MESSAGE_FIELDS = (
    "filed_at",
    "voyage",
    "carrier_scac",
    "vessel_imo",
    "vessel_name",
    "departed_at",
    "arrival_eta",
    "port_of_loading",
    "port_of_discharge",
    "place_of_receipt",
    "place_of_delivery",
    "manifest_number",
    "message_reference",
    "transshipment_ports",
    "origin_country",
)


def _frame(rows: list[dict[str, Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame(schema=schema)
    return columns_frame(rows, schema)


def _assemble(tables: Tables) -> pl.DataFrame:
    goods = _frame(tables.goods, _GOODS_SCHEMA)
    places = _frame(tables.placements, _PLACE_SCHEMA)
    split = pl.len().over("cni", "gid")
    known = pl.col("sgp_packages").is_not_null().all().over("cni", "gid")
    total = pl.col("sgp_packages").sum().over("cni", "gid")
    share = pl.when(known & (total > 0)).then(pl.col("sgp_packages") / total).otherwise(1.0 / split)
    placed = places.join(goods, on=["cni", "gid"], how="left").with_columns(
        (pl.col("kg") * share).alias("kg"),
        pl.coalesce("sgp_packages", pl.when(split == 1).then(pl.col("packages"))).alias("packages"),
    )
    per_container = placed.group_by("cni", "container_number", maintain_order=True).agg(
        pl.col("hs_codes")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .drop_nulls()
        .first()
        .alias("hs_code"),
        joined(pl.col("hs_codes")).alias("hs_codes"),
        joined(pl.col("descriptions"), " | ").alias("goods_description"),
        pl.when(pl.col("kg").count() > 0).then(pl.col("kg").sum()).alias("gross_weight_kg"),
        pl.when(pl.col("packages").count() > 0).then(pl.col("packages").sum()).alias("packages"),
        pl.col("package_type").drop_nulls().first(),
        joined(pl.col("un_numbers")).alias("un_dg_number"),
        pl.col("gid").drop_nulls().n_unique().cast(pl.String).alias("goods_items"),
    )
    consignments = columns_frame(tables.consignments)
    rows = per_container.join(consignments, on="cni", how="left", maintain_order="left")
    eq = _frame(tables.equipment, _EQ_SCHEMA)
    eq_cols = ["iso_type", "seals", "is_empty", "eq_kg"]
    own = eq.filter(pl.col("cni").is_not_null()).unique(
        ["cni", "container_number"], keep="first", maintain_order=True
    )
    shared = eq.filter(pl.col("cni").is_null()).unique(
        ["msg", "container_number"], keep="first", maintain_order=True
    )
    rows = rows.join(
        own.select("cni", "container_number", *eq_cols),
        how="left",
        on=["cni", "container_number"],
        maintain_order="left",
    )
    rows = rows.join(
        shared.select(
            "msg", "container_number", *[pl.col(c).alias(f"shared_{c}") for c in eq_cols]
        ),
        on=["msg", "container_number"],
        how="left",
        maintain_order="left",
    )
    exprs = [pl.coalesce(c, f"shared_{c}").alias(c) for c in eq_cols]
    for name in _MESSAGE_FIELDS:
        local = [name] if name in rows.columns else []
        default = [f"msg_{name}"] if f"msg_{name}" in rows.columns else []
        if local or default:
            exprs.append(pl.coalesce(*local, *default).alias(name))
    rows = rows.with_columns(exprs).with_columns(
        pl.coalesce("gross_weight_kg", "eq_kg").alias("gross_weight_kg")
    )
    for name, dtype in SCHEMA.items():
        if name not in rows.columns:
            rows = rows.with_columns(pl.lit(None, dtype=dtype).alias(name))
    return rows.select(*[pl.col(n).cast(d) for n, d in SCHEMA.items()], "cni")


def read_cuscar_chunks(path: Path, spec: DatasetSpec, chunk_rows: int) -> Iterator[RawChunk]:
    """CUSCAR interchange → raw chunks of canonical-named columns (see module docstring)."""
    segments = parse_segments(path.read_bytes())
    if not segments:
        raise IngestError(
            "the file holds no EDIFACT segment",
            location=Location(file=str(path)),
            hint="a CUSCAR interchange starts with UNA or UNB",
        )
    tables = walk(segments)
    q = tables.quarantine
    quarantine = (
        quarantine_frame(
            str(path), [x[0] for x in q], [x[1] for x in q], [x[2] for x in q], [x[3] for x in q]
        )
        if q
        else empty_quarantine()
    )
    if not tables.consignments:
        yield RawChunk(pl.DataFrame(), np.empty(0, np.int64), quarantine)
        return
    rows = _assemble(tables)
    for at in range(0, rows.height, chunk_rows):
        part = rows.slice(at, chunk_rows)
        yield RawChunk(
            part.drop("cni"),
            part.get_column("cni").to_numpy().astype(np.int64),
            quarantine if at == 0 else empty_quarantine(),
        )
