"""Reference joins and ratios: the derived fields rules and models read instead of raw codes.

``enrich`` adds every field of the schema's enrichment catalogue with its declared dtype.
It never drops, duplicates or reorders rows: lookups are hash lookups against tables whose
keys are unique (``replace_strict``, a left join that keeps the left order), and list
columns are mapped element-wise inside ``list.eval`` so order within a list is kept.

Codes repeat heavily within a batch, so every string derivation runs once per distinct
value (:func:`engine.reference.lookup_distinct`) and is joined back in row order.

Country of a place: a UN/LOCODE is country + location by definition, so a place's country
is the first two letters of its (normalised) code when they are an ISO 3166 country. That
also gives inland places (place of receipt / delivery) and seaports missing from the
shipped snapshot a country, which a join against the seaport table would not.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from engine.air import air_columns
from engine.reference import (
    ReferenceData,
    hs_code_is_well_formed,
    lookup_distinct,
    normalised_code,
    normalised_hs_code,
)
from engine.schema import DERIVED, ENRICHMENT_FIELDS
from engine.validate import with_canonical_columns

_PLACE_COUNTRY_FIELDS: dict[str, str] = {
    "port_of_loading": "port_of_loading_country",
    "port_of_discharge": "port_of_discharge_country",
    "place_of_receipt": "place_of_receipt_country",
    "place_of_delivery": "place_of_delivery_country",
}
# The columns enrich adds, in order: engine.schema.ENRICHMENT_FIELDS.

_US_PER_DAY = 86_400_000_000.0
_US_PER_HOUR = 3_600_000_000.0


def _locode_country(refs: ReferenceData, code: pl.Expr) -> pl.Expr:
    """Country prefix of a normalised UN/LOCODE, when it is a known ISO 3166 code."""
    prefix = code.str.slice(0, 2)
    well_formed = code.str.contains(r"^[A-Z]{2}[A-Z2-9]{3}$")
    return pl.when(well_formed & prefix.is_in(refs.countries["alpha2"].implode())).then(prefix)


def _ratio(numerator: str, divisor: str) -> pl.Expr:
    """numerator / divisor; null unless both are finite numbers and the divisor is positive
    (polars orders NaN above every number, so finiteness is tested explicitly)."""
    top, bottom = pl.col(numerator).cast(pl.Float64), pl.col(divisor).cast(pl.Float64)
    return pl.when((bottom > 0) & bottom.is_finite() & top.is_finite()).then(top / bottom)


def _hours_or_days(later: str, earlier: str, unit_us: float) -> pl.Expr:
    span = pl.col(later) - pl.col(earlier)
    return span.dt.total_microseconds().cast(pl.Float64) / unit_us


def _hs_columns(frame: pl.DataFrame, refs: ReferenceData) -> pl.DataFrame:
    code = normalised_hs_code(pl.col("hs_code"))
    digits = pl.when(hs_code_is_well_formed(code)).then(code)
    length = digits.str.len_bytes()
    chapters = refs.hs.filter(pl.col("level") == 2)
    headings = refs.hs.filter(pl.col("level") == 4)
    chapter = digits.str.slice(0, 2)
    heading = pl.when(length >= 4).then(digits.str.slice(0, 4))
    derive = {
        "hs_chapter": chapter,
        "hs_heading": heading,
        "hs_subheading": pl.when(length >= 6).then(digits.str.slice(0, 6)),
        "hs_chapter_description": chapter.replace_strict(
            chapters["code"], chapters["description"], default=None, return_dtype=pl.String
        ),
        "hs_heading_description": heading.replace_strict(
            headings["code"], headings["description"], default=None, return_dtype=pl.String
        ),
    }
    return lookup_distinct(frame, "hs_code", derive)


def _route_columns(frame: pl.DataFrame, refs: ReferenceData) -> list[pl.Series]:
    countries = [
        lookup_distinct(
            frame, place, {country: _locode_country(refs, normalised_code(pl.col(place)))}
        ).to_series()
        for place, country in _PLACE_COUNTRY_FIELDS.items()
    ]
    # each distinct port once; then an element-wise hash lookup keeps every list's order
    ports = frame.get_column("transshipment_ports").explode().unique().drop_nulls()
    table = pl.DataFrame({"port": ports}).with_columns(
        country=_locode_country(refs, normalised_code(pl.col("port")))
    )
    lists = pl.col("transshipment_ports")
    in_lists = lists.list.eval(
        pl.element().replace_strict(
            table["port"], table["country"], default=None, return_dtype=pl.String
        )
    )
    transshipment = frame.select(
        in_lists.alias("transshipment_countries"),
        # count named ports only; a null list (not provided) stays null
        lists.list.eval(pl.element().is_not_null()).list.sum().alias("transshipment_count"),
    )
    return [*countries, *transshipment.get_columns()]


def _equipment_columns(frame: pl.DataFrame) -> pl.DataFrame:
    code = normalised_code(pl.col("iso_type"))
    group = pl.when(code.str.len_bytes() == 4).then(code.str.slice(2, 1))
    return lookup_distinct(frame, "iso_type", {"equipment_group": group, "is_reefer": group == "R"})


def enrich(frame: pl.DataFrame, refs: ReferenceData) -> pl.DataFrame:
    """Return ``frame`` with every enrichment field of the schema added, rows unchanged.

    Reads the canonical columns ``port_of_loading``, ``port_of_discharge``,
    ``place_of_receipt``, ``place_of_delivery``, ``transshipment_ports``, ``hs_code``,
    ``gross_weight_kg``, ``packages``, ``declared_value``, ``iso_type``, ``departed_at``,
    ``arrival_eta`` and ``last_amended_at``; absent or all-null ones are read as nulls of
    their canonical dtype. Values that cannot be read give null, never an error: judging
    them is :func:`engine.validate.validate`'s job.

    - ``kg_per_package`` / ``value_per_kg``: null when the divisor is ``<= 0`` or either
      operand is null, NaN or infinite.
    - ``equipment_group``: third character of a 4-character ISO type; ``is_reefer`` = ``R``.
    - ``transit_days``: ``arrival_eta - departed_at`` in days (may be negative: a data
      error worth a rule).
    - ``amended_after_departure_hours``: ``last_amended_at - departed_at`` in hours.
    """
    source = with_canonical_columns(frame)
    arithmetic = source.select(
        _ratio("gross_weight_kg", "packages").alias("kg_per_package"),
        _ratio("declared_value", "gross_weight_kg").alias("value_per_kg"),
        _hours_or_days("arrival_eta", "departed_at", _US_PER_DAY).alias("transit_days"),
        _hours_or_days("last_amended_at", "departed_at", _US_PER_HOUR).alias(
            "amended_after_departure_hours"
        ),
    )
    added = pl.DataFrame(
        [
            *_route_columns(source, refs),
            *_hs_columns(source, refs).get_columns(),
            *arithmetic.get_columns(),
            *_equipment_columns(source).get_columns(),
            *air_columns(source, refs),
        ]
    )
    typed = added.select(pl.col(name).cast(DERIVED[name].dtype) for name in ENRICHMENT_FIELDS)
    return frame.with_columns(typed.get_columns())


class EnrichmentStage:
    """The enrich stage as a pipeline :class:`~engine.stages.Stage`."""

    name = "enrich"

    def __init__(self, refs: ReferenceData):
        self.refs = refs

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Add the enrichment fields (see :func:`enrich`)."""
        return enrich(frame, self.refs)

    def fingerprint(self) -> dict[str, Any]:
        """Reference-data content hashes."""
        return {"reference_data": self.refs.fingerprint()}
