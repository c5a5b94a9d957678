"""One day of clean traffic: who ships what to whom, on which route and vessel.

``build_universe`` makes the party pools and fleet shared by every day of a run;
``base_draw`` draws a day's rows as indices; ``derive`` turns indices into equipment,
weights, values, times and document numbers. Typologies are planted between the two
(route, party and goods changes) and after ``derive`` (weights, values, amendment times).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from engine.generate import _words as words
from engine.generate._codes import IntArray, hash_uniform, iso6346_check_digits, weighted_choice
from engine.generate._draw import ISO_TYPES, Draw, Universe, party_countries
from engine.generate._parties import (
    consignee_pool,
    fleet,
    forwarder_pool,
    group_offsets,
    shipper_pool,
)
from engine.generate._world import PROFILES, World, great_circle_km

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR
EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()

LCL_GROUP_SHARE = 0.055  # ~12 % of rows travel as LCL house bills
FCL_SIZES = (np.array([1, 2, 3, 4, 5, 6]), np.array([0.60, 0.20, 0.10, 0.05, 0.03, 0.02]))
FREIGHT_PAYMENT_MIX = (np.arange(3), np.array([0.885, 0.10, 0.015]))  # see FREIGHT_PAYMENTS
AMENDMENTS = (np.array([0, 1, 2, 3]), np.array([0.86, 0.10, 0.03, 0.01]))
CURRENCY_RATES = {"USD": 1.0, "EUR": 0.92, "CNY": 7.2, "TRY": 34.0, "AED": 3.67, "GBP": 0.79}
CURRENCIES: list[str] = list(CURRENCY_RATES)
OWNER_CODES: list[str] = sorted(
    {p for c in words.CARRIERS for p in c[2]} | set(words.LESSOR_PREFIXES)
)
_EURO = {"NL", "BE", "DE", "ES", "IT", "FR", "GR", "SI", "PL", "RO", "BG"}


def _choice(rng: np.random.Generator, table: tuple[np.ndarray, np.ndarray], n: int) -> np.ndarray:
    values, weights = table
    return values[weighted_choice(rng, weights, n)]


def build_universe(
    world: World, *, rows_per_day: int, timeline_days: int, seed: int, watchlist_names: list[str]
) -> Universe:
    """Party pools and fleet sized for ``rows_per_day`` over ``timeline_days`` days."""
    rng = np.random.default_rng([seed, 0x5EED])
    r = rows_per_day
    shippers = shipper_pool(rng, world, max(80, r))
    consignees = consignee_pool(rng, world, max(50, 2 * r), max(0.3, 0.01 * r), timeline_days)
    forwarders = forwarder_pool(rng, world, min(max(40, r // 20), 2000))
    vessels = fleet(rng, int(np.clip(r // 20, 30, 2000)))
    parties = pl.concat([shippers.text, consignees.text, forwarders.text])
    f_off = shippers.text.height + consignees.text.height
    by_country = {
        c: f_off + np.flatnonzero(forwarders.country == c) for c in words.CONSIGNEE_COUNTRIES
    }
    return Universe(
        shippers=shippers,
        consignees=consignees,
        forwarders=forwarders,
        fleet=vessels,
        parties=parties,
        party_country=np.concatenate(
            [shippers.country, consignees.country, forwarders.country]
        ).astype("U2"),
        shipper_offset=0,
        consignee_offset=shippers.text.height,
        forwarder_offset=f_off,
        consignee_cumweight=np.cumsum(consignees.weight),
        shippers_by_home=group_offsets(shippers.home, len(world.loc_code)),
        forwarders_by_country=by_country,
        seed=seed,
        watchlist_names=watchlist_names,
    )


def _groups(rng: np.random.Generator, rows: int) -> tuple[IntArray, IntArray, np.ndarray]:
    lcl = rng.random(rows) < LCL_GROUP_SHARE
    sizes = np.where(lcl, rng.integers(2, 7, rows), _choice(rng, FCL_SIZES, rows))
    ends = np.cumsum(sizes)
    n_groups = int(np.searchsorted(ends, rows)) + 1
    sizes = sizes[:n_groups].copy()
    sizes[-1] -= ends[n_groups - 1] - rows
    group = np.repeat(np.arange(n_groups), sizes)
    return group, sizes, lcl[:n_groups]


def base_draw(
    world: World, uni: Universe, rng: np.random.Generator, *, t: int, day_ordinal: int, rows: int
) -> Draw:
    """Draw one day's clean rows (indices only)."""
    group, sizes, lcl_group = _groups(rng, rows)
    n_groups = len(sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    lead = starts[group]
    is_lcl = lcl_group[group]
    row = np.arange(rows)
    unit = np.where(is_lcl, n_groups + row, group)
    box = np.where(is_lcl, rows + group, row)
    n_units = n_groups + rows

    # consignees: only those already trading on day t, weighted by activity
    pool = uni.consignees
    active = int(np.searchsorted(pool.birth_day, t, side="right"))
    cum = uni.consignee_cumweight
    cons_unit = np.minimum(
        np.searchsorted(cum, rng.random(n_units) * cum[active - 1], "right"), active - 1
    )
    cons = cons_unit[unit]

    # shippers: a consignee's few usual suppliers, sometimes someone else
    n_ship = len(uni.shippers.country)
    j = _choice(rng, (np.arange(5), np.array([0.5, 0.25, 0.12, 0.08, 0.05])), n_units)
    usual = (hash_uniform(uni.seed, cons_unit, j) * n_ship).astype(np.int64)
    other = weighted_choice(rng, uni.shippers.weight, n_units)
    ship_unit = np.where(rng.random(n_units) < 0.9, usual, other)
    shipper = ship_unit[unit]
    pol = uni.shippers.home[shipper[lead]]
    # LCL: the other house bills were consolidated at the same port of loading
    order, start, count = uni.shippers_by_home
    local = order[start[pol] + (rng.random(rows) * count[pol]).astype(np.int64)]
    shipper = np.where(is_lcl & (row != lead), local, shipper)

    pod = np.zeros(rows, dtype=np.int64)
    lead_country = pool.country[cons[lead]]
    for country, ports in words.DISCHARGE_BY_COUNTRY.items():  # ten countries
        mask = lead_country == country
        locations = np.asarray([world.loc_index[c] for c in ports], dtype=np.int64)
        pod[mask] = locations[weighted_choice(rng, np.asarray(list(ports.values())), mask.sum())]
    pod = pod[lead]  # the whole container discharges at one port

    hub1, hub2 = _hubs(world, rng, pol, pod, lead)
    receipt = np.where(rng.random(n_groups)[group] < 0.75, pol, -1)
    ship_country = uni.shippers.country[shipper]
    # origin is mostly the shipper's country; traders re-export the rest (one per bill)
    elsewhere = np.asarray(["CN", "TR", "IN", "DE", "KR"])[rng.integers(0, 5, n_units)][unit]
    origin = np.where(rng.random(n_units)[unit] < 0.92, ship_country, elsewhere)

    # goods: each consignee buys a few usual commodities, sometimes something else
    k = _choice(rng, (np.arange(3), np.array([0.6, 0.3, 0.1])), n_units)
    hs_cum = np.cumsum(world.hs_weight)
    usual_hs = np.searchsorted(
        hs_cum, hash_uniform(uni.seed + 1, cons_unit, k) * hs_cum[-1], "right"
    )
    any_hs = weighted_choice(rng, world.hs_weight, n_units)
    hs = np.minimum(np.where(rng.random(n_units) < 0.85, usual_hs, any_hs), len(world.hs_code) - 1)[
        unit
    ]
    hs = _origin_goods(world, rng, uni.shippers.country[shipper], unit, n_units, hs)

    notify = np.full(rows, -1, dtype=np.int64)
    u_notify = rng.random(n_units)[unit]
    u_forwarder = rng.random(n_units)[unit]  # one notify party per bill
    cons_country = pool.country[cons]
    for country, members in uni.forwarders_by_country.items():
        mask = (cons_country == country) & (u_notify >= 0.55) & (u_notify < 0.95)
        notify[mask] = members[(u_forwarder[mask] * len(members)).astype(np.int64)]
    notify = np.where(u_notify >= 0.98, -3, np.where(u_notify >= 0.95, -2, notify))

    amendments = _choice(rng, AMENDMENTS, n_units)
    return Draw(
        n=rows,
        day_ordinal=day_ordinal,
        day_start_us=(day_ordinal - EPOCH_ORDINAL) * US_PER_DAY,
        group=group,
        group_size=sizes[group],
        is_lcl=is_lcl,
        unit=unit,
        box=box,
        shipper=shipper + uni.shipper_offset,
        consignee=cons + uni.consignee_offset,
        consignee_pool_index=cons,
        notify=notify,
        port_of_loading=pol,
        port_of_discharge=pod,
        place_of_receipt=receipt,
        place_of_delivery=pool.home[cons],
        hub1=hub1,
        hub2=hub2,
        origin_country=origin,
        hs=hs,
        vessel=weighted_choice(rng, uni.fleet.weight, n_groups)[group],
        forced_iso=np.full(rows, -1, dtype=np.int64),
        bl_to_order=(rng.random(n_units) < 0.07)[unit],
        freight_collect=(rng.random(n_units) < 0.30)[unit],
        freight_payment=_choice(rng, FREIGHT_PAYMENT_MIX, n_units)[unit],
        amendments=amendments[unit],
        late_amendment=((amendments > 0) & (rng.random(n_units) < 0.04))[unit],
        vague=(rng.random(n_units) < 0.012)[unit],
        is_empty=(~is_lcl) & (rng.random(n_groups) < 0.004)[group],
        dg_override=np.full(rows, -1, dtype=np.int64),
        description_override=np.full(rows, -1, dtype=np.int64),
        u_container=rng.random(rows),
        typology=np.full(rows, -1, dtype=np.int64),
    )


def _origin_goods(
    world: World,
    rng: np.random.Generator,
    country: np.ndarray,
    unit: IntArray,
    n_units: int,
    hs: IntArray,
) -> IntArray:
    """Exporters in a few origin countries mostly ship their country's staple exports."""
    u_share = rng.random(n_units)[unit]  # per bill, so a bill's containers agree
    u_pick = rng.random(n_units)[unit]
    out = hs.copy()
    for country_code, goods in words.ORIGIN_GOODS.items():  # a handful of countries
        mask = (country == country_code) & (u_share < words.ORIGIN_GOODS_SHARE)
        codes = np.asarray([world.hs_index[h] for h in goods], dtype=np.int64)
        cum = np.cumsum(list(goods.values()))
        pick = np.minimum(
            np.searchsorted(cum / cum[-1], u_pick[mask], side="right"), len(codes) - 1
        )
        out[mask] = codes[pick]
    return out


def pick_by_location(
    rng: np.random.Generator, world: World, at: IntArray, options_of: Callable[[str], list[str]]
) -> IntArray:
    """For each row, a uniform pick among the locations ``options_of(code of at[row])``.

    The option lists are built once per distinct location of the day, not per row.
    """
    distinct, inverse = np.unique(at, return_inverse=True)
    flat: list[int] = []
    start = np.zeros(len(distinct), dtype=np.int64)
    count = np.zeros(len(distinct), dtype=np.int64)
    for i, code in enumerate(world.loc_code[distinct].tolist()):
        options = options_of(code)
        start[i], count[i] = len(flat), len(options)
        flat.extend(world.loc_index[o] for o in options)
    u = rng.random(len(at))
    pick = start[inverse] + np.minimum((u * count[inverse]).astype(np.int64), count[inverse] - 1)
    return np.asarray(flat, dtype=np.int64)[pick]


def _hubs(
    world: World, rng: np.random.Generator, pol: IntArray, pod: IntArray, lead: IntArray
) -> tuple[IntArray, IntArray]:
    rows = len(pol)

    def near_origin(code: str) -> list[str]:
        return words.ORIGIN_HUBS.get(world.country_subregion.get(code[:2], ""), ["SGSIN"])

    def near_destination(code: str) -> list[str]:
        return words.DESTINATION_HUBS[words.DISCHARGE_SEA.get(code, "black")]

    first = pick_by_location(rng, world, pol, near_origin)
    second = pick_by_location(rng, world, pod, near_destination)
    first = np.where(rng.random(rows) < 0.45, first, -1)[lead]
    second = np.where(rng.random(rows) < 0.50, second, -1)[lead]
    first = np.where((first == pol) | (first == pod), -1, first)
    second = np.where((second == pol) | (second == pod) | (second == first), -1, second)
    return first, second


def derive(world: World, uni: Universe, draw: Draw, rng: np.random.Generator) -> None:
    """Equipment, cargo, values, times and document numbers from the drawn indices."""
    n, rows = draw.n, np.arange(draw.n)
    lead = np.searchsorted(draw.group, draw.group, side="left")
    box_src = np.where(draw.is_lcl, lead, rows)  # LCL rows share their container's draws
    profile = world.hs_profile[draw.hs]
    # equipment, one draw per physical container
    iso = np.zeros(n, dtype=np.int64)
    for p, name in enumerate(PROFILES):
        codes, weights, _ = words.EQUIPMENT[name]
        mask = profile == p
        choice = weighted_choice(rng, np.asarray(weights), int(mask.sum()))
        iso[mask] = np.asarray([ISO_TYPES.index(c) for c in codes])[choice]
    general = np.where(draw.u_container < 0.6, ISO_TYPES.index("45G1"), ISO_TYPES.index("42G1"))
    iso = np.where(draw.is_lcl, general, iso)[box_src]
    iso = np.where(draw.forced_iso >= 0, draw.forced_iso, iso)
    is_20 = np.asarray([code[0] == "2" for code in ISO_TYPES])[iso]

    median = np.asarray([words.EQUIPMENT[p][2] for p in PROFILES])[profile]
    median = np.where(is_20 & (median < 15000), median * 0.45, median)
    cargo = median * rng.lognormal(0.0, 0.3, n)
    cargo = np.where(draw.is_lcl, np.clip(rng.lognormal(np.log(1500), 0.8, n), 50, 8000), cargo)
    cargo = np.minimum(cargo, np.where(is_20, 26000.0, 28000.0))
    kgpp = world.hs_kg_per_package[draw.hs] * rng.lognormal(0.0, 0.25, n)
    packages = np.maximum(1, np.rint(cargo / kgpp)).astype(np.int64)
    gross = np.round(packages * kgpp, 1)
    usd = gross * world.hs_usd_per_kg[draw.hs] * rng.lognormal(0.0, 0.45, n)

    ship_country = party_countries(uni, draw)[draw.shipper]
    currency = np.zeros(n, dtype=np.int64)  # index into CURRENCIES
    u = rng.random(n)
    for code, where in (
        ("EUR", np.isin(ship_country, list(_EURO)) & (u < 0.7)),
        ("CNY", (ship_country == "CN") & (u < 0.15)),
        ("TRY", (ship_country == "TR") & (u < 0.2)),
        ("AED", (ship_country == "AE") & (u < 0.25)),
        ("GBP", (ship_country == "GB") & (u < 0.6)),
    ):
        currency[where] = CURRENCIES.index(code)
    rate = np.asarray(list(CURRENCY_RATES.values()))[currency]

    tare = np.where(is_20, words.TARE_KG["2"], words.TARE_KG["4"])
    empty = draw.is_empty
    gross = np.where(empty, tare, gross)
    packages = np.where(empty, 0, packages)
    usd = np.where(empty, 0.0, usd)

    # times: filed during the day, sailing a day or two later, arriving after the voyage
    legs = np.where(draw.hub1 >= 0, 1, 0) + np.where(draw.hub2 >= 0, 1, 0)
    a = draw.port_of_loading
    km = np.zeros(n)
    for hub in (draw.hub1, draw.hub2):
        has = hub >= 0
        km = km + np.where(has, great_circle_km(world, a, np.where(has, hub, a)), 0.0)
        a = np.where(has, hub, a)
    km = km + great_circle_km(world, a, draw.port_of_discharge)
    transit_days = km * 1.3 / 650.0 + 2.0 * legs + 1.0
    filed = draw.day_start_us + (rng.integers(0, 24 * 60, n) * 60_000_000)
    depart_group = draw.day_start_us + rng.integers(28 * 4, 60 * 4, n) * 15 * 60_000_000
    departed = depart_group[lead]
    eta = departed + (np.round(transit_days * 24 * 4) * 15 * 60_000_000).astype(np.int64)
    amended = draw.amendments > 0
    minute = 60_000_000
    before = filed + (rng.random(n) * (departed - filed)).astype(np.int64) // minute * minute
    after = departed + rng.integers(60, 72 * 60, n) * 60_000_000
    last_amended = np.where(draw.late_amendment, after, before)

    draw.derived.update(
        iso_type=iso,
        gross=gross,
        packages=packages,
        usd=usd,
        currency=currency,
        rate=rate,
        filed=filed,
        departed=departed,
        eta=eta,
        last_amended=last_amended,
        amended=amended,
        transit_days=transit_days,
    )
    _containers(uni, draw, rng, box_src)


def _containers(uni: Universe, draw: Draw, rng: np.random.Generator, src: IntArray) -> None:
    """Container numbers (unique within the day), seals and bill of lading numbers."""
    n = draw.n
    carriers = uni.fleet.carrier[draw.vessel]
    prefixes = [c[2] for c in words.CARRIERS]
    own_pick = np.asarray([OWNER_CODES.index(p) for ps in prefixes for p in ps])
    offsets = np.cumsum([0] + [len(p) for p in prefixes])
    n_own = np.diff(offsets)[carriers]
    own = own_pick[offsets[carriers] + (draw.u_container * n_own).astype(np.int64)]
    lessors = np.asarray([OWNER_CODES.index(p) for p in words.LESSOR_PREFIXES])
    lessor = lessors[rng.integers(0, len(lessors), n)]
    owner = np.where(rng.random(n) < 0.7, own, lessor)  # index into OWNER_CODES
    # a fleet of boxes that recur now and then; distinct serials within one day
    fleet_size = int(min(999_983, max(5000, draw.n * 30)))
    base = int(rng.integers(0, fleet_size))
    step = 7919 if fleet_size % 7919 else 7907
    k = (base + draw.box * step) % fleet_size
    serial = (k * 104_729 + 12_345) % 1_000_000
    owner, serial = owner[src], serial[src]
    check = iso6346_check_digits(np.asarray(OWNER_CODES)[owner], serial)
    wrong = (rng.random(n) < 0.005)[src]
    check = np.where(wrong, (check + rng.integers(1, 10, n)[src]) % 10, check)
    seal1 = rng.integers(1_000_000, 9_999_999, n)[src]
    seal2 = np.where(rng.random(n) < 0.12, rng.integers(100_000, 999_999, n), -1)[src]
    bl_body = ((draw.day_ordinal * 1_000_000 + draw.group) * 7_654_321 + 12_345) % 10**10
    house_body = ((draw.day_ordinal * 10_000_000 + draw.unit) * 3_456_787 + 777) % 10**8
    has_house = draw.is_lcl | (hash_uniform(uni.seed + 2, draw.day_ordinal, draw.unit) < 0.2)
    draw.derived.update(
        owner=owner,
        serial=serial,
        check=check,
        check_wrong=wrong,
        carrier=carriers,
        seal1=seal1,
        seal2=seal2,
        bl_body=bl_body,
        house_body=house_body,
        has_house=has_house,
    )
