"""The canonical manifest record: one row = one container on one bill of lading, or one
air waybill (master or house) for air cargo.

Every input format is mapped onto these columns (by a dataset spec) before anything else
runs, so rules, model features and outputs always speak the same names. ``FIELDS`` is the
single catalogue of every column the engine knows: canonical input fields, the fields the
engine derives (reference joins, ratios, data-quality flags, history and watchlist
features) and the scoring outputs. Rule lint, the JSON Schema for editors and the docs are
all generated from it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import polars as pl

Role = Literal["id", "categorical", "numeric", "text", "time", "flag", "list", "label"]
Kind = Literal["canonical", "derived", "output"]

DATETIME = pl.Datetime("us", "UTC")
STR_LIST = pl.List(pl.String)


@dataclass(frozen=True)
class Field:
    """One known column: its Arrow/polars type, its role and a one-line description.

    Where the column goes is said here too, so that every list of fields derives from the
    catalogue: ``in_messages`` (a canonical field carriers' manifest messages carry; False
    for the filing's amendment history and the declared value), ``flagged`` (its column in
    ``flagged.csv``, 1-based) and ``shown`` (its place among the fields an officer is shown
    with a flagged row).
    """

    name: str
    dtype: pl.DataType
    role: Role
    description: str
    kind: Kind = "canonical"
    in_messages: bool = True
    flagged: int | None = None
    shown: int | None = None


def _f(
    name: str,
    dtype: pl.DataType,
    role: Role,
    description: str,
    kind: Kind = "canonical",
    *,
    in_messages: bool = True,
    flagged: int | None = None,
    shown: int | None = None,
) -> Field:
    return Field(name, dtype, role, description, kind, in_messages, flagged, shown)


_MANIFEST: list[Field] = [
    # equipment
    _f(
        "container_number",
        pl.String(),
        "id",
        "ISO 6346 container number, e.g. MSCU1234565",
        flagged=2,
    ),
    _f(
        "iso_type", pl.String(), "categorical", "ISO 6346 size/type code, e.g. 22G1, 45R1", shown=34
    ),
    _f("seals", STR_LIST, "list", "seal numbers"),
    _f("fcl_lcl", pl.String(), "categorical", "FCL or LCL"),
    _f("is_empty", pl.Boolean(), "flag", "container declared empty"),
    # document
    _f("bl_number", pl.String(), "id", "bill of lading (transport document) number", flagged=3),
    _f("house_bl_number", pl.String(), "id", "house bill of lading number", shown=10),
    _f("bl_type", pl.String(), "categorical", "straight or to_order"),
    _f("filed_at", DATETIME, "time", "when the manifest line was filed", shown=35),
    _f(
        "amendments", pl.Int32(), "numeric", "number of amendments to the filing", in_messages=False
    ),
    _f("last_amended_at", DATETIME, "time", "when the filing was last amended", in_messages=False),
    _f("freight_terms", pl.String(), "categorical", "prepaid or collect"),
    _f(
        "freight_payment",
        pl.String(),
        "categorical",
        "how freight was paid, e.g. cash",
        in_messages=False,
    ),
    # parties
    _f("shipper_name", pl.String(), "text", "shipper (consignor) name", flagged=17, shown=11),
    _f("shipper_address", pl.String(), "text", "shipper address"),
    _f(
        "shipper_country", pl.String(), "categorical", "shipper country, ISO 3166 alpha-2", shown=12
    ),
    _f("shipper_id", pl.String(), "id", "shipper identifier (EORI, TIN, ...)"),
    _f("consignee_name", pl.String(), "text", "consignee name", flagged=18, shown=13),
    _f("consignee_address", pl.String(), "text", "consignee address"),
    _f(
        "consignee_country",
        pl.String(),
        "categorical",
        "consignee country, ISO 3166 alpha-2",
        shown=14,
    ),
    _f("consignee_id", pl.String(), "id", "consignee identifier (EORI, TIN, ...)"),
    _f("notify_name", pl.String(), "text", "notify party name", shown=15),
    _f("notify_address", pl.String(), "text", "notify party address"),
    # goods
    _f(
        "hs_code",
        pl.String(),
        "categorical",
        "HS code, 6 to 10 digits, as text",
        flagged=21,
        shown=16,
    ),
    _f(
        "goods_description",
        pl.String(),
        "text",
        "goods description as declared",
        flagged=22,
        shown=18,
    ),
    _f("packages", pl.Int64(), "numeric", "number of packages", shown=19),
    _f("package_type", pl.String(), "categorical", "package type code or text", shown=20),
    _f("gross_weight_kg", pl.Float64(), "numeric", "gross weight in kilograms", shown=21),
    _f(
        "declared_value",
        pl.Float64(),
        "numeric",
        "declared value in `currency`",
        shown=22,
        in_messages=False,
    ),
    _f(
        "currency",
        pl.String(),
        "categorical",
        "ISO 4217 currency of declared_value",
        shown=23,
        in_messages=False,
    ),
    _f("un_dg_number", pl.String(), "categorical", "UN dangerous-goods number"),
    # route
    _f(
        "origin_country",
        pl.String(),
        "categorical",
        "country of origin, ISO 3166 alpha-2",
        shown=24,
    ),
    _f(
        "place_of_receipt",
        pl.String(),
        "categorical",
        "UN/LOCODE of the place of receipt",
        shown=25,
    ),
    _f(
        "port_of_loading",
        pl.String(),
        "categorical",
        "UN/LOCODE of the port of loading",
        flagged=19,
        shown=26,
    ),
    _f(
        "transshipment_ports",
        STR_LIST,
        "list",
        "UN/LOCODEs of transshipment ports, in order",
        shown=27,
    ),
    _f(
        "port_of_discharge",
        pl.String(),
        "categorical",
        "UN/LOCODE of the port of discharge",
        flagged=20,
        shown=28,
    ),
    _f(
        "place_of_delivery",
        pl.String(),
        "categorical",
        "UN/LOCODE of the place of delivery",
        shown=29,
    ),
    # conveyance
    _f("vessel_imo", pl.String(), "id", "IMO ship number, 7 digits", shown=30),
    _f("vessel_name", pl.String(), "text", "vessel name", shown=31),
    _f("voyage", pl.String(), "id", "voyage number", shown=32),
    _f("carrier_scac", pl.String(), "categorical", "carrier SCAC code", shown=33),
    _f("departed_at", DATETIME, "time", "departure from the port of loading", shown=36),
    _f("arrival_eta", DATETIME, "time", "estimated arrival at the port of discharge", shown=37),
]

_LABELS: list[Field] = [
    # history only: the outcome of an inspection, never in a manifest
    _f("inspected", pl.Boolean(), "label", "the container was physically inspected"),
    _f("inspection_result", pl.String(), "label", "seizure, irregularity or clean"),
    _f("finding_type", pl.String(), "label", "drugs, precursors, weapons, counterfeit, ..."),
    _f(
        "inspected_at",
        DATETIME,
        "time",
        "when the inspection result became known (history features count a result only "
        "after it; default: filed_at)",
    ),
]

_AIR_WAYBILL: list[Field] = [
    # air cargo: the air waybill (IATA Cargo-IMP FWB/FHL); one row = one master or house AWB.
    # Shared fields keep their meaning: packages = pieces, gross_weight_kg, goods, parties,
    # declared_value/currency, hs_code, filed_at, departed_at/arrival_eta.
    _f(
        "awb_number",
        pl.String(),
        "id",
        "master air waybill number: airline prefix + 7-digit serial + mod-7 check digit",
        flagged=5,
        shown=2,
    ),
    _f(
        "house_awb_number",
        pl.String(),
        "id",
        "house air waybill number (forwarder's)",
        flagged=6,
        shown=3,
    ),
    _f(
        "airport_of_origin",
        pl.String(),
        "categorical",
        "IATA code of the airport of departure",
        flagged=7,
        shown=4,
    ),
    _f(
        "transfer_airports",
        STR_LIST,
        "list",
        "IATA codes of the airports the consignment is transferred at, in order",
        shown=5,
    ),
    _f(
        "airport_of_destination",
        pl.String(),
        "categorical",
        "IATA code of the airport of destination",
        flagged=8,
        shown=6,
    ),
    _f("flights", STR_LIST, "list", "flight designators in order, e.g. TK0352", shown=7),
    _f("volume_m3", pl.Float64(), "numeric", "consignment volume in cubic metres", shown=8),
    _f(
        "special_handling_codes",
        STR_LIST,
        "list",
        "IATA special handling codes, e.g. VAL, PER, DGR, COL",
        shown=9,
    ),
]

_CANONICAL: list[Field] = [*_MANIFEST, *_LABELS, *_AIR_WAYBILL]

CANONICAL: dict[str, Field] = {f.name: f for f in _CANONICAL}
"""Canonical input fields, by name, in declaration order."""

REQUIRED_MANIFEST_FIELDS: tuple[str, ...] = ("container_number", "bl_number")
"""Fields a manifest must have; other data sets declare their own record id instead."""

AIR_RECORD_ID: tuple[str, ...] = ("awb_number", "house_awb_number")
"""The key of an air waybill record: the master AWB, and the house AWB when there is one."""

OPTIONAL_KEY_FIELDS: frozenset[str] = frozenset({"house_awb_number"})
"""Key parts that may be empty (a master AWB without houses is keyed by its number alone)."""

AIR_FIELDS: tuple[str, ...] = tuple(f.name for f in _AIR_WAYBILL)
"""Canonical fields only an air waybill carries."""

LABEL_FIELDS: tuple[str, ...] = tuple(f.name for f in _LABELS)
"""Canonical fields of an inspection's outcome: history has them, a manifest never."""

