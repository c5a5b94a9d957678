"""History features at scale: a 1M-row batch against a 10M-row history store.

    .venv/bin/python -m benchmarks.bench_history build --store /tmp/lookout-history \
        --history-rows 10000000
    .venv/bin/python -m benchmarks.bench_history features --store /tmp/lookout-history \
        --batch-rows 1000000
    .venv/bin/python -m benchmarks.bench_history resolve      # fuzzy party-key resolution

``build`` generates synthetic canonical manifests (vectorised numpy; three years of filings,
skewed party activity, ~3% inspected with ~20% positive) and appends them to a store in
1M-row batches. ``features`` runs in a fresh process so its peak RSS is the feature
computation's own: it scores a batch filed the day after the history ends. The store is
built with exact party keys; ``resolve`` measures the near-duplicate resolution separately.
The compiled kernel the stage shares with ingest and validation is loaded before the timed
region (a run has loaded it by then); ``kernels_load_s`` says what that took.
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from engine.history import HistoryFeatures, HistoryStore
from engine.parties import resolve_near_duplicates
from engine.reference import distinct_codes

START = datetime(2023, 1, 1, tzinfo=UTC)
SPAN_DAYS = 3 * 365
N_CONSIGNEES = 200_000
N_SHIPPERS = 100_000
N_CONTAINERS = 2_000_000
PORTS = [
    "CNSHA",
    "CNNGB",
    "ECGYE",
    "COBUN",
    "PAONX",
    "AEJEA",
    "TRMER",
    "INNSA",
    "PKKHI",
    "NLRTM",
    "DEHAM",
    "BEANR",
    "GEPTI",
    "GEBUS",
    "AZBAK",
    "KZAKT",
]
HS = [f"{c:02d}" for c in range(1, 98) if c != 77]
_SYLLABLES = [
    "AL",
    "BA",
    "KA",
    "RO",
    "ZE",
    "MI",
    "TA",
    "NU",
    "SI",
    "DO",
    "LE",
    "VA",
    "OR",
    "PE",
    "QU",
    "HA",
    "GI",
    "YU",
    "FA",
    "JO",
    "WE",
    "XI",
    "CU",
    "EM",
]


def party_names(n: int, seed: int) -> pl.Series:
    """``n`` distinct-ish company names: two random 3-syllable words and a trade word."""
    rng = np.random.default_rng(seed)
    syl = pl.Series(_SYLLABLES)
    columns = {f"s{i}": syl.gather(rng.integers(0, len(_SYLLABLES), n)) for i in range(6)}
    trade = pl.Series(["TRADING LLC", "LOGISTICS LTD", "IMPORT CO", "GROUP", "FOODS TOO"])
    columns["t"] = trade.gather(rng.integers(0, len(trade), n))
    return (
        pl.DataFrame(columns)
        .select(
            pl.concat_str(
                [pl.concat_str("s0", "s1", "s2"), pl.concat_str("s3", "s4", "s5"), pl.col("t")],
                separator=" ",
            ).alias("name")
        )
        .to_series()
    )


def manifest(
    n: int, *, start_us: int, span_us: int, seed: int, consignees: pl.Series, shippers: pl.Series
) -> pl.DataFrame:
    """``n`` synthetic canonical rows filed uniformly in ``[start, start + span)``."""
    rng = np.random.default_rng(seed)
    # Zipf-like activity: a few parties file a lot, most rarely.
    c_idx = np.minimum(rng.zipf(1.6, n) - 1, len(consignees) - 1)
    c_idx = (c_idx * 7919 + rng.integers(0, 3, n)) % len(consignees)
    s_idx = np.minimum(rng.zipf(1.6, n) - 1, len(shippers) - 1)
    s_idx = (s_idx * 104729 + rng.integers(0, 3, n)) % len(shippers)
    inspected = rng.random(n) < 0.03
    outcome = rng.choice(3, n, p=[0.8, 0.05, 0.15])
    labels = pl.Series(["clean", "seizure", "irregularity"]).gather(outcome)
    filed = start_us + rng.integers(0, span_us, n)
    return (
        pl.DataFrame(
            {
                "container_number": pl.Series(rng.integers(0, N_CONTAINERS, n))
                .cast(pl.String)
                .str.zfill(7)
                .alias("c"),
                "bl_number": pl.Series(rng.integers(0, 10**10, n)).cast(pl.String),
                "filed_at": pl.Series(filed).cast(pl.Datetime("us", "UTC")),
                "amendments": pl.Series(rng.poisson(0.2, n)).cast(pl.Int32),
                "shipper_name": shippers.gather(s_idx),
                "consignee_name": consignees.gather(c_idx),
                "hs_code": pl.Series(HS).gather(rng.integers(0, len(HS), n)) + "0000",
                "port_of_loading": pl.Series(PORTS).gather(rng.integers(0, len(PORTS), n)),
                "port_of_discharge": pl.Series(PORTS[-4:]).gather(rng.integers(0, 4, n)),
                "inspected": pl.Series(inspected),
                "inspection_result": labels,
            }
        )
        .with_columns(
            pl.when(pl.col("inspected"))
            .then(pl.col("inspection_result"))
            .alias("inspection_result")
        )
        .with_columns(("MSCU" + pl.col("container_number")).alias("container_number"))
    )


def _peak_rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _cpu_s() -> float:
    """CPU seconds of this process (all threads): comparable on a busy shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def build(store_dir: Path, rows: int, chunk: int) -> None:
    store = HistoryStore(store_dir, fuzzy_threshold=None)
    consignees = party_names(N_CONSIGNEES, 1)
    shippers = party_names(N_SHIPPERS, 2)
    start = int(START.timestamp() * 1e6)
    span = SPAN_DAYS * 86_400 * 10**6
    t0, c0 = time.perf_counter(), _cpu_s()
    for i, offset in enumerate(range(0, rows, chunk)):
        n = min(chunk, rows - offset)
        frame = manifest(
            n, start_us=start, span_us=span, seed=100 + i, consignees=consignees, shippers=shippers
        )
        store.append(frame, batch_id=f"bench-{i}")
    wall = time.perf_counter() - t0
    print(
        {
            "history_rows": store.fingerprint()["rows"],
            "append_s": round(wall, 1),
            "append_cpu_s": round(_cpu_s() - c0, 1),
            "rows_per_s": round(rows / wall),
            "peak_rss_mb": _peak_rss_mb(),
        }
    )


