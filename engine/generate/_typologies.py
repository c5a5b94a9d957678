"""Planted smuggling typologies. Each rewrites a few whole FCL bills of lading so that the
record looks the way such loads look in real manifests; the row's typology is kept for the
truth file and never written to the manifest.

``plant_routes`` runs before ``_day.derive`` (it changes ports, parties, goods, document
flags); ``plant_numbers`` runs after it (weights, values).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from engine.errors import Location
from engine.generate import _words as words
from engine.generate._codes import IntArray, weighted_choice
from engine.generate._draw import (
    FREIGHT_PAYMENTS,
    ISO_TYPES,
    TYPOLOGIES,
    Draw,
    Universe,
    party_countries,
)
from engine.generate._errors import GeneratorError
from engine.generate._parties import compose_addresses, compose_names
from engine.generate._world import World

CASH = FREIGHT_PAYMENTS.index("cash")


@dataclass(frozen=True)
class TypologyRates:
    """Share of manifest rows (containers) planted with each typology.

    The defaults make about 0.3 % of rows suspicious, which with the history's inspection
    policy gives positive findings on roughly 1–3 % of inspected containers.
    """

    cocaine_reefer: float = 0.0004
    precursor_chemicals: float = 0.0003
    front_company: float = 0.00045
    weight_anomaly: float = 0.0004
    cash_to_order: float = 0.0003
    late_amendment: float = 0.0003
    vague_high_value: float = 0.0003
    sanctioned_lookalike: float = 0.00015
    undervaluation: float = 0.0004

    def __post_init__(self) -> None:
        for name, rate in asdict(self).items():
            if not 0.0 <= rate <= 0.2:
                raise GeneratorError(
                    f"typology rate {name}={rate} is outside 0..0.2",
                    location=Location(field=f"rates.{name}"),
                    hint="rates are shares of rows, e.g. 0.0005 for 0.05 %",
                )


def choose_groups(draw: Draw, rng: np.random.Generator, rates: TypologyRates) -> None:
    """Mark whole FCL bills of lading with a typology (disjoint, ~rate × rows each)."""
    n_groups = int(draw.group[-1]) + 1 if draw.n else 0
    eligible = np.ones(n_groups, dtype=bool)
    eligible[draw.group[draw.is_lcl | draw.is_empty]] = False
    fcl_rows = max(int((~draw.is_lcl).sum()), 1)
    typology = np.full(n_groups, -1, dtype=np.int64)
    for t, name in enumerate(TYPOLOGIES):
        p = min(1.0, getattr(rates, name) * draw.n / fcl_rows)
        chosen = eligible & (rng.random(n_groups) < p)
        typology[chosen] = t
        eligible &= ~chosen
    draw.typology = typology[draw.group]


def _group_pick(
    draw: Draw, rng: np.random.Generator, mask: np.ndarray, table: dict[str, float], world: World
) -> IntArray:
    """A weighted pick of a location per bill of lading, broadcast to the rows in ``mask``."""
    locations = np.asarray([world.loc_index[c] for c in table], dtype=np.int64)
    per_group = weighted_choice(rng, np.asarray(list(table.values())), int(draw.group[-1]) + 1)
    return np.asarray(locations[per_group[draw.group[mask]]], dtype=np.int64)


def _add_parties(uni: Universe, draw: Draw, frame: pl.DataFrame) -> IntArray:
    start = uni.parties.height + sum(f.height for f in draw.extras)
    draw.extras.append(frame.select("name", "address", "country", "id"))
    return np.arange(start, start + frame.height, dtype=np.int64)


def _front_companies(
    uni: Universe, draw: Draw, rng: np.random.Generator, countries: np.ndarray, world: World
) -> pl.DataFrame:
    n = len(countries)
    cities = pl.Series(
        [words.DELIVERY_PLACES.get(c, [("", "TASHKENT", 1.0)])[0][1] for c in countries.tolist()],
        dtype=pl.String,
    )
    names = compose_names(rng, countries, cities)
    # a front company is new by construction: never reuse a known trader's name
    known = uni.parties["name"].filter(uni.parties["name"].is_in(names.implode()))
    names = pl.DataFrame({"name": names}).select(
        pl.when(pl.col("name").is_in(known.implode()))
        .then(pl.col("name") + " NEW")
        .otherwise(pl.col("name"))
        .alias("name")
    )["name"]
    country_names = pl.Series(
        [world.country_name.get(c, c) for c in countries.tolist()], dtype=pl.String
    )
    address = compose_addresses(rng, countries, cities, country_names, np.ones(n))
    return pl.DataFrame(
        {
            "name": names,
            "address": address,
            "country": countries,
            "id": pl.Series([None] * n, dtype=pl.String),
        }
    )


def _lookalikes(
    uni: Universe, rng: np.random.Generator, countries: np.ndarray, world: World
) -> pl.DataFrame:
    n = len(countries)
    source = np.asarray(uni.watchlist_names)[rng.integers(0, len(uni.watchlist_names), n)]
    kind = rng.integers(0, 4, n)
    frame = pl.DataFrame({"src": source, "kind": kind})
    name = frame.select(
        pl.when(pl.col("kind") == 0)
        .then(pl.col("src").str.replace(r"^(\w+?)[AEIOU]", "${1}"))
        .when(pl.col("kind") == 1)
        .then(pl.col("src").str.replace(r"\s+\S+$", " TRADING LTD"))
        .when(pl.col("kind") == 2)
        .then(pl.col("src").str.replace_all(" ", "-"))
        .otherwise(pl.col("src").str.replace(r"^(\w)(\w)(\w)(\w)", "${1}${2}${4}${3}"))
        .alias("name")
    ).with_columns(  # a perturbation that changed nothing falls back to dropping a vowel
        pl.when(pl.col("name") == frame["src"])
        .then(pl.col("name").str.replace(r"^(\w+?)[AEIOU]", "${1}"))
        .otherwise(pl.col("name"))
        .alias("name")
    )["name"]
    cities = pl.Series(["DUBAI"] * n, dtype=pl.String)
    address = compose_addresses(
        rng,
        countries,
        cities,
        pl.Series([world.country_name.get(c, c) for c in countries.tolist()], dtype=pl.String),
        np.full(n, 0.5),
    )
    return pl.DataFrame(
        {
            "name": name,
            "address": address,
            "country": countries,
            "id": pl.Series([None] * n, dtype=pl.String),
        }
    )


def _reroute(
    world: World,
    uni: Universe,
    draw: Draw,
    rng: np.random.Generator,
    mask: np.ndarray,
    ports: dict[str, float],
) -> None:
    pol = _group_pick(draw, rng, mask, ports, world)
    order, start, count = uni.shippers_by_home
    u_group = rng.random(int(draw.group[-1]) + 1)[draw.group[mask]]  # one shipper per bill
    shipper = order[start[pol] + (u_group * count[pol]).astype(np.int64)]
    draw.port_of_loading[mask] = pol
    draw.place_of_receipt[mask] = pol
    draw.shipper[mask] = shipper + uni.shipper_offset
    draw.origin_country[mask] = world.loc_country[pol]


def plant_routes(world: World, uni: Universe, draw: Draw, rng: np.random.Generator) -> None:
    """Typology changes to routes, parties, goods and document flags (before ``derive``)."""
    t = draw.typology
    groups = int(draw.group[-1]) + 1 if draw.n else 0
    g_u = rng.random((4, groups))  # per-bill uniforms, so a bill's containers agree

    m = t == TYPOLOGIES.index("cocaine_reefer")
    if m.any():
        _reroute(world, uni, draw, rng, m, words.COCAINE_SOURCE_PORTS)
        hubs = np.asarray([world.loc_index[h] for h in words.COCAINE_HUBS])
        draw.hub1[m] = hubs[(g_u[0] * len(hubs)).astype(np.int64)[draw.group[m]]]
        draw.hub2[m] = np.where(draw.hub2[m] == draw.hub1[m], -1, draw.hub2[m])
        cover = np.asarray([world.hs_index[h] for h in words.COCAINE_COVER_HS])
        draw.hs[m] = cover[(g_u[1] * len(cover)).astype(np.int64)[draw.group[m]]]
        reefer = np.asarray([ISO_TYPES.index(c) for c in ("45R1", "45R1", "45R1", "22R1")])
        draw.forced_iso[m] = reefer[(g_u[2] * 4).astype(np.int64)[draw.group[m]]]
        draw.dg_override[m] = 0
        front = m & (g_u[3][draw.group] < 0.4)
        _make_front(world, uni, draw, rng, front, cash=False)

    m = t == TYPOLOGIES.index("precursor_chemicals")
    if m.any():
        _reroute(world, uni, draw, rng, m, words.PRECURSOR_PORTS)
        truthful = g_u[0][draw.group] < 0.4
        true_codes = list(words.PRECURSOR_TRUE)
        cover_codes = list(words.PRECURSOR_COVER)
        k_true = (g_u[1] * len(true_codes)).astype(np.int64)[draw.group]
        k_cover = (g_u[1] * len(cover_codes)).astype(np.int64)[draw.group]
        base = len(draw.descriptions)
        draw.descriptions.extend([words.PRECURSOR_TRUE[c][0] for c in true_codes])
        draw.descriptions.extend([words.PRECURSOR_COVER[c] for c in cover_codes])
        hs_true = np.asarray([world.hs_index[c] for c in true_codes])
        hs_cover = np.asarray([world.hs_index[c] for c in cover_codes])
        un = np.asarray([int(words.PRECURSOR_TRUE[c][1] or 0) for c in true_codes])
        mt, mc = m & truthful, m & ~truthful
        draw.hs[mt], draw.hs[mc] = hs_true[k_true[mt]], hs_cover[k_cover[mc]]
        draw.description_override[mt] = base + k_true[mt]
        draw.description_override[mc] = base + len(true_codes) + k_cover[mc]
        draw.dg_override[mt], draw.dg_override[mc] = un[k_true[mt]], 0
        draw.forced_iso[m] = ISO_TYPES.index("22G1")
        _make_front(world, uni, draw, rng, m & (g_u[2][draw.group] < 0.3), cash=False)

    m = t == TYPOLOGIES.index("front_company")
    if m.any():
        _make_front(world, uni, draw, rng, m, cash=True)
        draw.notify[m] = np.where(g_u[0][draw.group[m]] < 0.5, -1, -2)

    m = t == TYPOLOGIES.index("cash_to_order")
    draw.bl_to_order[m] = True
    draw.freight_payment[m] = CASH
    draw.freight_collect[m] = True

    m = t == TYPOLOGIES.index("late_amendment")
    draw.amendments[m] = np.maximum(draw.amendments[m], 1 + (g_u[0][draw.group[m]] * 3).astype(int))
    draw.late_amendment[m] = True

    draw.vague[t == TYPOLOGIES.index("vague_high_value")] = True

    m = t == TYPOLOGIES.index("sanctioned_lookalike")
    if m.any() and uni.watchlist_names:
        role = g_u[0][draw.group]
        first = np.flatnonzero(m & (np.arange(draw.n) == np.searchsorted(draw.group, draw.group)))
        parties = party_countries(uni, draw)
        country = np.where(
            role[first] < 0.5, parties[draw.consignee[first]], parties[draw.shipper[first]]
        )
        ids = _add_parties(uni, draw, _lookalikes(uni, rng, country, world))
        per_group = np.full(groups, -1, dtype=np.int64)
        per_group[draw.group[first]] = ids
        idx = per_group[draw.group[m]]
        r = role[m]
        draw.consignee[m] = np.where(r < 0.5, idx, draw.consignee[m])
        draw.shipper[m] = np.where((r >= 0.5) & (r < 0.8), idx, draw.shipper[m])
        draw.notify[m] = np.where(r >= 0.8, idx, draw.notify[m])


def _make_front(
    world: World,
    uni: Universe,
    draw: Draw,
    rng: np.random.Generator,
    mask: np.ndarray,
    *,
    cash: bool,
) -> None:
    """Give the bills in ``mask`` a brand-new consignee with a P.O. box address."""
    if not mask.any():
        return
    first = np.flatnonzero(mask & (np.arange(draw.n) == np.searchsorted(draw.group, draw.group)))
    country = uni.consignees.country[draw.consignee_pool_index[first]]
    ids = _add_parties(uni, draw, _front_companies(uni, draw, rng, country, world))
    per_group = np.full(int(draw.group[-1]) + 1, -1, dtype=np.int64)
    per_group[draw.group[first]] = ids
    draw.consignee[mask] = per_group[draw.group[mask]]
    draw.consignee_pool_index[mask] = -1  # not in the pool: new by construction
    draw.bl_to_order[mask] = False
    if cash:
        draw.freight_payment[mask] = CASH
        draw.freight_collect[mask] = True


def plant_numbers(world: World, draw: Draw, rng: np.random.Generator) -> None:
    """Typology changes to weights and values (after ``derive``)."""
    t, d = draw.typology, draw.derived
    groups = int(draw.group[-1]) + 1 if draw.n else 0
    g_u = rng.random((2, groups))

    m = t == TYPOLOGIES.index("weight_anomaly")
    heavy = world.hs_kg_per_package[draw.hs] >= 100
    factor = 6.0 + 10.0 * g_u[0][draw.group]
    # same gross weight, implausible kg per package: far too heavy or far too light
    light_goods = m & ~heavy
    d["packages"][light_goods] = np.maximum(
        1, np.rint(d["packages"][light_goods] / factor[light_goods])
    ).astype(np.int64)
    heavy_goods = m & heavy
    d["packages"][heavy_goods] = np.rint(
        d["packages"][heavy_goods] * factor[heavy_goods] * 3
    ).astype(np.int64)

    m = t == TYPOLOGIES.index("vague_high_value")
    d["usd"][m] = d["usd"][m] * (6.0 + 14.0 * g_u[1][draw.group[m]]) + 50_000.0

    m = t == TYPOLOGIES.index("undervaluation")
    d["usd"][m] = d["usd"][m] / (8.0 + 22.0 * g_u[1][draw.group[m]])
