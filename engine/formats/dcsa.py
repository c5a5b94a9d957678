"""DCSA eBL 3.0 transport documents and shipping instructions (JSON) → canonical rows.

One row per container per document. A file holds one document, a JSON array of documents,
or documents one after another (JSON lines); a PINT envelope (``{"transportDocument": …}``)
is unwrapped. Each document is parsed alone, so a malformed one is quarantined with its
position (1-based index in the file) and the rest are still read.

Reading happens in two steps. A walk over each parsed document only *extracts* values into
long tables (one row per document, per equipment, per cargo item); every conversion and
aggregation (units to kg, per-container sums, HS code lists, joins) is then a polars
expression over those tables. The walk is Python because DCSA documents are nested,
variant-shaped JSON (equipment inline or under ``equipment``, descriptions as a list or a
string) that no columnar reader can flatten without guessing.

Several consignment items in one container (rule, see engine/formats/README.md):
``hs_code`` is the first HS code of the first consignment item loaded in the container;
``hs_codes`` lists every HS code of every item in it (``;``-separated, document order);
``goods_description`` joins every item's descriptions with `` | ``; ``packages`` and
``gross_weight_kg`` are sums over the container's cargo items; ``consignment_items`` counts
them. House B/L items (``houseBillOfLadings``) add their HS codes, descriptions and
``house_bl_number`` to the master's container row but not their weights (the master's cargo
items already declare that cargo).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from engine._canonical import empty_quarantine
from engine.errors import IngestError, Location
from engine.formats._base import RawChunk
from engine.formats._common import (
    columns_frame,
    emitted_schema,
    joined,
    known_units,
    quarantine_frame,
    weight_factor,
)
from engine.formats._dcsa_extract import Tables, extract
from engine.spec import DatasetSpec

EXTRA_COLUMNS: tuple[str, ...] = (
    "dcsa_document_kind",
    "bl_number_source",
    "transport_document_type",
    "hs_codes",
    "consignment_items",
    "carrier_code",
    "shipper_owned",
)
"""Columns the DCSA reader adds beside the canonical fields (kept as extras by the default spec)."""

SCHEMA = emitted_schema(EXTRA_COLUMNS)
_WRAPPERS = ("transportDocument", "shippingInstructions")


# ---------------------------------------------------------------------------------------
# Assembly: long tables → one row per (document, container), in polars
# ---------------------------------------------------------------------------------------
_EQ_SCHEMA = {
    "doc": pl.Int64(),
    "order": pl.Int64(),
    "house": pl.Boolean(),
    "container_number": pl.String(),
    "iso_type": pl.String(),
    "seals": pl.List(pl.String()),
    "is_empty": pl.Boolean(),
    "shipper_owned": pl.Boolean(),
    "ute_weight": pl.Float64(),
    "ute_unit": pl.String(),
}
_CARGO_SCHEMA = {
    "doc": pl.Int64(),
    "item": pl.Int64(),
    "cargo": pl.Int64(),
    "house_bl": pl.String(),
    "container_number": pl.String(),
    "hs_codes": pl.List(pl.String()),
    "descriptions": pl.List(pl.String()),
    "packages": pl.Int64(),
    "package_type": pl.String(),
    "weight": pl.String(),
    "unit": pl.String(),
    "un_numbers": pl.List(pl.String()),
}


def _containers(tables: Tables) -> pl.DataFrame:
    eq = (
        columns_frame(tables.equipment, _EQ_SCHEMA)
        if tables.equipment
        else pl.DataFrame(schema=_EQ_SCHEMA)
    )
    cargo = (
        columns_frame(tables.cargo, _CARGO_SCHEMA)
        if tables.cargo
        else pl.DataFrame(schema=_CARGO_SCHEMA)
    )
    master = pl.col("house_bl").is_null()
    value = pl.col("weight").str.strip_chars().cast(pl.Float64, strict=False)
    where = pl.format("consignment item {} cargo item {}: ", pl.col("item"), pl.col("cargo"))
    not_number = pl.col("weight").is_not_null() & value.is_null()
    unknown_unit = value.is_not_null() & weight_factor(pl.col("unit")).is_null()
    cargo = cargo.with_columns(
        (value * weight_factor(pl.col("unit"))).alias("kg"),
        (not_number | unknown_unit).alias("bad_unit"),
        pl.when(not_number)
        .then(pl.format("{}cargoGrossWeight value '{}' is not a number", where, pl.col("weight")))
        .otherwise(
            pl.format(
                "{}unknown unit of measure '{}' for cargoGrossWeight",
                where,
                pl.col("unit").fill_null("(none)"),
            )
        )
        .alias("unit_reason"),
    )
    goods = cargo.group_by("doc", "container_number", maintain_order=True).agg(
        pl.col("hs_codes")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .drop_nulls()
        .first()
        .alias("hs_code"),
        joined(pl.col("hs_codes")).alias("hs_codes"),
        joined(pl.col("descriptions"), " | ").alias("goods_description"),
        pl.when(pl.col("kg").filter(master).count() > 0)
        .then(pl.col("kg").filter(master).sum())
        .alias("cargo_kg"),
        pl.when(pl.col("packages").filter(master).count() > 0)
        .then(pl.col("packages").filter(master).sum())
        .alias("packages"),
        pl.col("package_type").drop_nulls().first().alias("package_type"),
        joined(pl.col("un_numbers")).alias("un_dg_number"),
        pl.col("house_bl")
        .filter(pl.col("house_bl").str.len_chars() > 0)
        .unique(maintain_order=True)
        .str.join(";")
        .alias("house_bl_number"),
        pl.col("item").filter(master).n_unique().cast(pl.String).alias("consignment_items"),
        pl.col("unit_reason").filter(pl.col("bad_unit")).first().alias("unit_problem"),
        pl.col("doc").len().alias("_n"),
    )
    # Master equipment first, so its values win over a house B/L's copy of the same container.
    equipment = (
        eq.sort("doc", "house", "order", maintain_order=True)
        .group_by("doc", "container_number", maintain_order=True)
        .agg(
            pl.col("order").min().alias("order"),
            pl.col("iso_type").drop_nulls().first(),
            pl.col("seals")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .drop_nulls()
            .unique(maintain_order=True)
            .alias("seals"),
            pl.col("is_empty").drop_nulls().first(),
            pl.col("shipper_owned").drop_nulls().first().cast(pl.String),
            (pl.col("ute_weight") * weight_factor(pl.col("ute_unit")))
            .drop_nulls()
            .first()
            .alias("ute_kg"),
            pl.format(
                "utilizedTransportEquipments: unknown unit of measure '{}' for cargoGrossWeight",
                pl.col("ute_unit").fill_null("(none)"),
            )
            .filter(
                pl.col("ute_weight").is_not_null() & weight_factor(pl.col("ute_unit")).is_null()
            )
            .first()
            .alias("ute_problem"),
        )
    )
    rows = equipment.join(
        goods,
        on=["doc", "container_number"],
        how="full",
        coalesce=True,
        nulls_equal=True,
        maintain_order="left_right",
    )
    return rows.with_columns(
        pl.coalesce("cargo_kg", "ute_kg").alias("gross_weight_kg"),
        pl.col("house_bl_number").replace("", None),
        pl.coalesce("unit_problem", "ute_problem").alias("unit_problem"),
        pl.when(pl.col("seals").list.len() > 0).then(pl.col("seals")).alias("seals"),
    ).sort("doc", maintain_order=True)


def _assemble(tables: Tables) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (rows with SCHEMA plus 'doc' and 'unit_problem', docs without any container)."""
    docs = columns_frame(tables.docs)
    containers = _containers(tables)
    rows = containers.join(docs, on="doc", how="left", maintain_order="left")
    empty_docs = docs.join(containers.select("doc").unique(), on="doc", how="anti").select("doc")
    for name, dtype in SCHEMA.items():
        if name not in rows.columns:
            rows = rows.with_columns(pl.lit(None, dtype=dtype).alias(name))
    return rows.select(
        *[pl.col(n).cast(d) for n, d in SCHEMA.items()], "doc", "unit_problem"
    ), empty_docs


