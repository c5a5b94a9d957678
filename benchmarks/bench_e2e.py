"""End-to-end benchmark: generated manifests of 100k, 1M and 10M rows through `lookout score`.

Each size runs in a fresh child process (so its peak memory is its own). The full
configuration uses the shipped rules, model, policy and UN watchlist, and history features
against a 1M-row history store (120 days × 8,334 rows generated from the same party universe as
the batch — a 50k-lines-a-day universe, so a large batch repeats its traders as a national
feed does; not appended to, so every size sees the same history; `--history-rows 10000000`
scores against a 10M-row store of the same universe instead: 120 days × 83,333 rows, generated
with the batch into its own folder and stored once); `--rules-only` drops the
history store and the model; `--append` scores as a daily run does, appending the batch to
(a copy of) the history store afterwards (the `history_append` stage). Prints the wall
time, the child's CPU seconds (user and system, all threads), the seconds per stage, rows per
second and peak RSS, and writes the table to benchmarks/results/e2e.json.

    python -m benchmarks.bench_e2e --rows 100000 1000000
    python -m benchmarks.bench_e2e --rows 1000000 --history-rows 10000000
    python -m benchmarks.bench_e2e --rows 1000000 --append
    python -m benchmarks.bench_e2e --rules-only --rows 100000 1000000
    python -m benchmarks.bench_e2e --rules-only --rows 1000000 --copies 10   # 10M rows
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


# One party universe for the batch and its history: the batch's traders are the history's
# traders (plus that day's newcomers and near-duplicate spellings), as in a real feed.
UNIVERSE_ROWS = 50_000
HISTORY_DAYS = 120
HISTORY_ROWS_PER_DAY = 8_334  # 120 days × 8,334 ≈ 1M history rows
HISTORY_ROWS = HISTORY_DAYS * HISTORY_ROWS_PER_DAY


def _generate(rows: int, seed: int, csv: bool, history_rows: int = HISTORY_ROWS) -> Path:
    """A day of ``rows`` manifest lines after 120 days of history (8,334 rows a day unless
    ``history_rows`` says otherwise), one universe."""
    from engine.generate import generate

    per_day = max(1, round(history_rows / HISTORY_DAYS))
    folder = RESULTS / (
        f"data-{rows}" if per_day == HISTORY_ROWS_PER_DAY else f"data-{rows}-h{history_rows}"
    )
    manifest = folder / "manifests"
    wanted = "*.csv" if csv else "*.parquet"
    if not manifest.is_dir() or not any(manifest.glob(wanted)):
        # Parquet input by default: the benchmark measures scoring, not the parsing of a
        # multi-gigabyte text file; `--csv` measures the text path.
        formats = ("csv", "parquet") if csv else ("parquet",)
        generate(
            days=1,
            rows_per_day=rows,
            seed=seed,
            out_dir=folder,
            formats=formats,
            history_days=HISTORY_DAYS,
            history_rows_per_day=per_day,
            universe_rows=UNIVERSE_ROWS,
        )
    return folder


_CHILD = """
import resource, runpy, sys
sys.argv = ["lookout"] + sys.argv[2:]
try:
    runpy.run_module("api.cli", run_name="__main__")
finally:
    # The child's own high-water mark (KiB): getrusage's ru_maxrss carries the parent's
    # peak across fork and exec (a first run that generated its data reported 12 GB).
    try:
        with open("/proc/self/status") as status:
            peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        peak = str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    with open({peak!r}, "w") as fh:
        fh.write(peak)
