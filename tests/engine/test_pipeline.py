"""The pipeline end to end: outputs, accounting, selection, and failure when nothing scores."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from engine import _parts as parts_module
from engine import _reading as reading_module
from engine._parts import prepare_parts
from engine.errors import LookoutError, PipelineError
from engine.executor import Local, _LocalRun
from engine.ingest import rows_at_most
from engine.pipeline import run_batch, start_reading
from engine.policy import Capacity, ScoringPolicy
from engine.prepare import prepare
from engine.record import RunRecord
from engine.reference import ReferenceData
from engine.scorer import Scorer
from engine.spec import default_spec
from rules import load_pack

HEADER = (
    "container_number,bl_number,iso_type,gross_weight_kg,packages,port_of_loading,"
    "port_of_discharge,hs_code,goods_description,consignee_name,filed_at\n"
)
ROW = "{c},BL{i},45R1,{w},10,ECGYE,GEPTI,080390,{d},Acme Trading LLC,2026-11-27T08:00:00Z\n"
VALID = ["MSCU6639871", "CSQU3054383", "TCNU7200794", "TOLU4734787", "GYOU4047990"]


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer(refs=ReferenceData.load(), policy=ScoringPolicy.load(), rules=load_pack())


def _manifest(tmp_path: Path, broken: bool) -> Path:
    lines = [ROW.format(c=VALID[i % 5], i=i, w=1000 + i, d="bananas") for i in range(40)]
    lines[3] = ROW.format(c="MSCU1234560", i=3, w=0, d="said to contain general cargo")
    if broken:
        lines[10] = "this,row,is,short\n"
        lines[20] = lines[20].replace("BL20", "BL20,extra")
        lines[30] = ",BL30,45R1,1,1,ECGYE,GEPTI,080390,x,y,2026-11-27\n"
    path = tmp_path / "manifest.csv"
    path.write_text(HEADER + "".join(lines))
    return path


def test_outputs_and_accounting_on_a_broken_file(tmp_path: Path, scorer: Scorer) -> None:
    out = tmp_path / "out"
    record = run_batch(
        _manifest(tmp_path, broken=True),
        scorer=scorer,
        out_dir=out,
        capacity=Capacity.parse("10%"),
        chunk_rows=7,
    )
    assert record.rows_in == 40
    assert record.rows_quarantined == 3
    assert record.rows_scored == 37
    assert record.rows_in == record.rows_scored + record.rows_quarantined
    scored = pl.read_parquet(out / "scored.parquet")
    quarantine = pl.read_parquet(out / "quarantine.parquet")
    assert scored.height == 37
    assert sorted(quarantine.get_column("source_line").to_list()) == [12, 22, 32]
    assert scored.get_column("row_index").to_list() == list(range(37))  # order kept across chunks
    for col in ("rule_score", "rule_hits", "risk_score", "lane", "selected", "selection_reason"):
        assert col in scored.columns
    # the dirty row hits data-quality rules and ranks first
    worst = scored.sort("risk_score", descending=True).row(0, named=True)
    assert worst["bl_number"] == "BL3"
    assert worst["selected"] is True
    assert "invalid-container-number" in worst["rule_hits"]
    assert record.selected == 4  # 10 % of 37 rows, rounded
    on_disk = json.loads((out / "run.json").read_text())
    assert on_disk["counts"]["rows_scored"] == 37
    assert on_disk["stages"]["rules"]["pack_hash"]
    assert on_disk["stages"]["policy"]
    assert on_disk["input"]["sha256"]
    assert set(on_disk["timings"]) >= {"load", "validate", "enrich", "rules", "combine", "select"}
    flagged = pl.read_csv(out / "flagged.csv")
    assert flagged.filter(pl.col("selected")).height == 4
    assert flagged.filter(pl.col("bl_number") == "BL3").get_column("reasons").item()


def test_same_input_same_selection(tmp_path: Path, scorer: Scorer) -> None:
    path = _manifest(tmp_path, broken=False)
    picks = []
    for run in ("a", "b"):
        run_batch(path, scorer=scorer, out_dir=tmp_path / run, capacity=Capacity.parse("5"), seed=3)
        picks.append(
            pl.read_parquet(tmp_path / run / "scored.parquet").select(
                "row_index", "selected", "selection_reason"
            )
        )
    assert picks[0].equals(picks[1])


def test_partitioned_layout_holds_the_same_rows_as_one_file(tmp_path: Path, scorer: Scorer) -> None:
    path = _manifest(tmp_path, broken=True)
    options = {"scorer": scorer, "capacity": Capacity.parse("10%"), "chunk_rows": 7}
    single = run_batch(path, out_dir=tmp_path / "file", **options)  # type: ignore[arg-type]
    parted = run_batch(path, out_dir=tmp_path / "parts", layout="partitioned", **options)  # type: ignore[arg-type]
    files = sorted((tmp_path / "parts" / "scored").glob("*.parquet"))
    assert len(files) == 6  # 37 rows in chunks of 7
    assert not (tmp_path / "parts" / "scored.parquet").exists()
    assert_frame_equal(
        pl.read_parquet(tmp_path / "parts" / "scored" / "*.parquet"),
        pl.read_parquet(tmp_path / "file" / "scored.parquet"),
    )
    assert_frame_equal(
        pl.read_csv(tmp_path / "parts" / "flagged.csv"),
        pl.read_csv(tmp_path / "file" / "flagged.csv"),
    )
    assert parted.counts == single.counts
    assert parted.parameters["layout"] == "partitioned"
    assert parted.outputs["scored"] == str(tmp_path / "parts" / "scored")
    # A rerun into the same folder with the other layout leaves no stale output behind.
    run_batch(path, out_dir=tmp_path / "parts", **options)  # type: ignore[arg-type]
    assert (tmp_path / "parts" / "scored.parquet").is_file()
    assert not (tmp_path / "parts" / "scored").exists()
    run_batch(path, out_dir=tmp_path / "parts", layout="partitioned", **options)  # type: ignore[arg-type]
    assert not (tmp_path / "parts" / "scored.parquet").exists()
    assert len(list((tmp_path / "parts" / "scored").glob("*.parquet"))) == 6


def test_unknown_layout_is_refused_before_scoring(tmp_path: Path, scorer: Scorer) -> None:
    with pytest.raises(PipelineError, match="unknown output layout 'parquet'") as info:
        run_batch(
            _manifest(tmp_path, False), scorer=scorer, out_dir=tmp_path / "o", layout="parquet"
        )
    assert info.value.location is not None and info.value.location.field == "layout"
    assert not (tmp_path / "o").exists()


def test_nothing_scoreable_fails_after_writing_the_quarantine(
    tmp_path: Path, scorer: Scorer
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "short,row\nanother,short\n")
    with pytest.raises(PipelineError, match="no row could be scored"):
        run_batch(path, scorer=scorer, out_dir=tmp_path / "out")
    assert pl.read_parquet(tmp_path / "out" / "quarantine.parquet").height == 2
    assert json.loads((tmp_path / "out" / "run.json").read_text())["status"] == "failed"


def test_prepare_adds_flags_and_enrichment() -> None:
    frame = pl.DataFrame(
        {"container_number": ["MSCU1234560"], "port_of_loading": ["ECGYE"], "iso_type": ["45R1"]}
    )
    out = prepare(frame)
    assert out.get_column("dq_invalid_container_number").item() is True
    assert out.get_column("port_of_loading_country").item() == "EC"
    assert out.get_column("is_reefer").item() is True


def test_scored_batch_becomes_history_once_and_rescoring_is_stable(tmp_path: Path) -> None:
    from engine.generate import generate
    from engine.history import HistoryFeatures, HistoryStore

    data = generate(days=1, rows_per_day=300, seed=5, out_dir=tmp_path / "gen", history_days=5)
    assert data.history is not None
    store = HistoryStore(tmp_path / "history")
    store.append(pl.read_parquet(data.history), batch_id="past")
    scorer = Scorer(
        refs=ReferenceData.load(),
        policy=ScoringPolicy.load(),
        rules=load_pack(),
        enrichers=(HistoryFeatures(store),),
    )
    # The first run writes partitions into a folder holding an older run's scored.parquet:
    # what becomes history is this run's output, not the stale file.
    (tmp_path / "a").mkdir()
    pl.DataFrame({"bl_number": ["STALE"]}).write_parquet(tmp_path / "a" / "scored.parquet")
    first = run_batch(
        data.manifests[0],
        scorer=scorer,
        out_dir=tmp_path / "a",
        layout="partitioned",
        chunk_rows=100,
    )
    again = run_batch(data.manifests[0], scorer=scorer, out_dir=tmp_path / "b")
    assert first.counts["history_rows_appended"] == first.rows_scored
    assert again.counts["history_rows_appended"] == 0
    assert "STALE" not in store.scan().select("bl_number").collect().to_series().to_list()
    a = pl.read_parquet(tmp_path / "a" / "scored" / "*.parquet")
    b = pl.read_parquet(tmp_path / "b" / "scored.parquet")
    assert a.drop("source_file").equals(b.drop("source_file"))
    assert a.get_column("consignee_shipments_30d").sum() > 0


def test_the_scorer_is_immutable_and_shares_its_rules_when_extended(scorer: Scorer) -> None:
    import dataclasses

    from engine.history import HistoryFeatures, HistoryStore

    with pytest.raises(dataclasses.FrozenInstanceError):
        scorer.append_history = False  # type: ignore[misc]
    assert isinstance(scorer.enrichers, tuple)
    history = HistoryFeatures(HistoryStore(Path("unused-store")))
    extended = scorer.with_enrichers_first(history)
    assert extended.enrichers == (history, *scorer.enrichers)
    assert extended.rules is scorer.rules  # one cache of compiled stages
    assert scorer.enrichers == ()


def test_short_history_calls_nobody_new_and_says_so(tmp_path: Path) -> None:
    from engine.generate import generate
    from engine.history import FIRST_SEEN_LOOKBACK_DAYS, HistoryFeatures, HistoryStore

    data = generate(
        days=1,
        rows_per_day=200,
        seed=7,
        out_dir=tmp_path / "gen",
        history_days=5,
        history_rows_per_day=50,
    )
    assert data.history is not None

    def score(history_days: int, name: str) -> tuple[Any, pl.DataFrame]:
        store = HistoryStore(tmp_path / name)
        past = pl.read_parquet(data.history)
        if history_days > 5:  # one old row stretches the store back far enough
            first = past.head(1).with_columns(
                pl.col("filed_at") - pl.duration(days=history_days),
                pl.lit("OLD-1").alias("bl_number"),
            )
            past = pl.concat([first, past], how="vertical_relaxed")
        store.append(past, batch_id="past")
        scorer = Scorer(
            refs=ReferenceData.load(),
            policy=ScoringPolicy.load(),
            rules=load_pack(),
            enrichers=(HistoryFeatures(store),),
        )
        record = run_batch(data.manifests[0], scorer=scorer, out_dir=tmp_path / f"out-{name}")
        return record, pl.read_parquet(tmp_path / f"out-{name}" / "scored.parquet")

    record, scored = score(5, "fresh")
    # Five days of history cannot tell a newcomer from a trader who did not ship those days.
    assert scored["consignee_is_new"].to_list().count(True) == 0
    assert scored["shipper_is_new"].to_list().count(True) == 0
    assert scored["consignee_route_is_new"].to_list().count(True) == 0
    hits = scored["rule_hits"].explode().drop_nulls().to_list()
    assert "new-shipper-and-new-consignee" not in hits
    assert record.counts["rows_party_history_unknown"] > 0
    assert any(m.startswith("history too short for party features") for m in record.messages)

    record, scored = score(FIRST_SEEN_LOOKBACK_DAYS + 10, "long")
    assert scored["consignee_is_new"].to_list().count(True) > 0
    assert record.counts["rows_party_history_unknown"] == 0
    assert not any("history too short" in m for m in record.messages)


def test_an_exploring_policy_labels_explore_rows_end_to_end(tmp_path: Path) -> None:
    policy = ScoringPolicy.from_dict(
        {"selection": {"control_fraction": 0.2, "explore_fraction": 0.4}}
    )
    scorer = Scorer(refs=ReferenceData.load(), policy=policy, rules=load_pack())
    record = run_batch(
        _manifest(tmp_path, broken=False),
        scorer=scorer,
        out_dir=tmp_path / "out",
        capacity=Capacity.parse("10"),
        chunk_rows=9,
    )
    assert record.counts["selected_by_reason"] == {"risk": 4, "control": 2, "explore": 4}
    scored = pl.read_parquet(tmp_path / "out" / "scored.parquet")
    explored = scored.filter(pl.col("selection_reason") == "explore")
    assert explored.height == 4
    assert explored["explore_score"].is_between(0, 1).all()
    assert record.stages["policy"]["explore_fraction"] == 0.4


class _ColumnsSeen:
    """A model stage that scores by weight and records which columns ``explain`` was given."""

    name = "model"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        weight = pl.col("gross_weight_kg").fill_null(0.0)
        return frame.with_columns((weight / 2000.0).clip(0.0, 1.0).alias("model_probability"))

    def explain(self, frame: pl.DataFrame, *, top: int = 5) -> pl.DataFrame:
        self.seen = frame.columns
        reason = pl.format("weight {}", pl.col("gross_weight_kg"))
        return frame.with_columns(pl.concat_list(reason).alias("model_reasons"))

    def explain_columns(self) -> list[str]:
        return ["gross_weight_kg"]

    def fingerprint(self) -> dict[str, Any]:
        return {"model_hash": "weight"}


def test_explanations_read_only_the_columns_the_model_names(tmp_path: Path) -> None:
    """The rows to explain are read from the scored parts with the model's columns and
    row_index only, and their reasons land on the right rows."""
    model = _ColumnsSeen()
    scorer = Scorer(refs=ReferenceData.load(), policy=ScoringPolicy.load(), model=model)
    out = tmp_path / "out"
    run_batch(
        _manifest(tmp_path, broken=False),
        scorer=scorer,
        out_dir=out,
        capacity=Capacity.parse("3"),
        chunk_rows=9,
    )
    assert sorted(model.seen) == ["gross_weight_kg", "row_index"]
    scored = pl.read_parquet(out / "scored.parquet")
    chosen = scored.filter(pl.col("selected"))
    assert chosen.height == 3
    for row in chosen.iter_rows(named=True):
        assert row["model_reasons"] == [f"weight {row['gross_weight_kg']}"]
    unexplained = scored.filter(~pl.col("selected") & (pl.col("lane") != "red"))
    assert unexplained.height > 0
    assert unexplained.get_column("model_reasons").list.len().max() == 0


def test_flagged_csv_written_in_slices_is_the_sorted_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """flagged.csv gathered a slice at a time in risk order is the file a whole sort writes:
    selected first, then by risk, ties by row; green unselected rows left out."""
    from engine import _finalise

    n = 50
    scored = pl.DataFrame(
        {
            "row_index": list(range(n)),
            "container_number": [f"C{i:03d}" for i in range(n)],
            "selected": [i % 7 == 0 for i in range(n)],
            "lane": [("red", "yellow", "green")[i % 3] for i in range(n)],
            "risk_score": [float((i * 37) % 11) for i in range(n)],
            "rule_hits": [[f"R{i % 4}"] if i % 2 else [] for i in range(n)],
            "rule_reasons": [[f"reason, {i}"] if i % 2 else [] for i in range(n)],
            "model_reasons": [['"quoted" ' + str(i)] for i in range(n)],
        }
    )
    whole = tmp_path / "whole"
    sliced = tmp_path / "sliced"
    whole.mkdir()
    sliced.mkdir()
    _finalise._write_flagged(scored.lazy(), whole)
    monkeypatch.setattr(_finalise, "FLAGGED_SLICE_ROWS", 3)
    _finalise._write_flagged(scored.lazy(), sliced)
    assert (sliced / "flagged.csv").read_bytes() == (whole / "flagged.csv").read_bytes()
    got = pl.read_csv(whole / "flagged.csv")
    expected = (
        scored.filter(pl.col("selected") | (pl.col("lane") != "green"))
        .sort(["selected", "risk_score", "row_index"], descending=[True, True, False])
        .get_column("container_number")
    )
    assert got.get_column("container_number").to_list() == expected.to_list()


class _WritesEveryChunk(_LocalRun):
    @property
    def in_process(self) -> bool:
        return False


@dataclass(frozen=True)
class _Spilling(Local):
    """Local scoring that writes every chunk as a scratch part (as a cluster does)."""

    @contextmanager
    def start(self, files: int) -> Iterator[_LocalRun]:
        yield _WritesEveryChunk()


def test_held_chunks_are_finalised_from_memory(
    tmp_path: Path, scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[str] = []
    real = parts_module.write_part

    def counting(path: Path, frame: pl.DataFrame) -> None:
        written.append(path.name)
        real(path, frame)

    monkeypatch.setattr(parts_module, "write_part", counting)
    path = _manifest(tmp_path, broken=True)
    options: dict[str, Any] = {"scorer": scorer, "capacity": Capacity.parse("10%")}
    # 37 rows in six chunks of 7 (the last of 2): held whole in 37 rows, not in 36.
    held = run_batch(path, out_dir=tmp_path / "held", chunk_rows=7, hold_rows=37, **options)
    assert written == []
    past = run_batch(path, out_dir=tmp_path / "past", chunk_rows=7, hold_rows=36, **options)
    assert written == [f"000000-part-{n:05d}.parquet" for n in range(6)]
    written.clear()
    spilled = run_batch(
        path, out_dir=tmp_path / "spilled", chunk_rows=7, executor=_Spilling(), **options
    )
    assert len(written) == 6
    written.clear()
    zero = run_batch(path, out_dir=tmp_path / "zero", chunk_rows=7, hold_rows=0, **options)
    assert len(written) == 6  # nothing held: every chunk a part, as on a cluster
    written.clear()
    whole = run_batch(path, out_dir=tmp_path / "whole", chunk_rows=7, **options)
    assert written == []  # the default holds a million rows
    for out in ("held", "past", "zero", "whole"):
        for name in ("scored.parquet", "quarantine.parquet"):
            assert_frame_equal(
                pl.read_parquet(tmp_path / out / name),
                pl.read_parquet(tmp_path / "spilled" / name),
            )
        assert (tmp_path / out / "flagged.csv").read_bytes() == (
            tmp_path / "spilled" / "flagged.csv"
        ).read_bytes()
        assert not (tmp_path / out / "_parts").exists()
    assert held.counts == past.counts == spilled.counts == zero.counts == whole.counts
    # A chunk larger than the budget is written too (one chunk of 37 rows, 10 held).
    written.clear()
    run_batch(path, out_dir=tmp_path / "one", chunk_rows=100, hold_rows=10, **options)
    assert written == ["000000-part-00000.parquet"]
    assert_frame_equal(
        pl.read_parquet(tmp_path / "one" / "scored.parquet"),
        pl.read_parquet(tmp_path / "spilled" / "scored.parquet"),
    )


def _readers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("lookout-read")}


def test_a_part_reads_back_as_the_frame_written_and_stores_string_views(tmp_path: Path) -> None:
    # Every kind of column a scored chunk can hold, nulls included: the part read back is
    # the frame; its stored Arrow schema holds string views (the writer's shortcut), while
    # the outputs' writers keep the schema older readers understand.
    import datetime as dt

    import pyarrow.parquet as pq

    frame = pl.DataFrame(
        {
            "text": ["a", None, "ccc"],
            "texts": [["x", None], None, []],
            "nothing": [None, None, None],
            "lane": pl.Series(["red", "green", None], dtype=pl.Enum(["green", "yellow", "red"])),
            "cat": pl.Series(["u", "v", "u"], dtype=pl.Categorical),
            "nested": [{"a": 1, "b": "z"}, None, {"a": 2, "b": None}],
            "filed": [dt.datetime(2026, 1, 1, tzinfo=dt.UTC), None, None],
            "score": pl.Series([0.5, None, 1.0], dtype=pl.Float64),
            "small": pl.Series([1, None, 3], dtype=pl.UInt8),
        }
    )
    path = tmp_path / "part.parquet"
    parts_module.write_part(path, frame)
    assert_frame_equal(pl.read_parquet(path), frame)
    assert pl.read_parquet_schema(path) == frame.schema
    assert str(pq.read_schema(path).field("text").type) == "string_view"
    out = tmp_path / "out.parquet"
    pl.scan_parquet(path).sink_parquet(out)
    assert str(pq.read_schema(out).field("text").type) == "large_string"


def test_a_failed_part_write_fails_the_run_and_stops_its_reader(
    tmp_path: Path, scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = _readers()
    real = parts_module.write_part

    def failing(path: Path, frame: pl.DataFrame) -> None:
        if path.name.endswith("00002.parquet"):
            raise OSError(28, "No space left on device")
        real(path, frame)

    monkeypatch.setattr(parts_module, "write_part", failing)
    path = _manifest(tmp_path, broken=True)
    with pytest.raises(OSError, match="No space left"):
        run_batch(
            path,
            scorer=scorer,
            out_dir=tmp_path / "out",
            capacity=Capacity.parse("10%"),
            chunk_rows=7,
            hold_rows=7,
        )
    assert not (tmp_path / "out" / "scored.parquet").exists()
    assert _readers() <= running
    # While the failure is being handled (its traceback holds the scoring's frames), the
    # reader has already stopped: it is closed where the chunks are read, not by the GC.
    task = parts_module.FileScoring(
        scorer=scorer,
        spec=default_spec(),
        parts=prepare_parts(tmp_path / "direct"),
        chunk_rows=7,
        held=parts_module.HeldChunks(7),
    )
    try:
        task(0, path)
    except OSError as err:
        assert err.__traceback__ is not None
        assert _readers() <= running
    else:
        pytest.fail("the part write did not fail")


def _scorers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("lookout-score")}


def test_chunks_scored_two_at_a_time_give_the_outputs_of_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every stage of the shipped configuration (history with fuzzy party keys, the UN
    list, rules, the model and its drift tally) with its memos shared by two chunks in
    flight: the outputs of scoring the chunks one after the other."""
    from api.wiring import build_scorer
    from engine.generate import generate
    from engine.history import HistoryStore

    data = generate(days=1, rows_per_day=400, seed=8, out_dir=tmp_path / "gen", history_days=20)
    assert data.history is not None
    runs: dict[int, RunRecord] = {}
    for in_flight in (1, 2):
        history = tmp_path / f"history-{in_flight}"
        HistoryStore(history).append(pl.read_parquet(data.history), batch_id="past")
        scorer = build_scorer(history_dir=history, append_history=False)
        monkeypatch.setattr(parts_module, "CHUNKS_IN_FLIGHT", in_flight)
        runs[in_flight] = run_batch(
            data.manifests[0], scorer=scorer, out_dir=tmp_path / f"out-{in_flight}", chunk_rows=37
        )
    one, two = (tmp_path / "out-1", tmp_path / "out-2")
    assert_frame_equal(
        pl.read_parquet(one / "scored.parquet"), pl.read_parquet(two / "scored.parquet")
    )
    assert (one / "flagged.csv").read_bytes() == (two / "flagged.csv").read_bytes()
    assert runs[1].counts == runs[2].counts and runs[1].drift == runs[2].drift
    assert runs[1].timings.keys() == runs[2].timings.keys()
    assert runs[2].counts["rows_scored"] == 400 and runs[2].drift