_DCSA_KEYS = frozenset(
    {
        "consignmentItems",
        "utilizedTransportEquipments",
        "transportDocumentReference",
        "shippingInstructionsReference",
        "transportDocumentTypeCode",
        *_WRAPPERS,
    }
)


def looks_like_dcsa(obj: object) -> bool:
    """True when a parsed JSON value is a DCSA eBL document (or a PINT envelope of one).

    For format detection: a one-line JSON object is NDJSON unless it is a DCSA document.
    """
    return isinstance(obj, dict) and not _DCSA_KEYS.isdisjoint(obj)


# ---------------------------------------------------------------------------------------
# Reading the file
# ---------------------------------------------------------------------------------------
def _unwrap(doc: Any) -> Any:
    if isinstance(doc, dict):
        for key in _WRAPPERS:
            if isinstance(doc.get(key), dict) and "consignmentItems" not in doc:
                return doc[key]
    return doc


def _documents(path: Path) -> Iterator[tuple[int, Any, str | None, str]]:
    """Yield (position, document or None, problem, raw snippet) for each top-level document."""
    data = path.read_bytes()
    try:
        whole = json.loads(data)
    except ValueError:
        whole = None
    else:
        docs = whole if isinstance(whole, list) else [whole]
        for i, doc in enumerate(docs, start=1):
            doc = _unwrap(doc)
            if isinstance(doc, dict):
                yield i, doc, None, ""
            else:
                yield (
                    i,
                    None,
                    f"document {i} is a JSON {type(doc).__name__}, not an object",
                    json.dumps(doc)[:300],
                )
        return
    # Imported here, not with the module: the splitter is a compiled kernel (numba ~0.2 s
    # to import) that a run reading any other format, Parquet above all, need not wait for.
    from engine.formats._jsonsplit import NOT_OBJECT, TRUNCATED, split_documents

    starts, ends, flags, lines = split_documents(data)
    for i, (start, end, flag, line) in enumerate(
        zip(starts.tolist(), ends.tolist(), flags.tolist(), lines.tolist(), strict=True), start=1
    ):
        raw = data[start:end]
        snippet = raw[:300].decode("utf-8", "replace")
        if flag & NOT_OBJECT:
            yield i, None, f"document {i} (line {line}) is not a JSON object", snippet
            continue
        if flag & TRUNCATED:
            yield (
                i,
                None,
                f"document {i} (line {line}) is cut off: the file ends inside it",
                snippet,
            )
            continue
        try:
            doc = _unwrap(json.loads(raw))
        except ValueError as err:
            at = line + raw[: getattr(err, "pos", 0)].count(b"\n")
            yield (
                i,
                None,
                f"malformed JSON in document {i} (line {at}): {getattr(err, 'msg', err)}",
                snippet,
            )
            continue
        if not isinstance(doc, dict):
            yield i, None, f"document {i} (line {line}) is not a JSON object", snippet
            continue
        yield i, doc, None, ""


