"""Party pools of the demo generator: shippers, consignees, notify forwarders, vessels.

Names and addresses are composed from the word lists in ``_words`` (``data/``) with per-country
legal forms and streets, all with numpy gathers and polars string expressions (no per-party
Python loop). A pool is a polars frame of text columns plus numpy arrays of traits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from engine.generate import _words as words
from engine.generate._codes import FloatArray, IntArray, imo_numbers, weighted_choice
from engine.generate._world import World

StrArray = npt.NDArray[np.str_]

_CHINESE = {"CN", "HK", "TW"}
_CENTRAL = {"UZ", "KZ", "KG", "TJ", "TM", "AZ", "GE", "TR", "AF", "PK", "IR", "RU", "UA"}
_PREFIX_FORM = {"UZ", "KZ", "KG", "TJ", "RU", "AZ", "UA"}  # TOO "ALTYN ORDA" style


@dataclass(frozen=True)
class Pool:
    """A pool of parties: ``text`` holds name/address/country/id columns, by party index."""

    text: pl.DataFrame
    country: StrArray
    home: IntArray  # location index (port of loading for shippers, place of delivery else)
    weight: FloatArray
    birth_day: IntArray  # first day the party may trade (0 = before the timeline)


@dataclass(frozen=True)
class Fleet:
    """Carriers' vessels: name, IMO number, SCAC, container owner prefixes."""

    name: StrArray
    imo: StrArray
    carrier: IntArray  # index into words.CARRIERS
    weight: FloatArray


def keyed_index(
    u: FloatArray, keys: StrArray, table: dict[str, list[str]], default: list[str]
) -> tuple[IntArray, list[str]]:
    """For each row, a uniform pick (by ``u``) from ``table[key]`` (``default`` if absent),
    as an index into the returned flat option list."""
    if keys.dtype.kind == "U" and keys.dtype.itemsize == 8:
        # two-letter codes: sort them as integers, far faster than as strings
        codes, inverse = np.unique(np.ascontiguousarray(keys).view(np.uint64), return_inverse=True)
        uniq = codes.view(keys.dtype)
    else:
        uniq, inverse = np.unique(keys, return_inverse=True)
    flat: list[str] = []
    start = np.zeros(len(uniq), dtype=np.int64)
    count = np.zeros(len(uniq), dtype=np.int64)
    for i, key in enumerate(uniq.tolist()):  # one pass over distinct keys, not rows
        options = table.get(key, default)
        start[i], count[i] = len(flat), len(options)
        flat.extend(options)
    idx = start[inverse] + np.minimum((u * count[inverse]).astype(np.int64), count[inverse] - 1)
    return idx, flat


def pick_keyed(
    u: FloatArray, keys: StrArray, table: dict[str, list[str]], default: list[str]
) -> StrArray:
    """Like :func:`keyed_index`, returning the picked strings."""
    idx, flat = keyed_index(u, keys, table, default)
    return np.asarray(flat)[idx]


def text(options: list[str], idx: IntArray) -> pl.Series:
    """Gather strings by index (much faster than building a Series from numpy strings)."""
    return pl.Series(options, dtype=pl.String).gather(idx)


def group_offsets(keys: IntArray, n_keys: int) -> tuple[IntArray, IntArray, IntArray]:
    """Members grouped by key: (member order, start per key, count per key)."""
    order = np.argsort(keys, kind="stable")
    count = np.bincount(keys, minlength=n_keys).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    return order.astype(np.int64), start, count


def _idx(rng: np.random.Generator, options: list[str], n: int) -> IntArray:
    return rng.integers(0, len(options), n)


DISTINGUISHERS: list[str] = [
    "PLUS",
    "INVEST",
    "PRO",
    "TRADE",
    "LINE",
    "SERVICE",
    "PARTNERS",
    "EXPORT",
    "ASIA",
    "EURO",
    "NOVA",
    "INTER",
    "TRANS",
    "SYSTEMS",
    "RESOURCES",
    "VENTURES",
    "DEVELOPMENT",
    "CAPITAL",
]


def unique_names(names: pl.Expr) -> pl.Expr:
    """Two parties must never share a name: number the later namesakes (last resort)."""
    seen = names.cum_count().over(names)
    return pl.when(seen > 1).then(pl.format("{} {}", names, seen)).otherwise(names)


_LATIN = {"BR", "AR", "UY", "CL", "EC", "CO", "PE", "PA", "CR", "MX"}
# stems in one flat list; central-Asian then generic are adjacent so stem2 can span both
_STEMS = words.STEMS_CHINESE + words.STEMS_LATIN + words.STEMS_CENTRAL_ASIA + words.STEMS_GENERIC
_STEM_START = np.cumsum(
    [0, len(words.STEMS_CHINESE), len(words.STEMS_LATIN), len(words.STEMS_CENTRAL_ASIA)]
)
_STEM_COUNT = np.asarray(
    [
        len(words.STEMS_CHINESE),
        len(words.STEMS_LATIN),
        len(words.STEMS_CENTRAL_ASIA),
        len(words.STEMS_GENERIC),
    ]
)


