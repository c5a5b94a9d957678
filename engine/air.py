"""Air cargo: the air waybill's data-quality flags and derived fields.

An air waybill row is a canonical row with ``awb_number`` set (see :mod:`engine.schema`,
``AIR_FIELDS``); everything shared with the container manifest (parties, goods, weight,
value, times) keeps its meaning, so the party history, watchlist screening, rules and
model read air rows through the same columns. This module adds what only air has:

- ``dq_invalid_awb_number``: the master AWB fails the IATA format or its mod-7 check digit
  (numba kernel :func:`engine.kernels.awb_number_verdict`);
- ``dq_unknown_airport``: an airport of origin, transfer or destination is not in the
  shipped IATA airports table (``engine/reference_data/iata_airports.csv``);
- ``transport_mode`` (``air`` when the row has an AWB number, else ``sea``),
  ``airline_prefix``, the airports' countries, ``transfer_count`` and ``kg_per_m3``.

Airport codes repeat heavily within a batch, so each distinct code is judged once.
"""

from __future__ import annotations

import polars as pl

from engine.kernels import INVALID, awb_number_verdict
from engine.reference import ReferenceData, lookup_distinct, normalised_code

AIRPORT_FIELDS: tuple[str, ...] = ("airport_of_origin", "airport_of_destination")
AIR_DQ_FLAGS: tuple[str, ...] = ("dq_invalid_awb_number", "dq_unknown_airport")


def _false(frame: pl.DataFrame) -> pl.Series:
    return pl.repeat(False, frame.height, dtype=pl.Boolean, eager=True)


def _airport_country(refs: ReferenceData, code: pl.Expr) -> pl.Expr:
    return code.replace_strict(
        refs.airports["iata"], refs.airports["country"], default=None, return_dtype=pl.String
    )


def air_flags(frame: pl.DataFrame, refs: ReferenceData, has: set[str]) -> dict[str, pl.Series]:
    """The air data-quality flags of a frame holding every canonical column.

    ``has`` names the canonical fields the source provides; a flag of a field it does not
    provide is False. A blank or missing AWB number is not flagged here (a row without one
    is a sea row, or is quarantined for its missing key).
    """
    awb = _false(frame)
    if "awb_number" in has:
        verdict = awb_number_verdict(frame.get_column("awb_number"))
        awb = (verdict.fill_null(2) == INVALID).alias("dq_invalid_awb_number")
    airports = refs.airports["iata"].implode()

    def unknown(code: pl.Expr) -> pl.Expr:
        normal = normalised_code(code)
        return normal.is_not_null() & ~normal.is_in(airports).fill_null(False)

    airport = _false(frame)
    for field in AIRPORT_FIELDS:
        if field in has:
            flag = lookup_distinct(frame, field, {"flag": unknown(pl.col(field))})["flag"]
            airport = airport | flag.fill_null(False)
    if "transfer_airports" in has:
        codes = frame.get_column("transfer_airports").explode().unique().drop_nulls()
        bad = pl.DataFrame({"code": codes}).filter(unknown(pl.col("code")))["code"]
        in_lists = pl.col("transfer_airports").list.eval(
            pl.element().is_in(bad.implode()).fill_null(False)
        )
        airport = airport | frame.select(in_lists.list.any().fill_null(False)).to_series()
    return {"dq_invalid_awb_number": awb, "dq_unknown_airport": airport}


def air_columns(frame: pl.DataFrame, refs: ReferenceData) -> list[pl.Series]:
    """The air enrichment columns of a frame holding every canonical column, in order."""
    awb = pl.col("awb_number").str.replace_all(r"[\s\-./]+", "")
    is_air = awb.str.len_bytes().fill_null(0) > 0
    basics = frame.select(
        pl.when(is_air).then(pl.lit("air")).otherwise(pl.lit("sea")).alias("transport_mode"),
        pl.when(awb.str.contains(r"^\d{3}")).then(awb.str.slice(0, 3)).alias("airline_prefix"),
    )
    countries = [
        lookup_distinct(
            frame,
            field,
            {f"{field}_country": _airport_country(refs, normalised_code(pl.col(field)))},
        ).to_series()
        for field in AIRPORT_FIELDS
    ]
    codes = frame.get_column("transfer_airports").explode().unique().drop_nulls()
    table = pl.DataFrame({"code": codes}).with_columns(
        country=_airport_country(refs, normalised_code(pl.col("code")))
    )
    lists = pl.col("transfer_airports")
    volume = pl.col("volume_m3")
    weight = pl.col("gross_weight_kg")
    rest = frame.select(
        lists.list.eval(
            pl.element().replace_strict(
                table["code"], table["country"], default=None, return_dtype=pl.String
            )
        ).alias("transfer_airport_countries"),
        lists.list.eval(pl.element().is_not_null()).list.sum().alias("transfer_count"),
        pl.when((volume > 0) & volume.is_finite() & weight.is_finite())
        .then(weight / volume)
        .alias("kg_per_m3"),
    )
    return [*basics.get_columns(), *countries, *rest.get_columns()]
