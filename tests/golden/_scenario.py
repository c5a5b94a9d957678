"""The golden scenario: a fixed multi-file batch scored with everything the engine offers.

Inputs (committed under ``tests/fixtures/golden/``): two generated manifest days (one CSV,
one Parquet), a CSV with three unreadable records, a labelled history loaded into a fresh
history store, and a national watchlist of look-alike names beside the shipped UN list.
The batch is scored with the shipped rules, model and policy, history features and
appending, once in this process and once on Ray; :func:`outputs` reads back what a run
wrote in a form that does not depend on where it ran (paths become file names, volatile
parts of the run record are dropped).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from engine.executor import Executor

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "golden"
INPUTS = FIXTURES / "inputs"
HISTORY = FIXTURES / "history.parquet"
WATCHLIST = FIXTURES / "national-watchlist.csv"
EXPECTED = FIXTURES / "expected"

CAPACITY = "3%"
SEED = 11
CHUNK_ROWS = 700  # several chunks per file: chunk order inside a file matters too
WORKERS = 2
HISTORY_BATCH = "golden-history"

# Run-record parts that differ from run to run by nature.
VOLATILE = ("run_id", "started_at", "finished_at", "lookout_version")


@dataclass
class Outputs:
    """What one run wrote, made comparable across places and runs."""

    scored: pl.DataFrame
    flagged: pl.DataFrame
    quarantine: pl.DataFrame
    record: dict[str, Any]
    history_rows: int


def source() -> str:
    """The batch: every file of the inputs folder, as a glob."""
    return str(INPUTS / "*")


def history_store(work: Path) -> Path:
    """A fresh history store under ``work`` holding the fixture history."""
    from engine.history import HistoryStore

    store = HistoryStore(work / "history")
    store.append(pl.read_parquet(HISTORY), batch_id=HISTORY_BATCH)
    return store.root


def run_local(work: Path) -> Path:
    """Score the batch in this process into ``work/local``; return that folder."""
    return _run(work / "local", work)


def run_ray(work: Path) -> Path:
    """Score the batch on the Ray already initialised into ``work/ray``; return that folder."""
    from engine.distributed import Ray

    return _run(work / "ray", work, Ray(workers=WORKERS))


def _run(out: Path, work: Path, executor: Executor | None = None) -> Path:
    """Score the batch with the scenario's scorer and options into ``out`` (``executor``:
    the driver's default, this process, when None)."""
    from api.wiring import build_scorer
    from engine.pipeline import run_batch
    from engine.policy import Capacity
    from engine.watchlist import UN_LIST_PATH

    scorer = build_scorer(history_dir=history_store(work), watchlists=[UN_LIST_PATH, WATCHLIST])
    run_batch(
        source(),
        scorer=scorer,
        out_dir=out,
        capacity=Capacity.parse(CAPACITY),
        seed=SEED,
        chunk_rows=CHUNK_ROWS,
        executor=executor,
    )
    return out


def outputs(out: Path, work: Path) -> Outputs:
    """The outputs of the run written to ``out`` (its history store under ``work``)."""
    from engine.history import HistoryStore

    scored_path = out / "scored.parquet"
    scored = pl.read_parquet(scored_path if scored_path.is_file() else out / "scored" / "*.parquet")
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    return Outputs(
        scored=_names(scored),
        flagged=_names(read_flagged(out / "flagged.csv")),
        quarantine=_names(pl.read_parquet(out / "quarantine.parquet")),
        record=normalise_record(record, out, work),
        history_rows=HistoryStore(work / "history").scan().select(pl.len()).collect().item(),
    )


def read_flagged(path: Path) -> pl.DataFrame:
    """``flagged.csv`` as text, but its float columns as floats (compared to 1e-9 like the
    scored ones, not digit for digit)."""
    from engine.schema import catalogue

    floats = {f.name: pl.Float64() for f in catalogue() if f.flagged and f.dtype == pl.Float64}
    return pl.read_csv(path, infer_schema=False, schema_overrides=floats)


def _names(frame: pl.DataFrame) -> pl.DataFrame:
    """``source_file`` as the file's name (the folder differs between checkouts)."""
    if "source_file" not in frame.columns:
        return frame
    return frame.with_columns(
        pl.col("source_file").cast(pl.String).str.split("/").list.last().alias("source_file")
    )