NOT_IN_MESSAGES: frozenset[str] = frozenset(f.name for f in _MANIFEST if not f.in_messages)
"""Canonical fields carriers' manifest messages (DCSA, CUSCAR) do not carry: the filing's
amendment history and the declared value."""

# Columns every batch carries for traceability, added by ingest.
RECORD_ID = "record_id"
SOURCE_FILE = "source_file"
SOURCE_LINE = "source_line"
ROW_INDEX = "row_index"

_TRACE: list[Field] = [
    _f(RECORD_ID, pl.String(), "id", "the key the pipeline uses for the row", "derived", flagged=1),
    _f(SOURCE_FILE, pl.String(), "id", "file the row was read from", "derived", flagged=23),
    _f(
        SOURCE_LINE,
        pl.Int64(),
        "id",
        "line (text formats) or record number the row came from",
        "derived",
        flagged=24,
    ),
    _f(ROW_INDEX, pl.Int64(), "id", "0-based position of the row in the batch", "derived"),
]

DERIVED: dict[str, Field] = {f.name: f for f in _TRACE}
"""Fields the engine derives; stages register theirs with :func:`register_derived`."""


def register_derived(*fields: Field) -> None:
    """Declare fields a stage adds so rule lint and the editor schema know them."""
    for field in fields:
        DERIVED[field.name] = replace(field, kind="derived")


