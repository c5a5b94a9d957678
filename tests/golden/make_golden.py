"""Regenerate the golden expected outputs: ``python -m tests.golden.make_golden``.

Scores the committed inputs with the current code, in this process and on a local Ray,
checks the two agree, and writes ``tests/fixtures/golden/expected/``. ``--inputs`` first
regenerates the inputs themselves with the generator (a new scenario). Read README.md
before running it: regenerating hides any change of output, which is the point of the test.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import polars as pl

from tests.golden import _scenario as sc

GENERATOR_SEED = 5
DAYS = 2
ROWS_PER_DAY = 1_500
HISTORY_DAYS = 20
HISTORY_ROWS_PER_DAY = 600


def make_inputs() -> None:
    """Two manifest days (CSV and Parquet), a CSV with three unreadable records, a labelled
    history and a national watchlist of the names look-alike parties are drawn from."""
    from engine.generate import generate, write_national_watchlist

    with tempfile.TemporaryDirectory() as tmp:
        data = generate(
            days=DAYS,
            rows_per_day=ROWS_PER_DAY,
            seed=GENERATOR_SEED,
            out_dir=Path(tmp),
            history_days=HISTORY_DAYS,
            history_rows_per_day=HISTORY_ROWS_PER_DAY,
            universe_rows=HISTORY_ROWS_PER_DAY,
            formats=("csv",),
        )
        assert data.history is not None
        for old in sc.INPUTS.glob("*"):
            old.unlink()
        sc.INPUTS.mkdir(parents=True, exist_ok=True)
        first, second = data.manifests
        (sc.INPUTS / first.name).write_bytes(first.read_bytes())
        pl.read_csv(second, infer_schema=False).write_parquet(
            sc.INPUTS / f"{second.stem}.parquet", compression="zstd"
        )
        lines = first.read_text(encoding="utf-8").splitlines(keepends=True)[:61]
        lines[7] = "this,row,is,short\n"
        lines[30] = "another,short\n"
        lines[52] = lines[52].rstrip("\n") + ",one,field,too,many\n"
        # sorts between the two days, so its rows sit in the middle of the batch
        (sc.INPUTS / f"{first.stem}b.csv").write_text("".join(lines), encoding="utf-8")
        pl.read_parquet(data.history).write_parquet(sc.HISTORY, compression="zstd")
    write_national_watchlist(sc.WATCHLIST, list_name="GOLDEN-NATIONAL", reference_prefix="GN")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.golden.make_golden", description=__doc__)
    parser.add_argument("--inputs", action="store_true", help="regenerate the inputs too")
    args = parser.parse_args(argv)
    if args.inputs:
        make_inputs()
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        local_work, ray_work = work / "l", work / "r"
        local = sc.outputs(sc.run_local(local_work), local_work)
        ray.init(
            num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR
        )
        try:
            ray.data.DataContext.get_current().enable_progress_bars = False
            distributed = sc.outputs(sc.run_ray(ray_work), ray_work)
        finally:
            ray.shutdown()
    # Only the record may differ between the two paths (engine, workers, layout, timings).
    distributed_as_local = sc.Outputs(
        distributed.scored,
        distributed.flagged,
        distributed.quarantine,
        local.record,
        distributed.history_rows,
    )
    disagree = sc.differences(distributed_as_local, local)
    if disagree:
        print("the Ray and single-process outputs differ; nothing written:", file=sys.stderr)
        print("\n".join(disagree[:40]), file=sys.stderr)
        return 1
    sc.write_expected(local, distributed)
    print(
        f"wrote {sc.EXPECTED} ({local.scored.height} scored rows, "
        f"{local.quarantine.height} quarantined, {int(local.scored['selected'].sum())} selected)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
