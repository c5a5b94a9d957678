"""The fixed "world" of the demo generator: ports, goods and their weights, from the
shipped reference tables (engine/reference_data) and the curated lists in ``_words``.

Locations are one table (seaports, then the inland places of delivery) and every record
refers to them by integer index until the final assembly; the same holds for HS codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl

from engine.errors import Location, ReferenceDataError
from engine.generate import _words as words
from engine.generate._codes import FloatArray, IntArray

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference_data"
PROFILES: tuple[str, ...] = tuple(words.EQUIPMENT)


@dataclass(frozen=True)
class World:
    """Reference tables as arrays, indexed by location / HS row / country number."""

    # locations: seaports first, then inland places of delivery
    loc_code: np.ndarray
    loc_country: np.ndarray  # alpha-2
    loc_city: np.ndarray  # upper-case name for addresses
    loc_lat: FloatArray
    loc_lon: FloatArray
    n_seaports: int
    loc_index: dict[str, int]
    loading_weights: FloatArray  # over all locations (zero for inland places)
    # HS 2022 six-digit subheadings
    hs_code: np.ndarray
    hs_text: np.ndarray  # short upper-case goods text
    hs_chapter: np.ndarray
    hs_weight: FloatArray
    hs_kg_per_package: FloatArray
    hs_usd_per_kg: FloatArray
    hs_package_type: np.ndarray
    hs_profile: IntArray  # index into PROFILES
    hs_index: dict[str, int]
    # countries
    country_name: dict[str, str]
    country_subregion: dict[str, str]
    # the same columns as polars Series, to gather text without numpy string conversion
    text: dict[str, pl.Series]


def _read_csv(name: str, **kwargs: object) -> pl.DataFrame:
    path = REFERENCE_DIR / name
    if not path.is_file():
        raise ReferenceDataError(
            "reference table is missing",
            location=Location(file=str(path)),
            hint="reinstall Lookout or restore engine/reference_data",
        )
    return pl.read_csv(path, encoding="utf8-lossy", infer_schema=False, **kwargs)  # type: ignore[arg-type]


def _require(codes: list[str], known: dict[str, int], table: str) -> None:
    missing = [c for c in codes if c not in known]
    if missing:
        raise ReferenceDataError(
            f"demo generator refers to codes absent from {table}: {', '.join(sorted(missing))}",
            location=Location(file=str(REFERENCE_DIR / table)),
            hint="update engine/generate/data/*.json to codes present in the shipped table",
        )


@lru_cache(maxsize=1)
def load_world() -> World:
    """Read the reference tables and attach the demo weights to them (once per process;
    the world is read-only)."""
    ports = (
        _read_csv("unlocode_seaports.csv")
        .select(
            (pl.col("country") + pl.col("location")).alias("code"),
            pl.col("country"),
            pl.col("nameWoDiacritics")
            .str.to_uppercase()
            .str.replace_all(r"\s*\(.*\)", "")
            .str.replace_all(r"[/,].*$", "")
            .alias("city"),
            pl.col("lat").cast(pl.Float64, strict=False),
            pl.col("lon").cast(pl.Float64, strict=False),
        )
        .filter(pl.col("code").str.contains(r"^[A-Z]{2}[A-Z2-9]{3}$"))
        .unique("code", keep="first", maintain_order=True)
    )
    inland = [
        (code, country, city)
        for country, places in words.DELIVERY_PLACES.items()
        for code, city, _ in places
    ]
    seaport_codes = set(ports["code"].to_list())
    extra = [row for row in inland if row[0] not in seaport_codes]
    extra = list(dict.fromkeys(extra))
    locations = pl.concat(
        [
            ports,
            pl.DataFrame(
                {
                    "code": [e[0] for e in extra],
                    "country": [e[1] for e in extra],
                    "city": [e[2] for e in extra],
                    "lat": [None] * len(extra),
                    "lon": [None] * len(extra),
                },
                schema=ports.schema,
            ),
        ]
    )
    loc_code = locations["code"].to_numpy().astype(str)
    loc_index = {code: i for i, code in enumerate(loc_code.tolist())}
    curated = (
        list(words.LOADING_PORTS)
        + list(words.DISCHARGE_SEA)
        + list(words.COCAINE_SOURCE_PORTS)
        + words.COCAINE_HUBS
        + list(words.PRECURSOR_PORTS)
        + [h for hubs in words.DESTINATION_HUBS.values() for h in hubs]
        + [h for hubs in words.ORIGIN_HUBS.values() for h in hubs]
    )
    _require(
        sorted(set(curated)),
        {c: i for i, c in enumerate(ports["code"].to_list())},
        "unlocode_seaports.csv",
    )
    lat = locations["lat"].to_numpy().astype(np.float64)
    lon = locations["lon"].to_numpy().astype(np.float64)
    for code in set(curated):
        if np.isnan(lat[loc_index[code]]):
            raise ReferenceDataError(
                f"seaport {code} has no coordinates",
                location=Location(file="unlocode_seaports.csv"),
                hint="pick a port with coordinates in engine/generate/data/ports.json",
            )

    n_seaports = ports.height
    loading = np.zeros(len(loc_code), dtype=np.float64)
    # long tail: every geocoded seaport shares LONG_TAIL_SHARE of the traffic
    geocoded = ~np.isnan(lat[:n_seaports])
    tail_total = sum(words.LOADING_PORTS.values()) * words.LONG_TAIL_SHARE
    loading[:n_seaports][geocoded] = tail_total / geocoded.sum()
    for code, share in words.LOADING_PORTS.items():
        loading[loc_index[code]] += share
    for code in words.DISCHARGE_SEA:  # the unit's own gateways are not loading ports here
        loading[loc_index[code]] = 0.0

    countries = (
        _read_csv("country-codes.csv")
        .select(
            pl.col("ISO3166-1-Alpha-2").alias("a2"),
            pl.col("CLDR display name").str.to_uppercase().alias("name"),
            pl.col("Sub-region Name").alias("subregion"),
        )
        .filter(pl.col("a2").is_not_null())
    )
    country_name = dict(zip(countries["a2"].to_list(), countries["name"].to_list(), strict=True))
    country_subregion = dict(
        zip(countries["a2"].to_list(), countries["subregion"].fill_null("").to_list(), strict=True)
    )

    hs = (
        _read_csv("hs2022.csv")
        .filter((pl.col("level") == "6") & (pl.col("hscode") != "999999"))
        .select(
            pl.col("hscode").alias("code"),
            pl.col("hscode").str.slice(0, 2).alias("chapter"),
            pl.col("description")
            .str.to_uppercase()
            .str.replace_all(";", ",")
            .str.replace_all(r"\s+", " ")
            .alias("text"),
        )
        .with_columns(
            # shorten long texts at a word boundary, as a shipper would write them
            pl.when(pl.col("text").str.len_chars() > 70)
            .then(pl.col("text").str.slice(0, 71).str.replace(r"[ ,]+[^ ,]*$", ""))
            .otherwise(pl.col("text"))
            .str.strip_chars(" ,")
        )
    )
    hs_index = {code: i for i, code in enumerate(hs["code"].to_list())}
    special = (
        list(words.PRECURSOR_TRUE)
        + list(words.PRECURSOR_COVER)
        + words.COCAINE_COVER_HS
        + [h for goods in words.ORIGIN_GOODS.values() for h in goods]
    )
    _require(special, hs_index, "hs2022.csv")
    chapter = hs["chapter"].to_numpy().astype(str)
    n_in_chapter = hs.group_by("chapter", maintain_order=True).len()
    per_chapter = dict(
        zip(n_in_chapter["chapter"].to_list(), n_in_chapter["len"].to_list(), strict=True)
    )
    weight = np.array(
        [words.CHAPTER_MIX.get(c, 0.0) / per_chapter[c] for c in sorted(per_chapter)],
        dtype=np.float64,
    )
    chapter_order = {c: i for i, c in enumerate(sorted(per_chapter))}
    chapter_idx = np.array([chapter_order[c] for c in chapter.tolist()], dtype=np.int64)
    default = (50.0, 2.0, "PK", "heavy")
    prof = [words.CHAPTER_PROFILE.get(c, default) for c in sorted(per_chapter)]
    kgpp = np.array([p[0] for p in prof])[chapter_idx]
    usd = np.array([p[1] for p in prof])[chapter_idx]
    pkg = np.array([p[2] for p in prof])[chapter_idx]
    profile = np.array([PROFILES.index(p[3]) for p in prof], dtype=np.int64)[chapter_idx]

    loc_country = locations["country"].to_numpy().astype(str)
    text = {
        "loc_code": locations["code"],
        "loc_country": locations["country"],
        "loc_city": locations["city"].fill_null("PORT"),
        "loc_country_name": locations.select(
            pl.col("country").replace_strict(country_name, default=pl.col("country"))
        )["country"],
        "hs_code": hs["code"],
        "hs_text": hs["text"],
        "hs_package_type": pl.Series(pkg.tolist(), dtype=pl.String),
    }
    return World(
        text=text,
        loc_code=loc_code,
        loc_country=loc_country,
        loc_city=locations["city"].fill_null("PORT").to_numpy().astype(str),
        loc_lat=lat,
        loc_lon=lon,
        n_seaports=n_seaports,
        loc_index=loc_index,
        loading_weights=loading,
        hs_code=hs["code"].to_numpy().astype(str),
        hs_text=hs["text"].to_numpy().astype(str),
        hs_chapter=chapter,
        hs_weight=weight[chapter_idx],
        hs_kg_per_package=kgpp,
        hs_usd_per_kg=usd,
        hs_package_type=pkg,
        hs_profile=profile,
        hs_index=hs_index,
        country_name=country_name,
        country_subregion=country_subregion,
    )


def great_circle_km(world: World, a: IntArray, b: IntArray) -> FloatArray:
    """Distance between two location index arrays; 6,000 km where coordinates are missing."""
    lat1, lon1 = np.radians(world.loc_lat[a]), np.radians(world.loc_lon[a])
    lat2, lon2 = np.radians(world.loc_lat[b]), np.radians(world.loc_lon[b])
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    km = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return np.where(np.isnan(km), 6000.0, km)