def known_fields() -> dict[str, Field]:
    """Every field a rule may reference: canonical plus derived."""
    return {**CANONICAL, **DERIVED}


def canonical_schema() -> pl.Schema:
    """The polars schema of the canonical manifest frame (input fields only)."""
    return pl.Schema({f.name: f.dtype for f in _CANONICAL})


def empty_canonical_frame() -> pl.DataFrame:
    """A zero-row frame with the canonical schema."""
    return pl.DataFrame(schema=canonical_schema())


# --------------------------------------------------------------------------------------
# Derived fields. Declared here, in one place, so that the stage that computes a field and
# the rules and models that read it agree on its name and type.
# --------------------------------------------------------------------------------------
_ENRICHMENT: list[Field] = [
    _f(
        "port_of_loading_country",
        pl.String(),
        "categorical",
        "country of the port of loading (UN/LOCODE)",
    ),
    _f("port_of_discharge_country", pl.String(), "categorical", "country of the port of discharge"),
    _f("place_of_receipt_country", pl.String(), "categorical", "country of the place of receipt"),
    _f("place_of_delivery_country", pl.String(), "categorical", "country of the place of delivery"),
    _f("transshipment_countries", STR_LIST, "list", "countries of the transshipment ports"),
    _f("transshipment_count", pl.Int32(), "numeric", "number of transshipment ports"),
    _f("hs_chapter", pl.String(), "categorical", "first 2 digits of hs_code", shown=17),
    _f("hs_heading", pl.String(), "categorical", "first 4 digits of hs_code"),
    _f("hs_subheading", pl.String(), "categorical", "first 6 digits of hs_code"),
    _f("hs_chapter_description", pl.String(), "text", "HS 2022 chapter text"),
    _f("hs_heading_description", pl.String(), "text", "HS 2022 heading text"),
    _f("kg_per_package", pl.Float64(), "numeric", "gross_weight_kg / packages"),
    _f("value_per_kg", pl.Float64(), "numeric", "declared_value / gross_weight_kg"),
    _f(
        "equipment_group",
        pl.String(),
        "categorical",
        "ISO 6346 type group letter (G, R, U, T, ...)",
    ),
    _f("is_reefer", pl.Boolean(), "flag", "refrigerated container (ISO type group R)"),
    _f("transit_days", pl.Float64(), "numeric", "arrival_eta - departed_at, in days"),
    _f(
        "amended_after_departure_hours",
        pl.Float64(),
        "numeric",
        "hours between departure and the last amendment (positive = amended after sailing)",
    ),
]