def compose_names(rng: np.random.Generator, countries: StrArray, cities: pl.Series) -> pl.Series:
    """Company names in the style of each country (stems, industry word, legal form)."""
    n = len(countries)
    chinese = np.isin(countries, list(_CHINESE))
    central = np.isin(countries, list(_CENTRAL))
    style = np.where(
        chinese, 0, np.where(np.isin(countries, list(_LATIN)), 1, np.where(central, 2, 3))
    )
    stem1 = _STEM_START[style] + (rng.random(n) * _STEM_COUNT[style]).astype(np.int64)
    span = np.where(central, _STEM_COUNT[2] + _STEM_COUNT[3], _STEM_COUNT[3])
    stem2 = np.where(central, _STEM_START[2], _STEM_START[3]) + (rng.random(n) * span).astype(
        np.int64
    )
    form, forms = keyed_index(
        rng.random(n), countries, words.LEGAL_FORMS, words.DEFAULT_LEGAL_FORMS
    )
    frame = pl.DataFrame(
        {
            "s1": text(_STEMS, stem1),
            "s2": text(_STEMS, stem2),
            "ind": text(words.INDUSTRY_WORDS, _idx(rng, words.INDUSTRY_WORDS, n)),
            "form": text(forms, form),
            "city": cities,
            "pattern": rng.random(n),
            "cn": chinese,
            "prefix": np.isin(countries, list(_PREFIX_FORM)) & (rng.random(n) < 0.5),
        }
    )
    core = (
        pl.when("cn")
        .then(pl.format("{} {} {}", "city", "s1", "ind"))
        .when(pl.col("pattern") < 0.35)
        .then(pl.format("{} {}", "s1", "ind"))
        .when(pl.col("pattern") < 0.65)
        .then(pl.format("{} {}", "s1", "s2"))
        .when(pl.col("pattern") < 0.9)
        .then(pl.format("{} {} {}", "s1", "s2", "ind"))
        .otherwise(pl.col("s1"))
    )

    def named(core: pl.Expr) -> pl.Expr:
        return (
            pl.when("prefix")
            .then(pl.format('{} "{}"', "form", core))
            .otherwise(pl.format("{} {}", core, "form"))
        )

    # a namesake of an earlier party gets a distinguishing word, as real traders do
    frame = frame.with_columns(
        extra=text(DISTINGUISHERS, _idx(rng, DISTINGUISHERS, n)), name=named(core)
    )
    seen = pl.col("name").cum_count().over("name")
    frame = frame.with_columns(
        name=pl.when(seen > 1)
        .then(named(pl.format("{} {}", core, "extra")))
        .otherwise(pl.col("name"))
    )
    return frame.select(unique_names(pl.col("name")))["name"]


def compose_addresses(
    rng: np.random.Generator,
    countries: StrArray,
    cities: pl.Series,
    country_names: pl.Series,
    po_box_share: FloatArray,
) -> pl.Series:
    """Street addresses (or P.O. boxes, with probability ``po_box_share``)."""
    n = len(countries)
    street, streets = keyed_index(
        rng.random(n), countries, words.STREETS_BY_COUNTRY, words.STREETS_GENERIC
    )
    frame = pl.DataFrame(
        {
            "street": text(streets, street),
            "num": rng.integers(1, 250, n),
            "box": rng.integers(1000, 99999, n),
            "city": cities,
            "country": country_names,
            "po": rng.random(n) < po_box_share,
            "cn": np.isin(countries, list(_CHINESE)),
        }
    )
    return frame.select(
        pl.when(pl.col("po"))
        .then(pl.format("P.O. BOX {}, {}, {}", "box", "city", "country"))
        .when(pl.col("cn"))
        .then(pl.format("NO. {} {}, {}, {}", "num", "street", "city", "country"))
        .otherwise(pl.format("{} {}, {}, {}", "street", "num", "city", "country"))
        .alias("address")
    )["address"]


def compose_ids(
    rng: np.random.Generator, countries: StrArray, country_codes: pl.Series, missing_share: float
) -> pl.Series:
    """Trader identifiers: country prefix and digits (9 for UZ, 12 for KZ, else 10)."""
    n = len(countries)
    digits = np.where(countries == "UZ", 9, np.where(countries == "KZ", 12, 10))
    frame = pl.DataFrame(
        {
            "c": country_codes,
            "body": rng.integers(0, 10**12, n),
            "d": digits,
            "miss": rng.random(n) < missing_share,
        }
    )
    return frame.select(
        pl.when(pl.col("miss"))
        .then(None)
        .otherwise(
            pl.col("c")
            + pl.col("body").cast(pl.String).str.zfill(12).str.slice(pl.lit(12) - pl.col("d"))
        )
        .alias("id")
    )["id"]


