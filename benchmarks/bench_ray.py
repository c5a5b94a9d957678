"""Scale-out benchmark: `run_batch` on the local executor vs the Ray executor with 1 and 2 workers.

Input: FILES generated Parquet manifests of ROWS rows each (reused from benchmarks/results/
when present), drawn from the same party universe as a 1M-row history (120 days × 8,334 rows).
Scorer: the shipped rules, UN watchlist, policy and, with ``--model``, the shipped model with
history features from that history. Each mode runs in
a fresh child process; a sampler sums the RSS of that child and all its descendants (the Ray
raylet, GCS and worker processes) every 0.5 s, so "peak tree RSS" is the whole footprint and
"peak process RSS" the largest single process (the driver or one worker); "CPU" sums the
user+system seconds of the whole tree (the sizing figure on a shared machine).

    python -m benchmarks.bench_ray --files 10 --rows 1000000 --modes single ray1 ray2

Results are appended to benchmarks/results/ray.json (one entry per mode and size). With
``--model`` every mode gets a fresh copy of the history store, since a run appends its batch.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


# One party universe for the manifests and the history (as in bench_e2e): a universe sized
# for 50k lines a day, so a 1M-row day repeats its traders the way a national feed does.
UNIVERSE_ROWS = 50_000
HISTORY_DAYS = 120
HISTORY_ROWS_PER_DAY = 8_334  # 120 days × 8,334 ≈ 1M history rows


def _generate(files: int, rows: int, seed: int) -> Path:
    """FILES Parquet days of ROWS rows each after 120 days × 8,334 rows of history, one universe.

    Generated once under results/, then reused.
    """
    from engine.generate import generate

    folder = RESULTS / f"ray-{files}x{rows}"
    manifests = folder / "manifests"
    if not manifests.is_dir() or len(list(manifests.glob("*.parquet"))) < files:
        generate(
            days=files,
            rows_per_day=rows,
            seed=seed,
            out_dir=folder,
            formats=("parquet",),
            history_days=HISTORY_DAYS,
            history_rows_per_day=HISTORY_ROWS_PER_DAY,
            universe_rows=UNIVERSE_ROWS,
        )
    return folder


def _history(folder: Path) -> Path:
    """The generated folder's 1M-row history as a store (exact keys at load), built once."""
    import polars as pl

    from engine.history import HistoryStore

    store_dir = folder / "history-store"
    if not (store_dir / "batches.jsonl").exists():
        HistoryStore(store_dir, fuzzy_threshold=None).append(
            pl.read_parquet(folder / "history.parquet"), batch_id="bench-ray-history"
        )
    return store_dir


_CHILD = """
import json, sys, time
from pathlib import Path
mode, source, out, chunk_rows, history = sys.argv[1:6]
t0 = time.perf_counter()
from api.wiring import build_scorer
scorer = build_scorer(
    history_dir=Path(history) if history else None, use_model=bool(history)
)
built = time.perf_counter() - t0
t1 = time.perf_counter()
if mode == "single":
    from engine.pipeline import run_batch
    record = run_batch(source + "/*.parquet", scorer=scorer, out_dir=Path(out),
                       chunk_rows=int(chunk_rows))
    ray_start = 0.0
else:
    import logging, ray
    workers = int(mode.removeprefix("ray"))
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
             logging_level=logging.ERROR)
    ray.data.DataContext.get_current().enable_progress_bars = False
    ray_start = time.perf_counter() - t1
    from engine.distributed import Ray
    from engine.pipeline import run_batch
    record = run_batch(source + "/*.parquet", scorer=scorer, out_dir=Path(out),
                       chunk_rows=int(chunk_rows), executor=Ray(workers=workers))
wall = time.perf_counter() - t1
print(json.dumps({"build_scorer_s": built, "ray_start_s": ray_start, "wall_s": wall,
                  "rows_in": record.rows_in, "rows_scored": record.rows_scored,
                  "timings": record.timings}))
"""


def _tree_rss(root: int, cpu: dict[int, float]) -> tuple[int, int]:
    """(sum, max) RSS in bytes over ``root`` and all its descendants, from /proc.

    Also records in ``cpu`` each descendant's user+system CPU seconds so far (a process that
    exits between two samples loses at most its last 0.5 s).
    """
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    ticks: dict[int, int] = {}
    hertz = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * page
            ticks[int(entry)] = int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    for pid in tree:
        cpu[pid] = max(cpu.get(pid, 0.0), ticks.get(pid, 0) / hertz)
    sizes = [rss.get(pid, 0) for pid in tree]
    return sum(sizes), max(sizes, default=0)


def _run(
    mode: str, source: Path, out: Path, chunk_rows: int, history: Path | None
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-c",
        _CHILD,
        mode,
        str(source),
        str(out),
        str(chunk_rows),
        str(history or ""),
    ]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peaks = {"tree": 0, "process": 0}
    cpu: dict[int, float] = {}

    def sample() -> None:
        while child.poll() is None:
            total, largest = _tree_rss(child.pid, cpu)
            peaks["tree"] = max(peaks["tree"], total)
            peaks["process"] = max(peaks["process"], largest)
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    started = time.perf_counter()
    sampler.start()
    stdout, _ = child.communicate()
    elapsed = time.perf_counter() - started
    sampler.join()
    if child.returncode != 0:
        raise SystemExit(f"{mode} failed with exit code {child.returncode}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result.update(
        mode=mode,
        process_s=elapsed,
        rows_per_s=result["rows_scored"] / result["wall_s"],
        peak_tree_rss_mb=peaks["tree"] / 2**20,
        peak_process_rss_mb=peaks["process"] / 2**20,
        cpu_s=sum(cpu.values()),
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per file")
    parser.add_argument("--modes", nargs="+", default=["single", "ray1", "ray2"])
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--model", action="store_true", help="shipped model + history features")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    folder = _generate(args.files, args.rows, args.seed)
    source = folder / "manifests"
    history = _history(folder) if args.model else None
    log = RESULTS / "ray.json"
    entries = json.loads(log.read_text()) if log.is_file() else []
    for mode in args.modes:
        out = RESULTS / f"ray-out-{mode}"
        store = None
        if history is not None:
            # Each mode scores against its own copy: a run appends its batch to the store,
            # which would make the next mode's history bigger and its append a no-op.
            store = RESULTS / f"ray-history-{mode}"
            shutil.rmtree(store, ignore_errors=True)
            shutil.copytree(history, store)
        result = _run(mode, source, out, args.chunk_rows, store)
        result.update(
            files=args.files,
            rows_per_file=args.rows,
            model=args.model,
            chunk_rows=args.chunk_rows,
            at=time.strftime("%Y-%m-%d %H:%M"),
            load_avg_1m=os.getloadavg()[0],
        )
        entries.append(result)
        log.write_text(json.dumps(entries, indent=2))
        print(
            f"{mode:>6}: {result['rows_scored']:>11,} rows  wall {result['wall_s']:7.1f} s "
            f"({result['rows_per_s']:>9,.0f} rows/s; Ray start {result['ray_start_s']:.1f} s, "
            f"scorer build {result['build_scorer_s']:.1f} s)  peak RSS tree "
            f"{result['peak_tree_rss_mb']:,.0f} MB, largest process "
            f"{result['peak_process_rss_mb']:,.0f} MB; CPU {result['cpu_s']:,.0f} s"
        )


if __name__ == "__main__":
    main()