_AIR: list[Field] = [
    _f(
        "transport_mode",
        pl.String(),
        "categorical",
        "air (the row has an air waybill number) or sea",
        flagged=4,
        shown=1,
    ),
    _f("airline_prefix", pl.String(), "categorical", "IATA airline prefix: first 3 AWB digits"),
    _f(
        "airport_of_origin_country",
        pl.String(),
        "categorical",
        "country of the airport of origin (IATA airports table)",
    ),
    _f(
        "airport_of_destination_country",
        pl.String(),
        "categorical",
        "country of the airport of destination",
    ),
    _f("transfer_airport_countries", STR_LIST, "list", "countries of the transfer airports"),
    _f("transfer_count", pl.Int32(), "numeric", "number of transfer airports"),
    _f("kg_per_m3", pl.Float64(), "numeric", "gross_weight_kg / volume_m3 (density)"),
]

_DATA_QUALITY: list[Field] = [
    _f(
        "dq_invalid_container_number",
        pl.Boolean(),
        "flag",
        "container number fails ISO 6346 (format or check digit)",
    ),
    _f(
        "dq_invalid_iso_type",
        pl.Boolean(),
        "flag",
        "iso_type is not a known ISO 6346 size/type code",
    ),
    _f("dq_invalid_vessel_imo", pl.Boolean(), "flag", "vessel IMO number fails its check digit"),
    _f(
        "dq_unknown_port_of_loading",
        pl.Boolean(),
        "flag",
        "port_of_loading is not a UN/LOCODE seaport",
    ),
    _f(
        "dq_unknown_port_of_discharge",
        pl.Boolean(),
        "flag",
        "port_of_discharge is not a UN/LOCODE seaport",
    ),
    _f(
        "dq_unknown_transshipment_port",
        pl.Boolean(),
        "flag",
        "a transshipment port is not a UN/LOCODE seaport",
    ),
    _f(
        "dq_invalid_locode",
        pl.Boolean(),
        "flag",
        "place_of_receipt/place_of_delivery is not a well-formed UN/LOCODE of a known country",
    ),
    _f(
        "dq_invalid_hs_code",
        pl.Boolean(),
        "flag",
        "hs_code is not an HS 2022 chapter/heading/subheading",
    ),
    _f("dq_invalid_country", pl.Boolean(), "flag", "a country field is not ISO 3166 alpha-2"),
    _f(
        "dq_invalid_awb_number",
        pl.Boolean(),
        "flag",
        "air waybill number fails IATA's format (11 digits) or its mod-7 check digit",
    ),
    _f(
        "dq_unknown_airport",
        pl.Boolean(),
        "flag",
        "an airport of origin, transfer or destination is not an IATA airport code",
    ),
    _f(
        "dq_vague_goods_description",
        pl.Boolean(),
        "flag",
        "FAK, STC, 'said to contain', 'general cargo', ...",
    ),
    _f(
        "dq_placeholder_shipper",
        pl.Boolean(),
        "flag",
        "shipper name is a placeholder ('unknown', 'n/a', ...)",
    ),
    _f(
        "dq_placeholder_consignee",
        pl.Boolean(),
        "flag",
        "consignee name is a placeholder ('to order', 'unknown', ...)",
    ),
    _f(
        "dq_placeholder_notify",
        pl.Boolean(),
        "flag",
        "notify party is a placeholder ('same as consignee', ...)",
    ),
    _f("dq_po_box_shipper_address", pl.Boolean(), "flag", "shipper address is only a P.O. box"),
    _f("dq_po_box_consignee_address", pl.Boolean(), "flag", "consignee address is only a P.O. box"),
    _f("dq_nonpositive_weight", pl.Boolean(), "flag", "gross weight missing, zero or negative"),
    _f("dq_nonpositive_packages", pl.Boolean(), "flag", "package count missing, zero or negative"),
    _f(
        "dq_unparseable_values",
        pl.Boolean(),
        "flag",
        "some value could not be parsed (see dq_unparseable_fields)",
    ),
    _f(
        "dq_unparseable_fields",
        STR_LIST,
        "list",
        "names of fields whose source value did not parse",
    ),
    _f("dq_count", pl.Int32(), "numeric", "number of data-quality flags raised on the row"),
]