"""


def _history_store(folder: Path) -> Path:
    """The history store of a generated folder (exact keys at load), built once."""
    import polars as pl

    from engine.history import HistoryStore

    store = folder / "history-store"
    if not (store / "batches.jsonl").exists():
        t0 = time.perf_counter()
        # Streamed: only the distinct party names are held in memory, whatever the size.
        HistoryStore(store, fuzzy_threshold=None).append(
            pl.scan_parquet(folder / "history.parquet"), batch_id="bench-history"
        )
        print(f"history store built in {time.perf_counter() - t0:.1f} s: {store}")
    # A store kept by appends has a current snapshot; one from an older version gets it here,
    # not inside the timed run.
    HistoryStore(store, fuzzy_threshold=None).snapshot()
    return store


def _score(
    source: Path | str, out: Path, chunk_rows: int, history: Path | None, append: bool = False
) -> dict[str, object]:
    """Run `lookout score` in a child process and read its own peak RSS. ``append``: the
    batch is appended to ``history`` (pass a copy) after scoring, as a daily run does."""
    peak_file = out.with_suffix(".peak")
    code = _CHILD.format(peak=str(peak_file))
    cmd = [
        sys.executable,
        "-c",
        code,
        "--",
        "score",
        str(source),
        "--out",
        str(out),
        "--chunk-rows",
        str(chunk_rows),
    ]
    if history is None:
        cmd += ["--no-model"]
    else:
        cmd += ["--history", str(history)] + ([] if append else ["--no-history-append"])
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The child's CPU seconds (all its threads, user and system): steadier than the wall
    # time when other work shares the cores, though not when the machine itself slows.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"scoring failed:\n{done.stdout}\n{done.stderr}")
    record = json.loads((out / "run.json").read_text())
    peak_mib = int(peak_file.read_text()) / 1024
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mib": peak_mib, "record": record}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--csv", action="store_true", help="score the CSV files instead of Parquet")
    parser.add_argument(
        "--rules-only",
        action="store_true",
        help="no history store and no model: ingest, validation, enrichment, "
        "watchlist, rules, combine, select",
    )
    parser.add_argument(
        "--copies",
        type=int,
        default=1,
        help="score N links to the same generated file as one batch (a glob), "
        "e.g. --rows 1000000 --copies 10 for 10M rows without generating them",
    )
    parser.add_argument(
        "--history-rows",
        type=int,
        default=HISTORY_ROWS,
        help="rows of the history store (default 1M; e.g. 10000000 for the 10M-row store, "
        "generated and stored once under benchmarks/results/)",
    )
    parser.add_argument(
        "--append",
        action="store_true",
        help="append the scored batch to the history store, as a daily run does (to a copy "
        "of the store made before the run, not timed, and removed after)",
    )
    args = parser.parse_args()
    if args.append and args.rules_only:
        parser.error("--append needs the history store (not --rules-only)")
    RESULTS.mkdir(exist_ok=True)
    table = []
    for rows in args.rows:
        t0 = time.perf_counter()
        folder = _generate(rows, args.seed, args.csv, args.history_rows)
        gen_s = time.perf_counter() - t0
        history = None if args.rules_only else _history_store(folder)
        pattern = "*.csv" if args.csv else "*.parquet"
        source: Path | str = next((folder / "manifests").glob(pattern))
        if args.copies > 1:
            linked = RESULTS / f"data-{rows}x{args.copies}"
            linked.mkdir(exist_ok=True)
            for i in range(args.copies):
                link = linked / f"copy-{i:02d}{Path(source).suffix}"
                if not link.exists():
                    link.symlink_to(Path(source).resolve())
            source = str(linked / pattern)
        tag = f"{rows}x{args.copies}" if args.copies > 1 else str(rows)
        if args.append and history is not None:
            scratch = RESULTS / f"history-copy-{tag}"
            shutil.rmtree(scratch, ignore_errors=True)
            shutil.copytree(history, scratch)
            try:
                result = _score(source, RESULTS / f"run-{tag}", args.chunk_rows, scratch, True)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        else:
            result = _score(source, RESULTS / f"run-{tag}", args.chunk_rows, history)
        record = result["record"]
        assert isinstance(record, dict)
        scored = record["counts"]["rows_scored"]
        row = {
            "rows": scored,
            "config": "rules-only"
            if args.rules_only
            else ("full+append" if args.append else "full"),
            "history_rows": None if args.rules_only else args.history_rows,
            "input": Path(str(source)).suffix[1:],
            "generate_s": round(gen_s, 1),
            "wall_s": round(float(result["wall_s"]), 2),  # type: ignore[arg-type]
            "cpu_s": round(float(result["cpu_s"]), 1),  # type: ignore[arg-type]
            "rows_per_s": round(scored / float(result["wall_s"])),  # type: ignore[arg-type]
            "peak_rss_mib": round(float(result["peak_rss_mib"])),  # type: ignore[arg-type]
            "stages_s": record["timings"],
            "selected": record["counts"]["selected"],
        }
        table.append(row)
        print(json.dumps(row))
    (RESULTS / "e2e.json").write_text(json.dumps(table, indent=2))
    print(
        f"\n{'rows':>11} {'wall s':>8} {'CPU s':>7} {'rows/s':>10} {'peak MiB':>9}  slowest stages"
    )
    for row in table:
        stages = sorted(row["stages_s"].items(), key=lambda kv: -kv[1])[:4]
        print(
            f"{row['rows']:>11,} {row['wall_s']:>8} {row['cpu_s']:>7} {row['rows_per_s']:>10,} "
            f"{row['peak_rss_mib']:>9}  " + ", ".join(f"{k} {v:.1f}" for k, v in stages)
        )


if __name__ == "__main__":
    main()
