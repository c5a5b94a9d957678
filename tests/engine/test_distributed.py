"""Ray scale-out: a real local Ray cluster scores a multi-file batch exactly like run_batch."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from api.wiring import SHIPPED_MODEL_DIR, build_scorer
from engine.distributed import DistributedError, Ray
from engine.errors import IngestError, SpecError
from engine.executor import Local
from engine.generate import GeneratedData, generate
from engine.history import HistoryStore
from engine.pipeline import run_batch
from engine.policy import Capacity
from engine.scorer import Scorer

pytestmark = [
    pytest.mark.xdist_group("ray"),
    # Ray's own modules warn about their own deprecated settings; not ours to fix
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray"),
]

CHUNK_ROWS = 700  # several chunks per file, so chunk order inside a file matters too
CAPACITY = Capacity.parse("3%")
SEED = 11


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> GeneratedData:
    """4 manifest days x 1,500 rows after 10 days of labelled history."""
    root = tmp_path_factory.mktemp("ray_gen")
    return generate(
        days=4, rows_per_day=1_500, seed=5, out_dir=root, history_days=10, formats=("csv",)
    )


@pytest.fixture(scope="module")
def batch(generated: GeneratedData) -> Path:
    """The 4 days (2 as Parquet, 2 as CSV), plus one CSV with broken records in the middle."""
    data = generated
    inputs = data.out_dir / "in"
    inputs.mkdir()
    for path in data.manifests:  # a mix of formats across the partitions
        frame = pl.read_csv(path, infer_schema=False)
        if path.stem.endswith(("27", "29")):
            frame.write_parquet(inputs / f"{path.stem}.parquet")
        else:
            (inputs / path.name).write_bytes(path.read_bytes())
    lines = data.manifests[0].read_text().splitlines(keepends=True)[:81]
    lines[7] = "this,row,is,short\n"
    lines[40] = "another,short\n"
    lines[63] = lines[63].rstrip("\n") + ",one,field,too,many\n"
    # sorts between the generated days, so its rows sit in the middle of the batch
    (inputs / "manifest_2026-11-27b.csv").write_text("".join(lines))
    (inputs / ".hidden").write_text("not an input")
    return inputs


@pytest.fixture(scope="module")
def scorer(generated: GeneratedData) -> Scorer:
    """The shipped rules, UN watchlist, history features and (when shipped) model."""
    assert generated.history is not None
    store = HistoryStore(generated.out_dir / "history_store")
    store.append(pl.read_parquet(generated.history), batch_id="ray-test-history")
    return build_scorer(history_dir=store.root)


def test_ray_output_equals_single_process_row_for_row(
    batch: Path, scorer: Scorer, local_ray: None, tmp_path: Path
) -> None:
    single = run_batch(
        str(batch / "*"),
        scorer=scorer,
        out_dir=tmp_path / "single",
        capacity=CAPACITY,
        seed=SEED,
        chunk_rows=CHUNK_ROWS,
    )
    seen: list[int] = []
    distributed = run_batch(
        str(batch / "*"),  # the same input rules as the local executor
        scorer=scorer,
        out_dir=tmp_path / "ray",
        capacity=CAPACITY,
        seed=SEED,
        chunk_rows=CHUNK_ROWS,
        executor=Ray(workers=2),
        progress=lambda _stage, rows: seen.append(rows),
    )
    # Ray writes partitioned output by default: one finished Parquet file per scored part.
    partitions = sorted((tmp_path / "ray" / "scored").glob("*.parquet"))
    assert len(partitions) >= 5  # 5 input files, each in chunks of CHUNK_ROWS
    assert not (tmp_path / "ray" / "scored.parquet").exists()
    ours = pl.read_parquet(tmp_path / "ray" / "scored" / "*.parquet")
    theirs = pl.read_parquet(tmp_path / "single" / "scored.parquet")
    assert ours.height == 4 * 1_500 + 80 - 3
    assert ours.get_column("row_index").to_list() == list(range(ours.height))
    assert_frame_equal(ours.sort("row_index"), theirs.sort("row_index"))
    for column in ("risk_score", "rule_hits", "lane", "selected", "selection_reason"):
        assert ours.get_column(column).equals(theirs.get_column(column)), column
    if (SHIPPED_MODEL_DIR / "card.json").is_file():
        assert ours.get_column("model_probability").null_count() == 0
    # capacity is global: ~3 % of the whole batch (plus forced reds), not 3 % per file
    assert ours.get_column("selected").sum() == single.selected >= round(0.03 * ours.height)

    # quarantine accounting crosses partitions: the broken file's records, in file order
    quarantine = pl.read_parquet(tmp_path / "ray" / "quarantine.parquet")
    assert_frame_equal(quarantine, pl.read_parquet(tmp_path / "single" / "quarantine.parquet"))
    assert sorted(quarantine.get_column("source_line").to_list()) == [8, 41, 64]
    assert set(quarantine.get_column("source_file")) == {str(batch / "manifest_2026-11-27b.csv")}

    record = json.loads((tmp_path / "ray" / "run.json").read_text())
    counts = record["counts"]
    assert counts["rows_in"] == counts["rows_scored"] + counts["rows_quarantined"]
    assert (counts["rows_in"], counts["rows_quarantined"]) == (4 * 1_500 + 80, 3)
    assert counts["lanes"] == single.counts["lanes"]
    assert counts["selected_by_reason"] == single.counts["selected_by_reason"]
    assert counts["data_quality"] == single.counts["data_quality"]
    # drift counts add up across partitions: the same figures as one process
    assert record["drift"] == json.loads(json.dumps(single.drift))
    if (SHIPPED_MODEL_DIR / "card.json").is_file():
        assert record["drift"]["rows"] == ours.height
        assert len(record["drift"]["features"]) == 47
    assert record["input"]["sha256"] == single.input["sha256"]
    assert record["stages"]["rules"] == single.stages["rules"]  # compiled on the workers
    assert record["parameters"]["engine"] == "ray"
    assert record["parameters"]["workers"] == 2
    assert record["parameters"]["layout"] == "partitioned"
    assert record["outputs"]["scored"] == str(tmp_path / "ray" / "scored")
    assert distributed.status == "succeeded"
    assert seen[-1] == ours.height  # progress reached every scored row
    flagged_ours = pl.read_csv(tmp_path / "ray" / "flagged.csv")
    assert_frame_equal(flagged_ours, pl.read_csv(tmp_path / "single" / "flagged.csv"))
    assert not (tmp_path / "ray" / "_parts").exists()


def test_a_worker_error_reaches_the_driver_as_the_users_error(
    batch: Path, scorer: Scorer, local_ray: None, tmp_path: Path
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.parquet").write_bytes(next(batch.glob("*.parquet")).read_bytes())
    (inputs / "b.csv").write_text("colour,size\nred,3\n")  # no manifest fields at all
    with pytest.raises(SpecError, match="required manifest fields are missing") as err:
        run_batch(
            str(inputs / "*"), scorer=scorer, out_dir=tmp_path / "out", executor=Ray(workers=1)
        )
    assert err.value.location is not None
    assert err.value.location.file == str(inputs / "b.csv")


def test_without_ray_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, batch: Path, scorer: Scorer, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if not installed
    monkeypatch.setitem(sys.modules, "ray.data", None)
    with pytest.raises(DistributedError, match="not installed") as err:
        run_batch(str(batch / "*"), scorer=scorer, out_dir=tmp_path / "out", executor=Ray())
    assert err.value.hint is not None
    assert "pip install 'lookout[ray]'" in err.value.hint
    assert not (tmp_path / "out").exists()  # nothing written before the check


def test_both_executors_refuse_a_directory_alike(scorer: Scorer, tmp_path: Path) -> None:
    """One input rule for every executor: a file or a glob; a folder is refused before Ray
    is even started, with the glob to use instead."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("x")
    messages = []
    for executor in (Local(), Ray(workers=1)):
        with pytest.raises(IngestError, match="is a directory") as err:
            run_batch(tmp_path / "in", scorer=scorer, out_dir=tmp_path / "out", executor=executor)
        assert err.value.hint is not None and "/*.csv" in err.value.hint
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert not (tmp_path / "out").exists()