_HISTORY: list[Field] = [
    _f("shipper_key", pl.String(), "id", "normalised shipper identity"),
    _f("consignee_key", pl.String(), "id", "normalised consignee identity"),
    _f(
        "consignee_is_new",
        pl.Boolean(),
        "flag",
        "consignee never seen before this row (null: history too short to tell)",
    ),
    _f(
        "shipper_is_new",
        pl.Boolean(),
        "flag",
        "shipper never seen before this row (null: history too short to tell)",
    ),
    _f(
        "consignee_first_seen_days",
        pl.Float64(),
        "numeric",
        "days since the consignee first appeared (0 if new)",
    ),
    _f(
        "shipper_first_seen_days",
        pl.Float64(),
        "numeric",
        "days since the shipper first appeared (0 if new)",
    ),
    _f(
        "consignee_shipments_30d",
        pl.Int32(),
        "numeric",
        "consignee shipments in the previous 30 days",
    ),
    _f(
        "consignee_shipments_90d",
        pl.Int32(),
        "numeric",
        "consignee shipments in the previous 90 days",
    ),
    _f(
        "consignee_shipments_365d",
        pl.Int32(),
        "numeric",
        "consignee shipments in the previous 365 days",
    ),
    _f("shipper_shipments_30d", pl.Int32(), "numeric", "shipper shipments in the previous 30 days"),
    _f("shipper_shipments_90d", pl.Int32(), "numeric", "shipper shipments in the previous 90 days"),
    _f(
        "shipper_shipments_365d",
        pl.Int32(),
        "numeric",
        "shipper shipments in the previous 365 days",
    ),
    _f(
        "consignee_distinct_shippers_365d",
        pl.Int32(),
        "numeric",
        "distinct shippers to this consignee, previous 365 days",
    ),
    _f(
        "shipper_distinct_consignees_365d",
        pl.Int32(),
        "numeric",
        "distinct consignees of this shipper, previous 365 days",
    ),
    _f(
        "shipper_hs_chapter_share",
        pl.Float64(),
        "numeric",
        "share of this HS chapter in the shipper's past shipments (null if none)",
    ),
    _f(
        "consignee_hs_chapter_share",
        pl.Float64(),
        "numeric",
        "share of this HS chapter in the consignee's past shipments (null if none)",
    ),
    _f(
        "consignee_route_is_new",
        pl.Boolean(),
        "flag",
        "loading→discharge port pair never seen for this consignee (null: history too short)",
    ),
    _f(
        "consignee_past_inspections",
        pl.Int32(),
        "numeric",
        "past inspections of the consignee's shipments",
    ),
    _f(
        "consignee_past_positives",
        pl.Int32(),
        "numeric",
        "past positive inspections (seizure/irregularity)",
    ),
    _f(
        "consignee_positive_rate", pl.Float64(), "numeric", "smoothed past positive inspection rate"
    ),
    _f(
        "shipper_past_inspections",
        pl.Int32(),
        "numeric",
        "past inspections of the shipper's shipments",
    ),
    _f("shipper_past_positives", pl.Int32(), "numeric", "past positive inspections of the shipper"),
    _f(
        "shipper_positive_rate",
        pl.Float64(),
        "numeric",
        "smoothed past positive inspection rate of the shipper",
    ),
    _f(
        "container_past_appearances_365d",
        pl.Int32(),
        "numeric",
        "times this container appeared in the previous 365 days",
    ),
    _f("container_prior_seizures", pl.Int32(), "numeric", "past seizures on this container number"),
    _f(
        "consignee_days_since_last_amendment",
        pl.Float64(),
        "numeric",
        "days since the consignee's last amended filing (null if none)",
    ),
]