def test_a_batch_held_in_memory_and_one_in_parts_give_the_same_outputs_with_the_model(
    tmp_path: Path,
) -> None:
    """The shipped rules and model, with history, on two files (each file's rows numbered
    after the ones before): a batch held in memory, the same batch in scratch parts and in
    the partitioned layout give the same ``scored`` and the same ``flagged.csv`` bytes,
    model reasons included (one file's flagged rows come from the scored rows that can be
    flagged, the partitions' are read back from them)."""
    from api.wiring import build_scorer
    from engine.generate import generate
    from engine.history import HistoryStore

    data = generate(days=2, rows_per_day=200, seed=9, out_dir=tmp_path / "gen", history_days=20)
    assert data.history is not None and len(data.manifests) == 2
    source = str(data.manifests[0].parent / "*.csv")
    HistoryStore(tmp_path / "history").append(pl.read_parquet(data.history), batch_id="past")
    scorer = build_scorer(history_dir=tmp_path / "history", append_history=False)
    runs = {
        "held": {"hold_rows": 1_000},
        "parts": {"hold_rows": 0},
        "partitioned": {"layout": "partitioned"},
    }
    for name, options in runs.items():
        run_batch(
            source,
            scorer=scorer,
            out_dir=tmp_path / name,
            chunk_rows=150,
            capacity=Capacity.parse("1%"),  # red and yellow rows left unselected
            **options,  # type: ignore[arg-type]
        )
    _compare_runs(tmp_path / "held", tmp_path / "parts")
    held = pl.read_parquet(tmp_path / "held" / "scored.parquet")
    assert held["row_index"].to_list() == list(range(400))
    # Parts store string views; the outputs made from them keep the schema every reader
    # understands, as the one made from memory does.
    import pyarrow.parquet as pq

    outputs = [tmp_path / "held" / "scored.parquet", tmp_path / "parts" / "scored.parquet"]
    outputs += sorted((tmp_path / "partitioned" / "scored").glob("*.parquet"))
    schemas = [pq.read_schema(path).remove_metadata() for path in outputs]
    assert len(outputs) > 3 and all(s.equals(schemas[0]) for s in schemas)
    assert "view" not in str(schemas[0]) and "large_string" in str(schemas[0])
    assert all(
        pq.read_schema(path).equals(pq.read_schema(outputs[0]), check_metadata=True)
        for path in outputs
    )
    # The parts were copied into the outputs, not encoded again: a row group per part.
    meta = pq.read_metadata(outputs[1])
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [150, 50] * 2
    assert all(pq.read_metadata(path).num_row_groups == 1 for path in outputs[2:])
    assert_frame_equal(pl.read_parquet(tmp_path / "partitioned" / "scored" / "*.parquet"), held)
    assert (tmp_path / "partitioned" / "flagged.csv").read_bytes() == (
        tmp_path / "held" / "flagged.csv"
    ).read_bytes()
    flagged = pl.read_csv(tmp_path / "held" / "flagged.csv", infer_schema=False)
    unselected = flagged.filter(pl.col("selected") == "false")
    assert unselected.height >= 10 and unselected["source_file"].n_unique() == 2
    assert set(unselected["lane"]) <= {"red", "yellow"}
    # model reasons on the red rows and the selected ones (a control pick may have none)
    explained = flagged.filter((pl.col("selected") == "true") | (pl.col("lane") == "red"))
    assert explained["reasons"].str.contains(": +", literal=True).sum() >= 0.8 * explained.height


