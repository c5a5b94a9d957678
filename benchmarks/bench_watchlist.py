"""Watchlist screening: quality (recall / false positives) and throughput.

    .venv/bin/python -m benchmarks.bench_watchlist quality            # ~10 s
    .venv/bin/python -m benchmarks.bench_watchlist throughput --rows 1000000

Quality: list names from the shipped UN SC list are perturbed (a typo, shuffled word order,
legal suffix dropped or added, extra words) and planted among generated ordinary company
names of the kind seen on Central Asian / Middle Eastern / Chinese trade manifests (with
common given names and "AL ..." names, which are the hard case for false positives).
Recall = planted rows scored at or above the threshold; false-positive rate = ordinary rows
scored at or above it. Throughput: a batch of N rows with shipper/consignee/notify names
(distinct names ≈ N/4) screened against the whole UN list, wall time and peak RSS.
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.watchlist import DEFAULT_THRESHOLD, Watchlist, WatchlistStage

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
_EXTRA = [
    "TRADING",
    "GENERAL TRADING",
    "IMPORT EXPORT",
    "GROUP",
    "INTERNATIONAL",
    "HOLDING",
    "LOGISTICS",
    "BRANCH",
    "FOR COMMERCE",
]


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


def _typo(name: str, rng: random.Random) -> str:
    words = name.split()
    long = [i for i, w in enumerate(words) if len(w) >= 5]
    if not long:
        return name
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    op = rng.choice(["sub", "del", "ins", "swap"])
    letter = rng.choice("ABCDEFGHIKLMNOPRSTUVYZ")
    words[i] = {
        "sub": w[:j] + letter + w[j + 1 :],
        "del": w[:j] + w[j + 1 :],
        "ins": w[:j] + letter + w[j:],
        "swap": w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :],
    }[op]
    return " ".join(words)


def perturb(name: str, kind: str, rng: random.Random) -> str:
    """One perturbation of a list name: typo, order, suffix or extra words."""
    words = name.split()
    if kind == "typo":
        return _typo(name, rng)
    if kind == "order":
        rng.shuffle(words)
        return " ".join(words)
    if kind == "suffix":
        legal = {"LTD", "LIMITED", "CO", "CO.", "COMPANY", "LLC", "INC", "CORPORATION"}
        kept = [w for w in words if w.upper().strip(".,") not in legal]
        return " ".join(kept) if len(kept) < len(words) else f"{name} {rng.choice(_LEGAL[:6])}"
    if kind == "extra":
        return f"{name} {rng.choice(_EXTRA)}"
    raise ValueError(kind)


KINDS: tuple[str, ...] = ("typo", "order", "suffix", "extra")


@dataclass(frozen=True)
class Quality:
    threshold: float
    planted: int
    recall: float
    recall_by_kind: dict[str, float]
    correct_entry: float
    ordinary: int
    false_positive_rate: float
    ordinary_reported_rate: float
    false_positives: list[tuple[str, str]]


def quality(
    watchlist: Watchlist,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    n_ordinary: int = 5000,
    n_planted: int = 600,
    seed: int = 20240926,
) -> Quality:
    """Plant perturbed list names among ordinary names; measure recall and FP rate."""
    rng = random.Random(seed)
    primary = watchlist.parties.unique("entry", maintain_order=True).select("entry", "name")
    picks = primary.sample(n=min(n_planted, primary.height), seed=seed, shuffle=True)
    kinds = [KINDS[i % len(KINDS)] for i in range(picks.height)]
    planted = [perturb(n, k, rng) for n, k in zip(picks["name"], kinds, strict=True)]
    ordinary = ordinary_names(n_ordinary, rng)
    frame = pl.DataFrame(
        {
            "shipper_name": planted + ordinary,
            "truth": picks["entry"].to_list() + [None] * len(ordinary),
            "kind": kinds + ["ordinary"] * len(ordinary),
        }
    )
    out = WatchlistStage(watchlist, threshold=threshold).apply(frame)
    hit = out["watchlist_party_score"] >= threshold
    is_planted = out["truth"].is_not_null()
    by_kind = {k: float(hit.filter(out["kind"] == k).mean() or 0.0) for k in KINDS}
    correct = (out["watchlist_entry"] == out["truth"]).fill_null(False)
    fps = out.filter(hit & ~is_planted).select("shipper_name", "watchlist_entry")
    return Quality(
        threshold=threshold,
        planted=int(is_planted.sum()),
        recall=float(hit.filter(is_planted).mean() or 0.0),
        recall_by_kind=by_kind,
        correct_entry=float(correct.filter(is_planted).mean() or 0.0),
        ordinary=len(ordinary),
        false_positive_rate=float(hit.filter(~is_planted).mean() or 0.0),
        ordinary_reported_rate=float(
            (out["watchlist_party_score"] > 0).filter(~is_planted).mean() or 0.0
        ),
        false_positives=[tuple(r) for r in fps.rows()][:20],  # type: ignore[misc]
    )


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def throughput(rows: int, *, seed: int = 1) -> dict[str, float]:
    """Screen ``rows`` rows (three party columns, vessel, container) against the UN list."""
    rng = random.Random(seed)
    distinct = ordinary_names(max(1, rows // 4), rng)
    np_rng = np.random.default_rng(seed)
    pool = pl.Series(distinct)

    def column() -> pl.Series:
        return pool.gather(np_rng.integers(0, len(distinct), rows))

    frame = pl.DataFrame(
        {
            "shipper_name": column(),
            "consignee_name": column(),
            "notify_name": column(),
            "vessel_imo": pl.Series(np_rng.integers(9_000_000, 9_999_999, rows)).cast(pl.String),
            "container_number": pl.Series(np_rng.integers(0, 10**7, rows)).cast(pl.String),
        }
    ).with_columns(
        pl.concat_str(pl.lit("MSCU"), pl.col("container_number").str.zfill(7)).alias(
            "container_number"
        )
    )
    t0 = time.perf_counter()
    watchlist = Watchlist.load_default()
    t_load = time.perf_counter() - t0
    stage = WatchlistStage(watchlist)
    t1, c1 = time.perf_counter(), _cpu_s()
    out = stage.apply(frame)
    t_apply, c_apply = time.perf_counter() - t1, _cpu_s() - c1
    distinct_names = pl.concat(
        [frame["shipper_name"], frame["consignee_name"], frame["notify_name"]]
    ).n_unique()
    return {
        "rows": rows,
        "distinct_names": distinct_names,
        "list_names": stage._names.height,
        "load_s": round(t_load, 2),
        "apply_s": round(t_apply, 2),
        "apply_cpu_s": round(c_apply, 1),
        "rows_per_s": round(rows / t_apply),
        "hits": int((out["watchlist_party_score"] >= stage.threshold).sum()),
        "reported_below_threshold": int(
            (
                (out["watchlist_party_score"] > 0)
                & (out["watchlist_party_score"] < stage.threshold)
            ).sum()
        ),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["quality", "throughput"])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--threshold", type=float, nargs="*", default=[DEFAULT_THRESHOLD])
    args = parser.parse_args()
    if args.what == "quality":
        watchlist = Watchlist.load_default()
        for threshold in args.threshold:
            q = quality(watchlist, threshold=threshold)
            print(
                f"threshold {q.threshold:g}: recall {q.recall:.3f} "
                f"({', '.join(f'{k} {v:.3f}' for k, v in q.recall_by_kind.items())}), "
                f"correct entry {q.correct_entry:.3f}, "
                f"FPR {q.false_positive_rate:.4f} on {q.ordinary} ordinary names "
                f"({q.ordinary_reported_rate:.4f} reported at or above the floor)"
            )
            for name, entry in q.false_positives[:5]:
                print(f"   FP: {name!r} -> {entry}")
    else:
        print(throughput(args.rows))


if __name__ == "__main__":
    main()