def _pool(
    rng: np.random.Generator,
    world: World,
    home: IntArray,
    weight: FloatArray,
    birth: IntArray,
    po_box_share: float,
    id_missing: float,
) -> Pool:
    country = world.loc_country[home]
    city = world.text["loc_city"].gather(home)
    country_code = world.text["loc_country"].gather(home)
    po = np.where(country == "AE", 0.4, po_box_share)  # UAE traders commonly use P.O. boxes
    frame = pl.DataFrame(
        {
            "name": compose_names(rng, country, city),
            "address": compose_addresses(
                rng, country, city, world.text["loc_country_name"].gather(home), po
            ),
            "country": country_code,
            "id": compose_ids(rng, country, country_code, id_missing),
        }
    )
    return Pool(text=frame, country=country, home=home, weight=weight, birth_day=birth)


def shipper_pool(rng: np.random.Generator, world: World, size: int) -> Pool:
    """Shippers at loading ports: a few at every curated port, the rest by traffic weight."""
    guaranteed = [
        world.loc_index[c]
        for c in {**words.LOADING_PORTS, **words.COCAINE_SOURCE_PORTS, **words.PRECURSOR_PORTS}
    ]
    fixed = np.repeat(np.asarray(sorted(guaranteed), dtype=np.int64), 2)
    rest = weighted_choice(rng, world.loading_weights, max(size - len(fixed), 0))
    home = np.concatenate([fixed, rest])
    n = len(home)
    return _pool(
        rng,
        world,
        home,
        rng.lognormal(0.0, 1.0, n),
        np.zeros(n, dtype=np.int64),
        po_box_share=0.01,
        id_missing=0.4,
    )


def delivery_choice(rng: np.random.Generator, world: World, countries: StrArray) -> IntArray:
    """Place of delivery (location index) for consignees of the given countries."""
    out = np.zeros(len(countries), dtype=np.int64)
    u = rng.random(len(countries))
    for country, places in words.DELIVERY_PLACES.items():  # a handful of countries
        mask = countries == country
        cum = np.cumsum([p[2] for p in places])
        pick = np.minimum(np.searchsorted(cum / cum[-1], u[mask], side="right"), len(places) - 1)
        out[mask] = np.asarray([world.loc_index[p[0]] for p in places])[pick]
    return out


def consignee_pool(
    rng: np.random.Generator, world: World, base: int, new_per_day: float, days: int
) -> Pool:
    """Consignees: ``base`` established traders plus ``new_per_day`` newcomers each day."""
    n_new = int(np.ceil(new_per_day * days))
    n = base + n_new
    country_keys = list(words.CONSIGNEE_COUNTRIES)
    country = np.asarray(country_keys)[
        weighted_choice(rng, np.asarray(list(words.CONSIGNEE_COUNTRIES.values())), n)
    ]
    birth = np.concatenate(
        [np.zeros(base, dtype=np.int64), (np.arange(n_new) / new_per_day).astype(np.int64)]
    )
    home = delivery_choice(rng, world, country)
    # heavy-tailed activity: a few big importers, many occasional ones
    weight = rng.lognormal(0.0, 1.5, n)
    return _pool(rng, world, home, weight, birth, po_box_share=0.01, id_missing=0.05)


def forwarder_pool(rng: np.random.Generator, world: World, size: int) -> Pool:
    """Freight forwarders in the consignee countries, used as notify parties."""
    country_keys = list(words.CONSIGNEE_COUNTRIES)
    per = max(size // len(country_keys), 2)
    country = np.repeat(np.asarray(country_keys), per)
    home = delivery_choice(rng, world, country)
    n = len(country)
    pool = _pool(rng, world, home, np.ones(n), np.zeros(n, dtype=np.int64), 0.01, 0.3)
    form, forms = keyed_index(rng.random(n), country, words.LEGAL_FORMS, words.DEFAULT_LEGAL_FORMS)
    names = (
        pl.DataFrame(
            {
                "s": text(words.STEMS_CENTRAL_ASIA, _idx(rng, words.STEMS_CENTRAL_ASIA, n)),
                "k": text(words.FORWARDER_STEMS, _idx(rng, words.FORWARDER_STEMS, n)),
                "f": text(forms, form),
            }
        )
        .select(pl.format("{} {} {}", "s", "k", "f").alias("name"))
        .select(unique_names(pl.col("name")))["name"]
    )
    return Pool(
        text=pool.text.with_columns(names),
        country=country,
        home=home,
        weight=pool.weight,
        birth_day=pool.birth_day,
    )


def fleet(rng: np.random.Generator, size: int) -> Fleet:
    """Vessels of the carriers, named in each carrier's style, with valid IMO numbers."""
    shares = np.asarray([c[3] for c in words.CARRIERS])
    carrier = weighted_choice(rng, shares, size)
    prefix = np.asarray([c[1] for c in words.CARRIERS])[carrier]
    word = np.asarray(words.VESSEL_WORDS)[_idx(rng, words.VESSEL_WORDS, size)]
    names = (
        pl.DataFrame({"p": prefix, "w": word})
        .select(pl.format("{} {}", "p", "w").alias("name"))
        .select(unique_names(pl.col("name")))["name"]
        .to_numpy()
        .astype(str)
    )
    bodies = 900000 + rng.choice(100000, size=size, replace=False)
    imo = imo_numbers(bodies).astype(str)
    return Fleet(name=names, imo=imo, carrier=carrier, weight=rng.lognormal(0.0, 0.7, size))