def test_a_chunk_failing_in_flight_fails_the_run_and_stops_the_scoring_threads(
    tmp_path: Path, scorer: Scorer
) -> None:
    running = _scorers()

    class FailsOnBl25:
        name = "fails"

        def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
            if "BL25" in frame["bl_number"].to_list():
                raise ValueError("chunk with BL25")
            return frame

        def fingerprint(self) -> dict[str, Any]:
            return {}

    failing = scorer.with_enrichers_first(FailsOnBl25())
    with pytest.raises(ValueError, match="chunk with BL25"):
        run_batch(
            _manifest(tmp_path, broken=False),
            scorer=failing,
            out_dir=tmp_path / "out",
            chunk_rows=7,
        )
    assert not (tmp_path / "out" / "scored.parquet").exists()
    assert _scorers() <= running and _readers() <= running


def test_read_ahead_keeps_order_errors_and_closes_its_source() -> None:
    running = _readers()
    produced: list[int] = []
    closed: list[bool] = []

    def source(fail_at: int | None) -> Iterator[int]:
        try:
            for n in range(5):
                if n == fail_at:
                    raise ValueError(f"bad item {n}")
                produced.append(n)
                yield n
        finally:
            closed.append(True)

    assert list(reading_module.ReadAhead(source(None))) == [0, 1, 2, 3, 4]
    got: list[int] = []
    with pytest.raises(ValueError, match="bad item 3"):
        for n in reading_module.ReadAhead(source(3)):
            got.append(n)
    assert got == [0, 1, 2]  # the error comes where item 3 would have
    produced.clear()
    closed.clear()
    ahead = reading_module.ReadAhead(source(None))
    assert next(ahead) == 0
    ahead.close()  # the caller stops early: the item read ahead is waited for (or not
    assert produced in ([0], [0, 1])  # started), and the source closed, not read on
    assert closed == [True]
    assert _readers() <= running


