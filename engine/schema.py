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

from dataclasses import dataclass
from typing import Literal

import polars as pl

Role = Literal["id", "categorical", "numeric", "text", "time", "flag", "list", "label"]
Kind = Literal["canonical", "derived", "output"]

DATETIME = pl.Datetime("us", "UTC")
STR_LIST = pl.List(pl.String)


@dataclass(frozen=True)
class Field:
    """One known column: its Arrow/polars type, its role and a one-line description."""

    name: str
    dtype: pl.DataType
    role: Role
    description: str
    kind: Kind = "canonical"


def _f(
    name: str, dtype: pl.DataType, role: Role, description: str, kind: Kind = "canonical"
) -> Field:
    return Field(name, dtype, role, description, kind)


_CANONICAL: list[Field] = [
    # equipment
    _f("container_number", pl.String(), "id", "ISO 6346 container number, e.g. MSCU1234565"),
    _f("iso_type", pl.String(), "categorical", "ISO 6346 size/type code, e.g. 22G1, 45R1"),
    _f("seals", STR_LIST, "list", "seal numbers"),
    _f("fcl_lcl", pl.String(), "categorical", "FCL or LCL"),
    _f("is_empty", pl.Boolean(), "flag", "container declared empty"),
    # document
    _f("bl_number", pl.String(), "id", "bill of lading (transport document) number"),
    _f("house_bl_number", pl.String(), "id", "house bill of lading number"),
    _f("bl_type", pl.String(), "categorical", "straight or to_order"),
    _f("filed_at", DATETIME, "time", "when the manifest line was filed"),
    _f("amendments", pl.Int32(), "numeric", "number of amendments to the filing"),
    _f("last_amended_at", DATETIME, "time", "when the filing was last amended"),
    _f("freight_terms", pl.String(), "categorical", "prepaid or collect"),
    _f("freight_payment", pl.String(), "categorical", "how freight was paid, e.g. cash"),
    # parties
    _f("shipper_name", pl.String(), "text", "shipper (consignor) name"),
    _f("shipper_address", pl.String(), "text", "shipper address"),
    _f("shipper_country", pl.String(), "categorical", "shipper country, ISO 3166 alpha-2"),
    _f("shipper_id", pl.String(), "id", "shipper identifier (EORI, TIN, ...)"),
    _f("consignee_name", pl.String(), "text", "consignee name"),
    _f("consignee_address", pl.String(), "text", "consignee address"),
    _f("consignee_country", pl.String(), "categorical", "consignee country, ISO 3166 alpha-2"),
    _f("consignee_id", pl.String(), "id", "consignee identifier (EORI, TIN, ...)"),
    _f("notify_name", pl.String(), "text", "notify party name"),
    _f("notify_address", pl.String(), "text", "notify party address"),
    # goods
    _f("hs_code", pl.String(), "categorical", "HS code, 6 to 10 digits, as text"),
    _f("goods_description", pl.String(), "text", "goods description as declared"),
    _f("packages", pl.Int64(), "numeric", "number of packages"),
    _f("package_type", pl.String(), "categorical", "package type code or text"),
    _f("gross_weight_kg", pl.Float64(), "numeric", "gross weight in kilograms"),
    _f("declared_value", pl.Float64(), "numeric", "declared value in `currency`"),
    _f("currency", pl.String(), "categorical", "ISO 4217 currency of declared_value"),
    _f("un_dg_number", pl.String(), "categorical", "UN dangerous-goods number"),
    # route
    _f("origin_country", pl.String(), "categorical", "country of origin, ISO 3166 alpha-2"),
    _f("place_of_receipt", pl.String(), "categorical", "UN/LOCODE of the place of receipt"),
    _f("port_of_loading", pl.String(), "categorical", "UN/LOCODE of the port of loading"),
    _f("transshipment_ports", STR_LIST, "list", "UN/LOCODEs of transshipment ports, in order"),
    _f("port_of_discharge", pl.String(), "categorical", "UN/LOCODE of the port of discharge"),
    _f("place_of_delivery", pl.String(), "categorical", "UN/LOCODE of the place of delivery"),
    # conveyance
    _f("vessel_imo", pl.String(), "id", "IMO ship number, 7 digits"),
    _f("vessel_name", pl.String(), "text", "vessel name"),
    _f("voyage", pl.String(), "id", "voyage number"),
    _f("carrier_scac", pl.String(), "categorical", "carrier SCAC code"),
    _f("departed_at", DATETIME, "time", "departure from the port of loading"),
    _f("arrival_eta", DATETIME, "time", "estimated arrival at the port of discharge"),
    # history only
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
    # air cargo: the air waybill (IATA Cargo-IMP FWB/FHL); one row = one master or house AWB.
    # Shared fields keep their meaning: packages = pieces, gross_weight_kg, goods, parties,
    # declared_value/currency, hs_code, filed_at, departed_at/arrival_eta.
    _f(
        "awb_number",
        pl.String(),
        "id",
        "master air waybill number: airline prefix + 7-digit serial + mod-7 check digit",
    ),
    _f("house_awb_number", pl.String(), "id", "house air waybill number (forwarder's)"),
    _f("airport_of_origin", pl.String(), "categorical", "IATA code of the airport of departure"),
    _f(
        "transfer_airports",
        STR_LIST,
        "list",
        "IATA codes of the airports the consignment is transferred at, in order",
    ),
    _f(
        "airport_of_destination",
        pl.String(),
        "categorical",
        "IATA code of the airport of destination",
    ),
    _f("flights", STR_LIST, "list", "flight designators in order, e.g. TK0352"),
    _f("volume_m3", pl.Float64(), "numeric", "consignment volume in cubic metres"),
    _f(
        "special_handling_codes",
        STR_LIST,
        "list",
        "IATA special handling codes, e.g. VAL, PER, DGR, COL",
    ),
]

