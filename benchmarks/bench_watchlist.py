"""Watchlist screening throughput: the watchlist stage on a batch of N rows.

    .venv/bin/python -m benchmarks.bench_watchlist throughput --rows 1000000   # ~1 min

A batch of N rows with shipper/consignee/notify names drawn from N/4 generated company
names, vessel IMO numbers and names, and container numbers, screened against the shipped
UN list plus a national list of 2,000 vessels and 5,000 containers: the first day (every
name new), the same day again (every name cached), a next day with 5 % new traders, and
that next day with a fresh stage (as a new process: cache read from disk). Wall and CPU time, names
screened vs taken from the cache, peak RSS and the load average. Screening *quality* is
measured by ``benchmarks/probe_screening.py``; ``ordinary_names`` here feeds both.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from engine.watchlist import UN_LIST_PATH, Watchlist, WatchlistStage

_PLACE = [
    "ASIA",
    "EURASIA",
    "SILK ROAD",
    "CASPIAN",
    "TASHKENT",
    "ALMATY",
    "KARACHI",
    "DUBAI",
    "SHENZHEN",
    "NINGBO",
    "ORIENT",
    "PACIFIC",
    "GULF",
    "TURAN",
    "ARAL",
    "BALTIC",
    "ANATOLIA",
    "HINDUSTAN",
    "PAMIR",
    "ISTANBUL",
    "TBILISI",
    "BAKU",
    "ZHEJIANG",
]
_CORE = [
    "GOLDEN",
    "STAR",
    "GLOBAL",
    "UNITED",
    "GREEN",
    "NEW",
    "GRAND",
    "ROYAL",
    "SUNRISE",
    "BRIGHT",
    "SMART",
    "PRIME",
    "AL NOOR",
    "AL AMAL",
    "AL FAJR",
    "AL BARAKA",
    "AL RAYAN",
    "DELTA",
    "ALPHA",
    "NOVA",
    "ATLAS",
    "LOTUS",
    "PEARL",
    "OASIS",
    "ZENITH",
    "CRYSTAL",
    "EAGLE",
    "FALCON",
    "LION",
    "DRAGON",
    "PHOENIX",
    "TIGER",
    "CEDAR",
    "OLIVE",
]
_GIVEN = [
    "MUHAMMAD",
    "AHMED",
    "ALI",
    "HASSAN",
    "KARIM",
    "RAHIM",
    "AZIZ",
    "FARHOD",
    "BAKHTIYOR",
    "NURSULTAN",
    "AIBEK",
    "RUSTAM",
    "ZHANG",
    "WANG",
    "LI",
    "CHEN",
    "MEHMET",
    "GIORGI",
    "IBRAHIM",
    "YUSUF",
    "OMAR",
    "KHALID",
    "ABDUL",
    "SAID",
]
_TRADE = [
    "TRADING",
    "LOGISTICS",
    "IMPORT EXPORT",
    "INDUSTRIES",
    "TEXTILES",
    "FOODSTUFF",
    "ELECTRONICS",
    "AGRO",
    "HOLDING",
    "SHIPPING",
    "TRADERS",
    "ENTERPRISES",
    "GROUP",
    "MACHINERY",
    "CHEMICALS",
    "AUTO PARTS",
    "BUILDING MATERIALS",
    "FRUITS",
    "GENERAL",
]
_LEGAL = ["LLC", "LTD", "CO LTD", "FZE", "JSC", "TOO", "OOO", "GMBH", "SRL", "LIMITED", ""]


def ordinary_names(n: int, rng: random.Random) -> list[str]:
    """Generated company names of the usual manifest shapes."""
    shapes = [
        lambda: f"{rng.choice(_CORE)} {rng.choice(_PLACE)} {rng.choice(_TRADE)}",
        lambda: f"{rng.choice(_PLACE)} {rng.choice(_TRADE)}",
        lambda: f"{rng.choice(_GIVEN)} {rng.choice(_GIVEN)} {rng.choice(_TRADE)}",
        lambda: f"{rng.choice(_CORE)} {rng.choice(_CORE)} {rng.choice(_TRADE)}",
        lambda: f"{rng.choice(_GIVEN)} {rng.choice(_TRADE)} {rng.choice(_PLACE)}",
    ]
    return [f"{rng.choice(shapes)()} {rng.choice(_LEGAL)}".strip() for _ in range(n)]


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _national_list(folder: Path, rng: np.random.Generator) -> Path:
    """A unit's list beside the UN one: 2,000 vessels (IMO and name) and 5,000 containers."""
    from engine.generate._codes import imo_numbers

    imo = imo_numbers(rng.choice(np.arange(100_000, 1_000_000), 2_000, replace=False))
    boxes = [f"MSCU{n:07d}" for n in rng.choice(10**7, 5_000, replace=False)]
    rows = ["kind,name,imo,container_number,list,reference"]
    rows += [f"vessel,LISTED VESSEL {i},{n},,National,V{i}" for i, n in enumerate(imo)]
    rows += [f"container,,,{b},PCU alerts,C{i}" for i, b in enumerate(boxes)]
    path = folder / "national.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _batch(rows: int, names: pl.Series, np_rng: np.random.Generator) -> pl.DataFrame:
    def column() -> pl.Series:
        return names.gather(np_rng.integers(0, names.len(), rows))

    return pl.DataFrame(
        {
            "shipper_name": column(),
            "consignee_name": column(),
            "notify_name": column(),
            "vessel_imo": pl.Series(np_rng.integers(9_000_000, 9_999_999, rows)).cast(pl.String),
            "vessel_name": pl.Series(np_rng.integers(0, 5_000, rows)),
            "container_number": pl.Series(np_rng.integers(0, 10**7, rows)).cast(pl.String),
        }
    ).with_columns(
        pl.concat_str(pl.lit("MSCU"), pl.col("container_number").str.zfill(7)).alias(
            "container_number"
        ),
        # one vessel name in a hundred is a listed one (under another IMO number)
        pl.when(pl.col("vessel_name") < 50)
        .then(pl.format("LISTED VESSEL {}", "vessel_name"))
        .otherwise(pl.format("OCEAN {}", "vessel_name"))
        .alias("vessel_name"),
    )