def normalise_record(record: dict[str, Any], out: Path, work: Path) -> dict[str, Any]:
    """The run record without volatile parts, paths relative to the output folder (OUT),
    the inputs (INPUTS), the scratch folder (WORK) or the checkout (REPO), and the timings
    as their stage names."""
    text = json.dumps(record)
    for folder, name in ((out, "OUT"), (INPUTS, "INPUTS"), (work, "WORK"), (REPO, "REPO")):
        text = text.replace(str(folder), name)
    clean: dict[str, Any] = json.loads(text)
    for key in VOLATILE:
        clean.pop(key, None)
    clean["timings"] = sorted(clean.get("timings", {}))
    return clean


def read_expected(name: str) -> Outputs:
    """The committed expected outputs; ``name`` (``local`` or ``ray``) picks the run record."""
    history = json.loads((EXPECTED / "history.json").read_text(encoding="utf-8"))
    return Outputs(
        scored=pl.read_parquet(EXPECTED / "scored.parquet"),
        flagged=read_flagged(EXPECTED / "flagged.csv"),
        quarantine=pl.read_parquet(EXPECTED / "quarantine.parquet"),
        record=json.loads((EXPECTED / f"run-{name}.json").read_text(encoding="utf-8")),
        history_rows=int(history["rows_after"]),
    )


def write_expected(local: Outputs, ray: Outputs) -> None:
    """Commit-ready expected outputs (the scored rows of both paths must already agree)."""
    EXPECTED.mkdir(parents=True, exist_ok=True)
    local.scored.write_parquet(EXPECTED / "scored.parquet", compression="zstd")
    local.flagged.write_csv(EXPECTED / "flagged.csv")
    local.quarantine.write_parquet(EXPECTED / "quarantine.parquet")
    for name, outs in (("local", local), ("ray", ray)):
        (EXPECTED / f"run-{name}.json").write_text(
            json.dumps(outs.record, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
    (EXPECTED / "history.json").write_text(
        json.dumps({"rows_after": local.history_rows}) + "\n", encoding="utf-8"
    )


def differences(actual: Outputs, expected: Outputs) -> list[str]:
    """Every way ``actual`` differs from ``expected``: column by column, rows in order,
    floats to 1e-9; the run record key by key. Empty when they agree."""
    found: list[str] = []
    for what in ("scored", "flagged", "quarantine"):
        found += _frame_differences(what, getattr(actual, what), getattr(expected, what))
    found += _record_differences("run.json", actual.record, expected.record)
    if actual.history_rows != expected.history_rows:
        found.append(
            f"history store: {actual.history_rows} rows after the run, "
            f"expected {expected.history_rows}"
        )
    return found


def _frame_differences(what: str, actual: pl.DataFrame, expected: pl.DataFrame) -> list[str]:
    from polars.testing import assert_series_equal

    found: list[str] = []
    if actual.columns != expected.columns:
        found.append(
            f"{what}: columns differ: missing {sorted(set(expected.columns) - set(actual.columns))}"
            f", extra {sorted(set(actual.columns) - set(expected.columns))}"
            + ("" if set(actual.columns) != set(expected.columns) else " (order differs)")
        )
    if actual.height != expected.height:
        return [*found, f"{what}: {actual.height} rows, expected {expected.height}"]
    for name in expected.columns:
        if name not in actual.columns:
            continue
        try:
            assert_series_equal(
                actual.get_column(name),
                expected.get_column(name),
                check_exact=False,
                rel_tol=0.0,
                abs_tol=1e-9,
            )
        except AssertionError as err:
            found.append(f"{what}.{name}: {str(err).splitlines()[0]}")
    return found


def _record_differences(where: str, actual: Any, expected: Any) -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        found: list[str] = []
        for key in sorted(set(actual) | set(expected)):
            if key not in actual:
                found.append(f"{where}.{key}: missing")
            elif key not in expected:
                found.append(f"{where}.{key}: not expected")
            else:
                found += _record_differences(f"{where}.{key}", actual[key], expected[key])
        return found
    if isinstance(expected, float) and isinstance(actual, float):
        return [] if abs(actual - expected) <= 1e-9 else [f"{where}: {actual} != {expected}"]
    return [] if actual == expected else [f"{where}: {actual!r} != {expected!r}"]