CANONICAL: dict[str, Field] = {f.name: f for f in _CANONICAL}
"""Canonical input fields, by name, in declaration order."""

REQUIRED_MANIFEST_FIELDS: tuple[str, ...] = ("container_number", "bl_number")
"""Fields a manifest must have; other data sets declare their own record id instead."""

AIR_RECORD_ID: tuple[str, ...] = ("awb_number", "house_awb_number")
"""The key of an air waybill record: the master AWB, and the house AWB when there is one."""

OPTIONAL_KEY_FIELDS: frozenset[str] = frozenset({"house_awb_number"})
"""Key parts that may be empty (a master AWB without houses is keyed by its number alone)."""

AIR_FIELDS: tuple[str, ...] = (
    "awb_number",
    "house_awb_number",
    "airport_of_origin",
    "transfer_airports",
    "airport_of_destination",
    "flights",
    "volume_m3",
    "special_handling_codes",
)
"""Canonical fields only an air waybill carries."""

LABEL_FIELDS: tuple[str, ...] = ("inspected", "inspection_result", "finding_type", "inspected_at")

# Columns every batch carries for traceability, added by ingest.
RECORD_ID = "record_id"
SOURCE_FILE = "source_file"
SOURCE_LINE = "source_line"
ROW_INDEX = "row_index"

_TRACE: list[Field] = [
    _f(RECORD_ID, pl.String(), "id", "the key the pipeline uses for the row", "derived"),
    _f(SOURCE_FILE, pl.String(), "id", "file the row was read from", "derived"),
    _f(
        SOURCE_LINE,
        pl.Int64(),
        "id",
        "line (text formats) or record number the row came from",
        "derived",
    ),
    _f(ROW_INDEX, pl.Int64(), "id", "0-based position of the row in the batch", "derived"),
]

DERIVED: dict[str, Field] = {f.name: f for f in _TRACE}
"""Fields the engine derives; stages register theirs with :func:`register_derived`."""


def register_derived(*fields: Field) -> None:
    """Declare fields a stage adds so rule lint and the editor schema know them."""
    for field in fields:
        DERIVED[field.name] = Field(
            field.name, field.dtype, field.role, field.description, "derived"
        )


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
    _f("hs_chapter", pl.String(), "categorical", "first 2 digits of hs_code"),
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
    ),
    _f(
        "watchlist_party_role",
        pl.String(),
        "categorical",
        "which party matched: shipper, consignee or notify",
    ),
    _f(
        "watchlist_entry",
        pl.String(),
        "text",
        "the matched watchlist entry (list, reference, name)",
    ),
    _f(
        "watchlist_party_match",
        pl.String(),
        "text",
        "why the party name matched: the listed name, words matched, differing, missing, extra",
    ),
    _f("watchlist_vessel_hit", pl.Boolean(), "flag", "vessel IMO number is on a watchlist"),
    _f(
        "watchlist_vessel_name_hit",
        pl.Boolean(),
        "flag",
        "vessel name is a listed vessel's name but its IMO number is not listed",
    ),
    _f("watchlist_vessel_entry", pl.String(), "text", "the matched vessel entry"),
    _f("watchlist_container_hit", pl.Boolean(), "flag", "container number is on a watchlist"),
    _f("watchlist_container_entry", pl.String(), "text", "the matched container entry"),
]

_OUTPUTS: list[Field] = [
    _f("rule_score", pl.Float64(), "numeric", "sum of weights of active rules that hit", "output"),
    _f("rule_hits", STR_LIST, "list", "ids of active rules that hit", "output"),
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
    ),
    _f("model_reasons", STR_LIST, "list", "top model contributions in plain language", "output"),
    _f(
        "model_reasons_ru",
        STR_LIST,
        "list",
        "the model contributions in Russian",
        "output",
    ),
    _f("risk_score", pl.Float64(), "numeric", "combined risk 0-100", "output"),
    _f("lane", pl.String(), "categorical", "red, yellow or green", "output"),
    _f("forced_red", pl.Boolean(), "flag", "a policy rule forced the red lane", "output"),
    _f("selected", pl.Boolean(), "flag", "selected for physical inspection", "output"),
    _f("selection_reason", pl.String(), "categorical", "forced, risk or control", "output"),
]

for _field in (*_ENRICHMENT, *_AIR, *_DATA_QUALITY, *_HISTORY, *_WATCHLIST):
    DERIVED[_field.name] = Field(
        _field.name, _field.dtype, _field.role, _field.description, "derived"
    )

OUTPUTS: dict[str, Field] = {f.name: f for f in _OUTPUTS}
"""Columns the scoring stages write (rules, model, combine, select)."""

DQ_FLAGS: tuple[str, ...] = tuple(f.name for f in _DATA_QUALITY if f.dtype == pl.Boolean())
"""Every Boolean data-quality flag (the run record counts each)."""