def read_dcsa_chunks(path: Path, spec: DatasetSpec, chunk_rows: int) -> Iterator[RawChunk]:
    """DCSA eBL 3.0 JSON → raw chunks of canonical-named columns (see module docstring)."""
    tables = Tables()
    bad: list[tuple[int, str | None, str, str | None]] = []
    seen = 0
    for position, doc, problem, snippet in _documents(path):
        seen += 1
        if doc is None:
            bad.append((position, None, problem or "unreadable document", snippet))
            continue
        extract(doc, position, tables)
        if tables.size >= chunk_rows:
            yield _chunk(path, tables, bad)
            tables, bad = Tables(), []
    if seen == 0:
        raise IngestError(
            "the file holds no DCSA document",
            location=Location(file=str(path)),
            hint="a DCSA eBL file is a JSON object or an array of objects",
        )
    if tables.docs or bad:
        yield _chunk(path, tables, bad)


def _chunk(
    path: Path, tables: Tables, bad: list[tuple[int, str | None, str, str | None]]
) -> RawChunk:
    lines, fields, reasons, raws = (
        [b[0] for b in bad],
        [b[1] for b in bad],
        [b[2] for b in bad],
        [b[3] for b in bad],
    )
    if not tables.docs:
        return RawChunk(
            pl.DataFrame(),
            np.empty(0, np.int64),
            quarantine_frame(str(path), lines, fields, reasons, raws),
        )
    rows, empty_docs = _assemble(tables)
    for position in empty_docs.get_column("doc").to_list():
        lines.append(position)
        fields.append("utilizedTransportEquipments")
        reasons.append(
            f"document {position} names no equipment and no cargo items: nothing to score"
        )
        raws.append(None)
    unit_bad = rows.filter(pl.col("unit_problem").is_not_null())
    if unit_bad.height:
        # The weight of the container cannot be known: quarantine it rather than guess.
        for position, container, problem in unit_bad.select(
            "doc", "container_number", "unit_problem"
        ).rows():
            lines.append(position)
            fields.append("gross_weight_kg")
            reasons.append(
                f"document {position}, container {container}: {problem} (known: {known_units()})"
            )
            raws.append(None)
        rows = rows.filter(pl.col("unit_problem").is_null())
    quarantine = (
        quarantine_frame(str(path), lines, fields, reasons, raws) if lines else empty_quarantine()
    )
    doc_lines = rows.get_column("doc").to_numpy().astype(np.int64)
    frame = rows.drop("doc", "unit_problem")
    if frame.height == 0:
        return RawChunk(pl.DataFrame(), np.empty(0, np.int64), quarantine)
    return RawChunk(frame, doc_lines, quarantine)