def test_read_ahead_reads_as_many_items_ahead_as_it_is_asked_in_order() -> None:
    """``depth=2`` (two chunks scored at once): two items are produced before the caller
    takes the first, and one more each time it takes one; order and errors as with one."""
    running = _readers()
    produced: list[int] = []

    def source(fail_at: int | None = None) -> Iterator[int]:
        for n in range(6):
            if n == fail_at:
                raise ValueError(f"bad item {n}")
            produced.append(n)
            yield n

    def settled(count: int) -> list[int]:
        deadline = time.monotonic() + 10
        while len(produced) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.1)  # a third item ahead would be produced by now
        return list(produced)

    ahead = reading_module.ReadAhead(source(), depth=2)
    assert settled(2) == [0, 1]
    assert next(ahead) == 0
    assert settled(3) == [0, 1, 2]
    assert list(ahead) == [1, 2, 3, 4, 5]
    got: list[int] = []
    with pytest.raises(ValueError, match="bad item 4"):
        for n in reading_module.ReadAhead(source(4), depth=2):
            got.append(n)
    assert got == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="at least 1"):
        reading_module.ReadAhead(source(), depth=0)
    assert _readers() <= running


def _compare_runs(one: Path, two: Path) -> None:
    assert_frame_equal(
        pl.read_parquet(one / "scored.parquet"), pl.read_parquet(two / "scored.parquet")
    )
    assert_frame_equal(
        pl.read_parquet(one / "quarantine.parquet"), pl.read_parquet(two / "quarantine.parquet")
    )
    assert (one / "flagged.csv").read_bytes() == (two / "flagged.csv").read_bytes()


