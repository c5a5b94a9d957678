"""The generator's working state for one day: parallel numpy arrays, one element per row.

Text stays as integer indices into the world and party tables until assembly, so that the
typologies can rewrite a route or a party with a cheap array assignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from engine.generate._codes import FloatArray, IntArray
from engine.generate._parties import Fleet, Pool

BoolArray = np.ndarray

ISO_TYPES: tuple[str, ...] = (
    "22G1",
    "42G1",
    "45G1",
    "22R1",
    "42R1",
    "45R1",
    "22T1",
    "22U1",
    "42U1",
    "42P1",
)
FREIGHT_PAYMENTS: tuple[str, ...] = ("bank_transfer", "account", "cash")
TYPOLOGIES: tuple[str, ...] = (
    "cocaine_reefer",
    "precursor_chemicals",
    "front_company",
    "weight_anomaly",
    "cash_to_order",
    "late_amendment",
    "vague_high_value",
    "sanctioned_lookalike",
    "undervaluation",
)


@dataclass
class Universe:
    """Everything shared by all days of one run: the party pools and the fleet."""

    shippers: Pool
    consignees: Pool
    forwarders: Pool
    fleet: Fleet
    parties: pl.DataFrame  # shippers, then consignees, then forwarders (name/address/country/id)
    party_country: np.ndarray  # the parties' country column as numpy, for masks
    shipper_offset: int
    consignee_offset: int
    forwarder_offset: int
    consignee_cumweight: FloatArray
    shippers_by_home: tuple[IntArray, IntArray, IntArray]  # order, start, count per location
    forwarders_by_country: dict[str, IntArray]
    seed: int
    watchlist_names: list[str]


@dataclass
class Draw:
    """One day's rows. Party columns index ``Universe.parties`` (then the day's extras)."""

    n: int
    day_ordinal: int
    day_start_us: int
    group: IntArray
    group_size: IntArray
    is_lcl: BoolArray
    unit: IntArray  # bill of lading (FCL group) or house bill (LCL row)
    box: IntArray  # physical container
    shipper: IntArray
    consignee: IntArray
    consignee_pool_index: IntArray  # index into the consignee pool (for first-seen logic)
    notify: IntArray  # -1 = the consignee itself, -2 = placeholder text, -3 = none
    port_of_loading: IntArray
    port_of_discharge: IntArray
    place_of_receipt: IntArray  # -1 = none
    place_of_delivery: IntArray
    hub1: IntArray  # -1 = none
    hub2: IntArray
    origin_country: np.ndarray
    hs: IntArray
    vessel: IntArray
    forced_iso: IntArray  # index into ISO_TYPES, -1 = derive from the goods
    bl_to_order: BoolArray
    freight_collect: BoolArray
    freight_payment: IntArray  # index into FREIGHT_PAYMENTS
    amendments: IntArray
    late_amendment: BoolArray
    vague: BoolArray
    is_empty: BoolArray
    dg_override: IntArray  # UN number, -1 = derive from the goods, 0 = none
    description_override: IntArray  # index into ``descriptions``, -1 = the HS text
    u_container: FloatArray  # per-row uniforms reused by the derive step
    typology: IntArray  # index into TYPOLOGIES, -1 = clean
    extras: list[pl.DataFrame] = field(default_factory=list)  # the day's new parties
    descriptions: list[str] = field(default_factory=list)
    # filled by derive
    derived: dict[str, np.ndarray] = field(default_factory=dict)

    def rows_of_groups(self, groups: IntArray) -> BoolArray:
        """Mask of the rows that belong to the given groups."""
        return np.isin(self.group, groups)


def party_countries(uni: Universe, draw: Draw) -> np.ndarray:
    """Country of every party index (the run's pools, then the day's new parties)."""
    if not draw.extras:
        return uni.party_country
    extra = pl.concat(draw.extras)["country"].to_list()
    return np.concatenate([uni.party_country, np.asarray(extra, dtype=uni.party_country.dtype)])