def features(store_dir: Path, rows: int, *, low_memory: bool = False) -> None:
    store = HistoryStore(store_dir, fuzzy_threshold=None)
    consignees = party_names(N_CONSIGNEES, 1)
    shippers = party_names(N_SHIPPERS, 2)
    day_after = int(START.timestamp() * 1e6) + SPAN_DAYS * 86_400 * 10**6
    batch = manifest(
        rows,
        start_us=day_after,
        span_us=86_400 * 10**6,
        seed=999,
        consignees=consignees,
        shippers=shippers,
    )
    rss_before = _peak_rss_mb()
    # In a run the compiled kernels are loaded by the time history runs (ingest and
    # validation number their columns with the same kernel): loaded here outside the timed
    # region, and reported.
    t0 = time.perf_counter()
    distinct_codes(pl.Series(["a", "b", "a"]))
    kernels_s = time.perf_counter() - t0
    stage = HistoryFeatures(store, low_memory=low_memory)
    t0, c0 = time.perf_counter(), _cpu_s()
    out = stage.apply(batch)
    wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    print(
        {
            "history_rows": store.fingerprint()["rows"],
            "batch_rows": out.height,
            "low_memory": low_memory,
            "features_s": round(wall, 1),
            "features_cpu_s": round(cpu, 1),
            "kernels_load_s": round(kernels_s, 2),
            "rows_per_s": round(rows / wall),
            "peak_rss_mb": _peak_rss_mb(),
            "rss_before_mb": rss_before,
            "new_consignees": int(out["consignee_is_new"].sum()),
            "mean_consignee_shipments_365d": round(
                float(out["consignee_shipments_365d"].mean()), 1
            ),
        }
    )


def resolve(n_canonical: int, n_new: int) -> None:
    canonical = party_names(n_canonical, 3).unique(maintain_order=True)  # the same every run
    rng = random.Random(4)
    seen = canonical.to_list()
    # Half the new keys are one-letter variants of known ones, half genuinely new.
    variants = []
    for name in rng.sample(seen, n_new // 2):
        j = rng.randrange(1, len(name) - 1)
        variants.append(name[:j] + name[j + 1 :])
    fresh = party_names(n_new - len(variants), 5).to_list()
    # The compiled filter loaded before the timed call, as a run has loaded it by then.
    resolve_near_duplicates(["ACME TRADNG"], ["ACME TRADING"], threshold=92.0)
    t0, c0 = time.perf_counter(), time.process_time()
    out = resolve_near_duplicates(variants + fresh, seen, threshold=92.0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    merged = out.filter(pl.col("party_key") != pl.col("canonical_key"))["party_key"]
    mapping = out.sort("party_key").hash_rows().sum()  # the same mapping, the same number
    variant_merged = int(merged.is_in(pl.Series(variants).implode()).sum())
    print(
        {
            "canonical": len(seen),
            "new": n_new,
            "resolve_s": round(wall, 2),
            "resolve_cpu_s": round(cpu, 2),
            "variants_merged": variant_merged,
            "variants": len(variants),
            "other_merged": merged.len() - variant_merged,
            "mapping_hash": int(mapping),
            "peak_rss_mb": _peak_rss_mb(),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["build", "features", "resolve"])
    parser.add_argument("--store", type=Path, default=Path("/tmp/lookout-history-bench"))
    parser.add_argument("--history-rows", type=int, default=10_000_000)
    parser.add_argument("--chunk", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", type=int, default=1_000_000)
    parser.add_argument("--canonical", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=10_000)
    parser.add_argument(
        "--low-memory",
        action="store_true",
        help="stream the history for every feature block (lower peak RSS)",
    )
    args = parser.parse_args()
    if args.what == "build":
        build(args.store, args.history_rows, args.chunk)
    elif args.what == "features":
        features(args.store, args.batch_rows, low_memory=args.low_memory)
    else:
        resolve(args.canonical, args.new)


if __name__ == "__main__":
    main()