_WATCHLIST: list[Field] = [
    _f(
        "watchlist_party_score",
        pl.Float64(),
        "numeric",
        "best fuzzy match score (0-100) of a party name against watchlists",
        shown=38,
    ),
    _f(
        "watchlist_party_role",
        pl.String(),
        "categorical",
        "which party matched: shipper, consignee or notify",
        shown=39,
    ),
    _f(
        "watchlist_entry",
        pl.String(),
        "text",
        "the matched watchlist entry (list, reference, name)",
        shown=40,
    ),
    _f(
        "watchlist_party_match",
        pl.String(),
        "text",
        "why the party name matched: the listed name, words matched, differing, missing, extra",
        shown=41,
    ),
    _f(
        "watchlist_vessel_hit",
        pl.Boolean(),
        "flag",
        "vessel IMO number is on a watchlist",
        shown=42,
    ),
    _f(
        "watchlist_vessel_name_hit",
        pl.Boolean(),
        "flag",
        "vessel name is a listed vessel's name but its IMO number is not listed",
        shown=43,
    ),
    _f("watchlist_vessel_entry", pl.String(), "text", "the matched vessel entry", shown=44),
    _f(
        "watchlist_container_hit",
        pl.Boolean(),
        "flag",
        "container number is on a watchlist",
        shown=45,
    ),
    _f("watchlist_container_entry", pl.String(), "text", "the matched container entry", shown=46),
]