def _timed(stage: WatchlistStage, frame: pl.DataFrame) -> dict[str, float]:
    before = (stage.cache.misses, stage.cache.hits)
    t0, c0 = time.perf_counter(), _cpu_s()
    out = stage.apply(frame)
    wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 1),
        "rows_per_s": round(frame.height / wall),
        "names_screened": stage.cache.misses - before[0],
        "names_from_cache": stage.cache.hits - before[1],
        "party_hits": int((out["watchlist_party_score"] >= stage.threshold).sum()),
        "vessel_hits": int((out["watchlist_vessel_hit"] | out["watchlist_vessel_name_hit"]).sum()),
        "container_hits": int(out["watchlist_container_hit"].sum()),
    }


def throughput(rows: int, *, seed: int = 1, new_share: float = 0.05) -> dict[str, object]:
    """Screen ``rows`` rows (three party columns, vessel IMO and name, container) against
    the UN list and a national list: a first day (every name new to the cache), the same
    day again (every name cached), and a next day where ``new_share`` of the distinct
    names are new traders."""
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    pool = pl.Series(ordinary_names(max(1, rows // 4), rng)).unique(maintain_order=True)
    fresh = pl.Series(ordinary_names(max(1, int(pool.len() * new_share)), random.Random(seed + 1)))
    next_day = pl.concat([pool.head(pool.len() - fresh.len()), fresh + " NEW"])
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        watchlist = Watchlist.load([UN_LIST_PATH, _national_list(Path(tmp), np_rng)])
        stage = WatchlistStage(watchlist, cache_dir=Path(tmp) / "cache")
        t_load = time.perf_counter() - t0
        day = _batch(rows, pool, np_rng)
        result: dict[str, object] = {
            "rows": rows,
            "distinct_names": pl.concat([day[c] for c in day.columns[:3]]).n_unique(),
            "list_names": stage.index.names.height,
            "load_and_compile_s": round(t_load, 2),
            "first_day": _timed(stage, day),
            "same_day_again": _timed(stage, day),
        }
        result["next_day"] = _timed(stage, _batch(rows, next_day, np_rng))
        restarted = WatchlistStage(watchlist, cache_dir=Path(tmp) / "cache")
        result["next_day_fresh_stage"] = _timed(restarted, _batch(rows, next_day, np_rng))
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["throughput"])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    print(json.dumps(throughput(args.rows), indent=1))


if __name__ == "__main__":
    main()
