"""The streamed writes of a run stay streamed.

A query written with ``sink_parquet`` runs in bounded memory only if every node of its
physical plan is a streaming node. Some expressions are not (a ``replace_strict`` with a
lookup table as its mapping, for one): polars then runs that node in memory, on the whole
input, without a word. That is how the history append of a 10M-row batch once held ~7 GB
more than streaming the same rows: nothing failed, only a benchmark's peak showed it.

These tests read the physical plan of every ``sink_parquet`` a run makes (the final
``scored`` write in both layouts where the parts are encoded again, the history append, the
snapshot) and fail on any node polars marks as an in-memory fallback.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from api.wiring import build_scorer
from engine import _finalise
from engine.generate import generate
from engine.history import HistoryStore
from engine.pipeline import run_batch
from engine.policy import Capacity

_LEGEND = re.compile(r'<FONT COLOR="([^"]+)">⬤</FONT> in-memory engine fallback')


def fallback_nodes(frame: pl.LazyFrame) -> list[str]:
    """Labels of the nodes of ``frame``'s streaming physical plan that polars runs in
    memory (its graph's legend names their colour)."""
    dot = frame.show_graph(engine="streaming", plan_stage="physical", show=False, raw_output=True)
    assert isinstance(dot, str)
    legend = _LEGEND.search(dot)
    # polars' graph format changed: update the pattern rather than let the check pass
    assert legend is not None, "no in-memory fallback colour in the plan's legend"
    node = re.compile(r'\[label="([^"]*)",style=filled,fillcolor="' + re.escape(legend[1]) + '"')
    return [m[1].replace("\\n", " ").strip() for m in node.finditer(dot)]


def test_the_check_finds_a_fallback_and_passes_a_streaming_plan() -> None:
    rows = pl.LazyFrame({"name": ["a", "b", "c"] * 10, "n": range(30)})
    table = pl.DataFrame({"name": ["a", "b"], "key": ["k1", "k2"]})
    lookup = rows.with_columns(
        pl.col("name").replace_strict(table["name"], table["key"], default=None).alias("key")
    )
    assert any("replace_strict" in label for label in fallback_nodes(lookup))
    joined = rows.join(table.lazy(), on="name", how="left", maintain_order="left")
    assert fallback_nodes(joined) == []
    assert fallback_nodes(rows.with_columns((pl.col("n") * 2).alias("m"))) == []


@pytest.fixture
def sinks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """Every ``sink_parquet`` of the test: (target, in-memory nodes of its plan)."""
    seen: list[tuple[str, list[str]]] = []
    real = pl.LazyFrame.sink_parquet

    def checked(self: pl.LazyFrame, path: object, *args: object, **kwargs: object) -> object:
        seen.append((str(path), fallback_nodes(self)))
        return real(self, path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pl.LazyFrame, "sink_parquet", checked)
    return seen


@pytest.mark.parametrize("stitched", [True, False], ids=["stitched", "encoded"])
@pytest.mark.parametrize("layout", ["file", "partitioned"])
def test_a_runs_streamed_writes_have_no_in_memory_node(
    tmp_path: Path,
    layout: str,
    stitched: bool,
    sinks: list[tuple[str, list[str]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two files in one batch (their row_index shifted by the rows before them), written
    # through scratch parts (hold_rows=0, as a batch too large to hold), then appended to
    # the history, whose snapshot is rebuilt for the next run. The parts are copied into
    # ``scored`` (no sink), or, where they cannot be, encoded again by a streamed write.
    if not stitched:
        monkeypatch.setattr(_finalise, "stitch_scored", lambda *args: False)
    data = generate(
        days=2,
        rows_per_day=200,
        seed=11,
        out_dir=tmp_path / "gen",
        history_days=5,
        formats=("parquet",),
    )
    assert data.history is not None
    store = HistoryStore(tmp_path / "history")
    store.append(pl.read_parquet(data.history), batch_id="past")
    # the shipped configuration: rules, UN list, history features and the model, whose
    # explanations the final write joins onto the scored rows
    scorer = build_scorer(history_dir=store.root)
    sinks.clear()
    record = run_batch(
        str(data.manifests[0].parent / "*.parquet"),
        scorer=scorer,
        out_dir=tmp_path / "out",
        capacity=Capacity.parse("5%"),
        chunk_rows=64,
        hold_rows=0,
        layout=layout,
    )
    assert len(record.input["formats"]) == 2
    assert record.selected > 0 and scorer.model is not None
    assert record.counts["history_rows_appended"] == record.rows_scored == 400
    store.snapshot()  # the next run's snapshot, from the appended store
    targets = [target for target, _ in sinks]
    scored = tmp_path / "out" / ("scored.parquet" if layout == "file" else "scored")
    assert any(Path(t) == scored or Path(t).parent == scored for t in targets) is not stitched
    assert any(Path(t).is_relative_to(tmp_path / "history") for t in targets)
    written = pl.read_parquet(scored / "*.parquet" if scored.is_dir() else scored)
    explained = written.filter(pl.col("selected")).get_column("model_reasons")
    assert explained.list.len().sum() > 0  # the explanations were part of the streamed write
    assert [(t, nodes) for t, nodes in sinks if nodes] == []