_OUTPUTS: list[Field] = [
    _f(
        "rule_score",
        pl.Float64(),
        "numeric",
        "sum of weights of active rules that hit",
        "output",
        flagged=13,
    ),
    _f("rule_hits", STR_LIST, "list", "ids of active rules that hit", "output", flagged=15),
    _f("rule_reasons", STR_LIST, "list", "rendered reasons of the active rules that hit", "output"),
    _f("rule_reasons_ru", STR_LIST, "list", "the rule reasons in Russian", "output"),
    _f(
        "rule_shadow_hits",
        STR_LIST,
        "list",
        "ids of experimental rules that hit (never select)",
        "output",
    ),
    _f(
        "model_probability",
        pl.Float64(),
        "numeric",
        "model probability of a positive inspection",
        "output",
        flagged=14,
    ),
    _f("model_reasons", STR_LIST, "list", "top model contributions in plain language", "output"),
    _f(
        "model_reasons_ru",
        STR_LIST,
        "list",
        "the model contributions in Russian",
        "output",
    ),
    _f("risk_score", pl.Float64(), "numeric", "combined risk 0-100", "output", flagged=10),
    _f("lane", pl.String(), "categorical", "red, yellow or green", "output", flagged=9),
    _f("forced_red", pl.Boolean(), "flag", "a policy rule forced the red lane", "output"),
    _f("selected", pl.Boolean(), "flag", "selected for physical inspection", "output", flagged=11),
    _f(
        "selection_reason",
        pl.String(),
        "categorical",
        "forced, risk or control",
        "output",
        flagged=12,
    ),
]

for _field in (*_ENRICHMENT, *_AIR, *_DATA_QUALITY, *_HISTORY, *_WATCHLIST):
    DERIVED[_field.name] = replace(_field, kind="derived")

OUTPUTS: dict[str, Field] = {f.name: f for f in _OUTPUTS}
"""Columns the scoring stages write (rules, model, combine, select)."""

_FLAGGED_FILE: list[Field] = [
    _f(
        "reasons",
        pl.String(),
        "text",
        "the row's rule and model reasons joined with ' | ' (flagged.csv only)",
        "output",
        flagged=16,
    ),
]

_CATALOGUE: tuple[Field, ...] = (
    *_CANONICAL,
    *_TRACE,
    *_ENRICHMENT,
    *_AIR,
    *_DATA_QUALITY,
    *_HISTORY,
    *_WATCHLIST,
    *_OUTPUTS,
    *_FLAGGED_FILE,
)


def catalogue() -> tuple[Field, ...]:
    """Every field declared here: canonical, derived, outputs and the columns only
    ``flagged.csv`` has."""
    return _CATALOGUE


def _placed(place: Literal["flagged", "shown"]) -> tuple[str, ...]:
    """The fields that have a ``place`` (``Field.flagged`` or ``Field.shown``), by it."""
    at = {f.name: getattr(f, place) for f in _CATALOGUE if getattr(f, place) is not None}
    return tuple(sorted(at, key=at.__getitem__))


FLAGGED_COLUMNS: tuple[str, ...] = _placed("flagged")
"""The columns of ``flagged.csv``, in order (each written when the batch has it)."""

ENRICHMENT_FIELDS: tuple[str, ...] = tuple(f.name for f in (*_ENRICHMENT, *_AIR))
"""The columns the enrichment stage adds, in the order it adds them."""

AIR_ENRICHMENT_FIELDS: tuple[str, ...] = tuple(f.name for f in _AIR)
"""The enrichment columns of air waybills (``engine.air``)."""

AIR_FLAGGED_COLUMNS: tuple[str, ...] = tuple(
    name for name in FLAGGED_COLUMNS if name in {*AIR_FIELDS, *AIR_ENRICHMENT_FIELDS}
)
"""The ``flagged.csv`` columns of air waybills, written only when the batch has air rows."""

SHOWN_FIELDS: tuple[str, ...] = _placed("shown")
"""The fields an officer is shown with a flagged row, in order (those the batch has)."""

WATCHLIST_FIELDS: tuple[str, ...] = tuple(f.name for f in _WATCHLIST)
"""The columns the watchlist stage adds."""

DQ_FLAGS: tuple[str, ...] = tuple(f.name for f in _DATA_QUALITY if f.dtype == pl.Boolean())
"""Every Boolean data-quality flag (the run record counts each)."""