def test_a_batch_read_early_scores_as_one_read_by_the_run(
    tmp_path: Path, scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lookout score` starts reading the first file before the scorer is built: the run
    takes those chunks (the file is read once) and its outputs and accounting are those of
    a run that reads the file itself."""
    running = _readers()
    source = _manifest(tmp_path, broken=True)
    reads: list[Path] = []
    original = reading_module.read_chunks

    def counted(path: Path | str, *args: Any, **kwargs: Any) -> Any:
        reads.append(Path(path))
        return original(path, *args, **kwargs)

    monkeypatch.setattr(reading_module, "read_chunks", counted)
    monkeypatch.setattr(parts_module, "read_chunks", counted)
    plain = run_batch(source, scorer=scorer, out_dir=tmp_path / "plain", chunk_rows=7)
    assert reads == [source]
    reads.clear()
    early = start_reading(source, None, 7)
    assert early is not None
    ahead = run_batch(source, scorer=scorer, out_dir=tmp_path / "early", chunk_rows=7, early=early)
    assert reads == [source]  # read once, by the early read
    _compare_runs(tmp_path / "plain", tmp_path / "early")
    assert ahead.counts == plain.counts and ahead.stages == plain.stages
    assert ahead.input == plain.input
    assert _readers() <= running


def test_an_early_read_of_another_chunk_size_is_closed_and_the_file_read_again(
    tmp_path: Path, scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = _readers()
    source = _manifest(tmp_path, broken=False)
    closed: list[bool] = []
    original = reading_module.read_chunks

    def watched(*args: Any, **kwargs: Any) -> Iterator[Any]:
        try:
            yield from original(*args, **kwargs)
        finally:
            closed.append(True)

    monkeypatch.setattr(reading_module, "read_chunks", watched)
    again: list[int] = []
    monkeypatch.setattr(
        parts_module,
        "read_chunks",
        lambda *a, **k: again.append(k["chunk_rows"]) or original(*a, **k),
    )
    early = start_reading(source, None, 11)
    assert early is not None
    run_batch(source, scorer=scorer, out_dir=tmp_path / "early", chunk_rows=7, early=early)
    assert closed == [True] and again == [7]  # stopped, and the file read in chunks of 7
    run_batch(source, scorer=scorer, out_dir=tmp_path / "plain", chunk_rows=7)
    _compare_runs(tmp_path / "plain", tmp_path / "early")
    assert _readers() <= running


def test_an_early_read_is_stopped_when_the_run_fails_first(tmp_path: Path, scorer: Scorer) -> None:
    running = _readers()
    source = _manifest(tmp_path, broken=False)
    early = start_reading(source, None, 7)
    assert early is not None
    with pytest.raises(PipelineError, match="layout"):
        run_batch(source, scorer=scorer, out_dir=tmp_path / "out", early=early, layout="sideways")
    assert _readers() <= running
    # nothing to read early from a missing file: the run reports it in its own place
    assert start_reading(tmp_path / "missing.csv") is None


def test_an_early_read_meets_a_bad_file_where_the_run_would(tmp_path: Path, scorer: Scorer) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really parquet")
    errors = []
    for early in (None, start_reading(bad, None, 7)):
        with pytest.raises(LookoutError) as raised:
            run_batch(bad, scorer=scorer, out_dir=tmp_path / "out", chunk_rows=7, early=early)
        errors.append(str(raised.value))
    assert errors[0] == errors[1]


def test_a_batch_whose_files_say_they_are_too_large_is_not_held(
    tmp_path: Path, scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parquet and Arrow IPC footers give the rows up front: a batch past ``hold_rows``
    writes each chunk as it comes instead of holding chunks up to the limit and writing
    them at once (which made the 10M-row run's memory peak)."""
    source = _manifest(tmp_path, broken=False)
    frame = pl.read_csv(source, infer_schema=False)
    parquet, ipc = tmp_path / "manifest.parquet", tmp_path / "manifest.arrow"
    frame.write_parquet(parquet)
    frame.write_ipc(ipc)
    assert rows_at_most([parquet], None) == 40
    assert rows_at_most([parquet, ipc], None) == 80
    assert rows_at_most([parquet, source], None) is None  # CSV: not known before reading
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    assert rows_at_most([parquet, empty], None) is None  # reported where it is read

    most_held: list[int] = []
    keep = parts_module.HeldChunks.keep

    def watched(self: parts_module.HeldChunks, path: Path, chunk: pl.DataFrame) -> None:
        keep(self, path, chunk)
        most_held.append(len(self.frames()))

    monkeypatch.setattr(parts_module.HeldChunks, "keep", watched)
    options: dict[str, Any] = {"scorer": scorer, "chunk_rows": 7}
    run_batch(parquet, out_dir=tmp_path / "fits", hold_rows=40, **options)
    assert max(most_held) == 6 and not (tmp_path / "fits" / "_parts").exists()
    most_held.clear()
    run_batch(parquet, out_dir=tmp_path / "large", hold_rows=39, **options)
    assert max(most_held) == 0  # every chunk written as it came
    most_held.clear()
    run_batch(source, out_dir=tmp_path / "csv", hold_rows=39, **options)
    assert max(most_held) == 5  # held until the sixth chunk passed the limit
    _compare_runs(tmp_path / "fits", tmp_path / "large")
    where = ["source_file", "source_line"]  # a CSV line is not a Parquet record number
    assert_frame_equal(
        pl.read_parquet(tmp_path / "csv" / "scored.parquet").drop(where),
        pl.read_parquet(tmp_path / "fits" / "scored.parquet").drop(where),
    )


def test_the_held_chunks_are_let_go_before_the_history_append(
    tmp_path: Path, scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A day's batch is held in memory until its outputs are written; the history append
    # after them must not run beside it (at 1M rows it held 0.9 GB more at its peak). The
    # chunks' data live as long as a frame reading them: the one the finalisation scans.
    import gc
    import weakref

    from engine import _finalise

    scans: list[weakref.ref[pl.LazyFrame]] = []
    real_scan = _finalise.scan_parts

    def scan(*args: Any, **kwargs: Any) -> pl.LazyFrame:
        frame = real_scan(*args, **kwargs)
        scans.append(weakref.ref(frame))
        return frame

    monkeypatch.setattr(_finalise, "scan_parts", scan)
    alive_at_append: list[int] = []

    class Witness:
        """A batch-aware stage that counts the scans of the held chunks alive at the append."""

        name = "witness"

        def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
            return frame

        def fingerprint(self) -> dict[str, Any]:
            return {}

        def begin_batch(self, batch: object) -> None:
            return None

        def end_batch(self, scored: pl.LazyFrame, batch: object) -> int:
            gc.collect()
            alive_at_append.append(sum(ref() is not None for ref in scans))
            return 0

    run_batch(
        _manifest(tmp_path, broken=False),
        scorer=scorer.with_enrichers_first(Witness()),
        out_dir=tmp_path / "out",
        chunk_rows=10,
    )
    assert len(scans) == 1
    assert alive_at_append == [0]
