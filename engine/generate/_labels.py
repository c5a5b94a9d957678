"""Inspection outcomes for the history: who was inspected and what was found.

Inspections follow a unit's usual practice: a random share of containers, plus targeting of
rows that show the indicators officers look for. Planted rows are inspected much more
often, and found positive at a realistic rate (concealments are missed, tip-offs are wrong);
clean rows are seldom positive (a random revenue or counterfeit irregularity).
"""

from __future__ import annotations

import numpy as np

from engine.generate import _words as words
from engine.generate._codes import IntArray, weighted_choice
from engine.generate._draw import FREIGHT_PAYMENTS, ISO_TYPES, TYPOLOGIES, Draw, Universe
from engine.generate._world import World

FINDINGS: tuple[str, ...] = (
    "drugs",
    "precursors",
    "weapons",
    "counterfeit",
    "wildlife",
    "tobacco",
    "revenue",
)
RESULTS: tuple[str, ...] = ("clean", "irregularity", "seizure")
# Findings that are a seizure when positive (the rest are usually an irregularity).
_SEIZED = {"drugs", "precursors", "weapons", "wildlife", "tobacco"}

BASE_INSPECTION = 0.028  # random and routine inspections
PER_INDICATOR = 0.05  # targeting: each visible indicator adds this much
PLANTED_INSPECTION = 0.5
PLANTED_POSITIVE = 0.5
CLEAN_POSITIVE = 0.004


def planted_findings(draw: Draw, rng: np.random.Generator) -> IntArray:
    """The finding each planted bill of lading would yield (index into FINDINGS, -1 clean)."""
    groups = int(draw.group[-1]) + 1 if draw.n else 0
    per_group = np.full(groups, -1, dtype=np.int64)
    u = rng.random(groups)
    first = np.searchsorted(draw.group, np.arange(groups))
    typology = draw.typology[first] if draw.n else np.array([], dtype=np.int64)
    for t, name in enumerate(TYPOLOGIES):
        mask = typology == t
        kinds = words.TYPOLOGY_FINDINGS[name]
        cum = np.cumsum([w for _, w in kinds])
        pick = np.minimum(np.searchsorted(cum / cum[-1], u[mask], side="right"), len(kinds) - 1)
        per_group[mask] = np.asarray([FINDINGS.index(k) for k, _ in kinds])[pick]
    return per_group[draw.group]


def visible_indicators(world: World, uni: Universe, draw: Draw, t: int) -> IntArray:
    """How many classic targeting indicators a row shows (0..several)."""
    source = np.isin(draw.port_of_loading, [world.loc_index[c] for c in words.COCAINE_SOURCE_PORTS])
    reefer = np.asarray([c[2] == "R" for c in ISO_TYPES])[draw.derived["iso_type"]]
    pool = draw.consignee_pool_index
    birth = np.where(pool >= 0, uni.consignees.birth_day[np.maximum(pool, 0)], t)
    young = (pool < 0) | ((birth > 0) & (t - birth < 30))
    cash = draw.freight_payment == FREIGHT_PAYMENTS.index("cash")
    return np.asarray(
        (source & reefer).astype(np.int64)
        + young
        + cash
        + draw.bl_to_order
        + draw.late_amendment
        + draw.vague
        + draw.derived["check_wrong"],
        dtype=np.int64,
    )


def inspect(
    world: World, uni: Universe, draw: Draw, rng: np.random.Generator, t: int, finding: IntArray
) -> tuple[np.ndarray, IntArray, IntArray]:
    """(inspected, result index into RESULTS, finding index into FINDINGS or -1)."""
    planted = draw.typology >= 0
    k = np.minimum(visible_indicators(world, uni, draw, t), 3)
    p_inspect = np.where(planted, PLANTED_INSPECTION, BASE_INSPECTION + PER_INDICATOR * k)
    inspected = rng.random(draw.n) < p_inspect
    u = rng.random(draw.n)
    positive = inspected & np.where(planted, u < PLANTED_POSITIVE, u < CLEAN_POSITIVE)
    clean_kind = weighted_choice(rng, np.asarray([w for _, w in words.CLEAN_FINDINGS]), draw.n)
    clean_finding = np.asarray([FINDINGS.index(k) for k, _ in words.CLEAN_FINDINGS])[clean_kind]
    found = np.where(positive, np.where(planted, finding, clean_finding), -1)
    seized_kind = np.asarray([f in _SEIZED for f in FINDINGS])
    # counterfeit and revenue findings end as a seizure now and then
    seizure = positive & (seized_kind[np.maximum(found, 0)] | (rng.random(draw.n) < 0.3))
    result = np.where(positive, np.where(seizure, 2, 1), 0)
    return inspected, result, found