def test_an_actor_scores_one_chunk_at_a_time(
    batch: Path, scorer: Scorer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An actor reserves one CPU: the per-file function it unpickles scores the chunks of a
    file one after the other, in one thread, and gives what the driver's would."""
    import pickle
    import threading
    from dataclasses import replace

    from engine._parts import FileScoring
    from engine.distributed import actor_task
    from engine.spec import default_spec

    path = batch / "manifest_2026-11-28.csv"
    task = FileScoring(scorer, default_spec(), tmp_path / "driver", CHUNK_ROWS)
    actor = pickle.loads(actor_task(task))
    assert (task.in_flight, actor.in_flight) == (None, 1)
    threads: set[str] = set()
    real = Scorer.score

    def score(self: Scorer, *args: object, **kwargs: object) -> object:
        threads.add(threading.current_thread().name)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Scorer, "score", score)
    for folder in ("driver", "actor"):
        (tmp_path / folder).mkdir()
    ours = replace(actor, parts=tmp_path / "actor")(0, path)
    assert len(threads) == 1 and ours.rows_scored == 1_500
    theirs = task(0, path)
    assert ours.rows_scored == theirs.rows_scored and ours.files == theirs.files
    for part in sorted((tmp_path / "driver").glob("*.parquet")):
        assert_frame_equal(pl.read_parquet(tmp_path / "actor" / part.name), pl.read_parquet(part))
