"""Drift: references in the card, additive tallies, PSI, and alarms on planted shifts.

The planted-shift tests score generated days end to end (``run_batch`` with a model trained
on the generated history) and read ``run.json``: an unchanged day raises no alarm; a new
loading port, a changed HS mix and a weight unit change (tonnes sent as kilograms ×1000)
each raise the alarm that names them.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.pipeline import run_batch
from engine.policy import Capacity, DriftThresholds, PolicyError, ScoringPolicy
from engine.prepare import prepare
from engine.reference import ReferenceData
from engine.scorer import Scorer
from models import ModelStage, load_model
from models.artifact import ModelArtifact
from models.drift import (
    DriftReference,
    DriftTally,
    _category_slot,
    _numeric_slot,
    build_reference,
    drift_report,
    psi,
    tally,
)
from models.features import Feature, FeaturePlan
from tests.models._drift_world import drift_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A trained model, its folder, and two unchanged generated days (Parquet)."""
    return drift_world(tmp_path_factory.mktemp("drift"))


def _score(world: dict[str, Any], manifest: Path, name: str) -> dict[str, Any]:
    scorer = Scorer(
        refs=ReferenceData.load(),
        policy=ScoringPolicy.load(),
        model=ModelStage(load_model(world["model"])),
    )
    out = world["root"] / "runs" / name
    run_batch(manifest, scorer=scorer, out_dir=out, capacity=Capacity.parse("2%"), chunk_rows=400)
    drift: dict[str, Any] = json.loads((out / "run.json").read_text())["drift"]
    return drift


def _shifted(world: dict[str, Any], name: str, change: pl.Expr | list[pl.Expr]) -> Path:
    day = pl.read_parquet(world["days"][1])
    path = world["root"] / f"{name}.parquet"
    day.with_columns(change).write_parquet(path)
    return path


def test_card_keeps_the_reference_and_the_model_hash_ignores_it(world: dict[str, Any]) -> None:
    card = json.loads((world["model"] / "card.json").read_text())
    ref = DriftReference.from_dict(card["drift_reference"])
    artifact = load_model(world["model"])
    assert [f.name for f in ref.features] == artifact.plan.names
    assert sum(ref.score_counts) == ref.rows == sum(ref.features[0].counts)
    without = ModelArtifact(artifact.model_text, {}, artifact.plan, artifact.forest)
    assert without.model_hash == artifact.model_hash


def test_an_unchanged_day_raises_no_alarm(world: dict[str, Any]) -> None:
    drift = _score(world, world["days"][1], "same")
    assert drift["status"] == "ok", drift["alarms"]
    assert drift["alarms"] == []
    assert drift["rows"] == 1500
    assert drift["max_psi"] < 0.25
    assert drift["score_psi"] < 0.25
    assert drift["unseen_share"] < 0.05
    assert set(drift["features"]) == set(load_model(world["model"]).plan.names)


def test_a_new_route_raises_the_unseen_category_alarm(world: dict[str, Any]) -> None:
    ref = load_model(world["model"]).drift_reference()
    assert ref is not None
    ports = next(f for f in ref.features if f.field == "port_of_loading").categories
    assert "ISREY" not in ports
    every_tenth = (pl.int_range(pl.len()) % 10) == 0
    path = _shifted(
        world,
        "route",
        pl.when(every_tenth)
        .then(pl.lit("ISREY"))
        .otherwise(pl.col("port_of_loading"))
        .alias("port_of_loading"),
    )
    drift = _score(world, path, "route")
    assert drift["status"] == "alarm"
    assert drift["unseen_share"] == pytest.approx(0.1, abs=0.01)
    assert any("never seen in training" in a and "port_of_loading" in a for a in drift["alarms"])
    _reads_russian(drift["alarms"])


def test_a_changed_hs_mix_raises_the_psi_alarm(world: dict[str, Any]) -> None:
    half = (pl.int_range(pl.len()) % 2) == 0
    path = _shifted(
        world,
        "hs",
        pl.when(half).then(pl.lit("271019")).otherwise(pl.col("hs_code")).alias("hs_code"),
    )
    drift = _score(world, path, "hs")
    assert drift["status"] == "alarm"
    assert drift["features"]["cat_hs_chapter"]["psi"] >= 0.25
    assert any(a.startswith("hs_chapter: PSI") for a in drift["alarms"])


def test_a_weight_unit_change_raises_the_psi_alarm(world: dict[str, Any]) -> None:
    path = _shifted(world, "weight", pl.col("gross_weight_kg") * 1000)
    drift = _score(world, path, "weight")
    assert drift["status"] == "alarm"
    for field in ("gross_weight_kg", "kg_per_package"):
        assert any(a.startswith(f"{field}: PSI") for a in drift["alarms"])
    _reads_russian(drift["alarms"])
    assert drift["max_psi"] > 1.0


def test_small_batches_report_without_alarms(world: dict[str, Any]) -> None:
    day = pl.read_parquet(world["days"][1]).head(100)
    path = world["root"] / "small.parquet"
    day.with_columns(pl.col("gross_weight_kg") * 1000).write_parquet(path)
    drift = _score(world, path, "small")
    assert drift["status"] == "too_few_rows"
    assert drift["alarms"] == []
    assert drift["features"]["num_gross_weight_kg"]["psi"] > 1.0


@settings(max_examples=15, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=1500), min_size=1, max_size=4))
def test_tallies_of_chunks_add_up_to_the_whole(world: dict[str, Any], cuts: list[int]) -> None:
    artifact: ModelArtifact = world["artifact"]
    reference = artifact.drift_reference()
    assert reference is not None
    frame = _prepared_day(world)
    whole = tally(frame, reference, artifact.plan)
    bounds = [0, *sorted(cuts), frame.height]
    parts = [
        tally(frame.slice(a, b - a), reference, artifact.plan)
        for a, b in itertools.pairwise(bounds)
    ]
    merged = parts[0]
    for part in reversed(parts[1:]):  # any order
        merged = merged.merge(part)
    assert merged.rows == whole.rows
    assert merged.unseen_rows == whole.unseen_rows
    assert merged.score_above_p90 == whole.score_above_p90
    np.testing.assert_array_equal(merged.score, whole.score)
    for name, counts in whole.features.items():
        np.testing.assert_array_equal(merged.features[name], counts)


_PREPARED: dict[str, pl.DataFrame] = {}


def _prepared_day(world: dict[str, Any]) -> pl.DataFrame:
    if "day" not in _PREPARED:
        day = prepare(pl.read_parquet(world["days"][0]))
        stage = ModelStage(world["artifact"])
        _PREPARED["day"] = stage.apply(day)
    return _PREPARED["day"]


def _per_row_tally(frame: pl.DataFrame, reference: DriftReference, plan: FeaturePlan) -> DriftTally:
    """The tally as first written: a slot for every row and feature, then ``bincount``."""
    by_name = {f.name: f for f in plan.features}
    wanted = [
        (f, e)
        for f, e in zip(plan.features, plan.expressions(), strict=True)
        if f.kind != "categorical"
    ]
    values = frame.select([e.cast(pl.Float64).alias(f.name) for f, e in wanted])
    numeric = {
        f.name: values.get_column(f.name).fill_nan(None).to_numpy().astype(np.float64)
        for f, _ in wanted
    }
    cat_refs = [r for r in reference.features if r.kind == "categorical"]
    slots_frame = frame.select([_category_slot(by_name[r.name], r).alias(r.name) for r in cat_refs])
    counts = {}
    unseen_any = np.zeros(frame.height, dtype=bool)
    for ref in reference.features:
        if ref.kind == "categorical":
            slot = slots_frame.get_column(ref.name).to_numpy().astype(np.int64)
            unseen_any |= slot == 1
        else:
            slot = _numeric_slot(numeric[ref.name], ref.edges)
        counts[ref.name] = np.bincount(slot, minlength=ref.slots).astype(np.int64)
    if "model_probability" in frame.columns:
        score = frame.get_column("model_probability").cast(pl.Float64).to_numpy()
    else:
        score = np.full(frame.height, np.nan)
    score_slots = _numeric_slot(score, reference.score_edges)
    return DriftTally(
        rows=frame.height,
        features=counts,
        score=np.bincount(score_slots, minlength=3 + len(reference.score_edges)).astype(np.int64),
        score_above_p90=int(np.count_nonzero(score > reference.score_p90)),
        unseen_rows=int(np.count_nonzero(unseen_any)),
    )


def _assert_same_tally(got: DriftTally, want: DriftTally) -> None:
    assert (got.rows, got.unseen_rows, got.score_above_p90) == (
        want.rows,
        want.unseen_rows,
        want.score_above_p90,
    )
    assert got.score.dtype == want.score.dtype == np.int64
    np.testing.assert_array_equal(got.score, want.score)
    assert list(got.features) == list(want.features)
    for name, counts in want.features.items():
        assert got.features[name].dtype == np.int64, name
        np.testing.assert_array_equal(got.features[name], counts, err_msg=name)


def _awkward(frame: pl.DataFrame, reference: DriftReference) -> pl.DataFrame:
    """``frame`` with unseen, blank, padded and missing categories, values on the bin edges,
    NaN and infinities, and missing model scores."""
    i = pl.int_range(pl.len())
    weight_edges = next(f.edges for f in reference.features if f.field == "gross_weight_kg")
    on_edge = pl.lit(pl.Series(list(weight_edges))).get(i % len(weight_edges))
    return frame.with_columns(
        pl.when(i % 7 == 0)
        .then(pl.lit("ISREY"))
        .when(i % 7 == 1)
        .then(pl.lit("  "))
        .when(i % 7 == 2)
        .then(None)
        .when(i % 7 == 3)
        .then(pl.lit(" ") + pl.col("port_of_loading") + pl.lit(" "))
        .otherwise(pl.col("port_of_loading"))
        .alias("port_of_loading"),
        pl.when(i % 11 == 0).then(pl.lit("")).otherwise(pl.col("iso_type")).alias("iso_type"),
        pl.when(i % 5 == 0)
        .then(on_edge)
        .when(i % 5 == 1)
        .then(float("nan"))
        .when(i % 5 == 2)
        .then(None)
        .when(i % 13 == 3)
        .then(float("inf"))
        .when(i % 13 == 4)
        .then(float("-inf"))
        .otherwise(pl.col("gross_weight_kg"))
        .alias("gross_weight_kg"),
        pl.when(i % 9 == 0)
        .then(None)
        .otherwise(pl.col("model_probability"))
        .alias("model_probability"),
        pl.when(i % 4 == 0).then(None).otherwise(pl.col("packages")).alias("packages"),
    )


def test_tally_counts_as_slotting_every_row(world: dict[str, Any]) -> None:
    artifact: ModelArtifact = world["artifact"]
    reference = artifact.drift_reference()
    assert reference is not None
    day = _prepared_day(world)
    _assert_same_tally(
        tally(day, reference, artifact.plan), _per_row_tally(day, reference, artifact.plan)
    )
    odd = _awkward(day, reference)
    got = tally(odd, reference, artifact.plan)
    _assert_same_tally(got, _per_row_tally(odd, reference, artifact.plan))
    _assert_same_tally(tally(odd, reference, artifact.plan, artifact.plan.prepare(odd)), got)
    assert got.unseen_rows > odd.height // 7
    assert got.features["num_gross_weight_kg"][0] > 0  # NaN and null are missing
    no_score = odd.drop("model_probability")
    _assert_same_tally(
        tally(no_score, reference, artifact.plan),
        _per_row_tally(no_score, reference, artifact.plan),
    )
    empty = odd.head(0)
    _assert_same_tally(
        tally(empty, reference, artifact.plan), _per_row_tally(empty, reference, artifact.plan)
    )


def test_tally_counts_as_slotting_every_row_for_shared_and_non_text_sources(
    world: dict[str, Any],
) -> None:
    """Prefix features sharing a source, a categorical integer source, a ratio, and a
    reference whose edges are not increasing (slotted row by row)."""
    day = _prepared_day(world)
    plan = FeaturePlan(
        (
            Feature("num_weight", "numeric", "gross_weight_kg", "gross_weight_kg"),
            Feature("ratio_kg", "ratio", "gross_weight_kg", "kg", {"denominator": "packages"}),
            Feature(
                "cat2_hs", "categorical", "hs_code", "hs (first 2)", {"prefix": 2, "codes": {}}
            ),
            Feature(
                "cat4_hs", "categorical", "hs_code", "hs (first 4)", {"prefix": 4, "codes": {}}
            ),
            Feature("cat_hs", "categorical", "hs_code", "hs", {"prefix": None, "codes": {}}),
            Feature(
                "cat_packages", "categorical", "packages", "packages", {"prefix": None, "codes": {}}
            ),
        ),
        prior=0.1,
        strength=10.0,
    )
    i = pl.int_range(pl.len())
    # 0.0 and -0.0 are one group to polars but two categories as text ("0.0", "-0.0").
    day = day.with_columns(
        pl.when(i % 10 == 5)
        .then(-0.0)
        .when(i % 10 == 6)
        .then(0.0)
        .otherwise(pl.col("packages"))
        .alias("packages")
    )
    half = day.head(day.height // 2)
    rng = np.random.default_rng(5)
    reference = build_reference(half, plan, rng.random(half.height))
    later = _awkward(day.tail(day.height - half.height), world["artifact"].drift_reference())
    later = later.with_columns(
        pl.when(i % 6 == 0).then(pl.lit("999999")).otherwise(pl.col("hs_code")).alias("hs_code")
    )
    got = tally(later, reference, plan)
    _assert_same_tally(got, _per_row_tally(later, reference, plan))
    assert got.unseen_rows > 0
    # the model stage's own features of the rows, counted instead of worked out again
    _assert_same_tally(tally(later, reference, plan, plan.prepare(later)), got)
    shuffled = dataclasses.replace(
        reference,
        features=tuple(
            dataclasses.replace(f, edges=tuple(reversed(f.edges))) if f.edges else f
            for f in reference.features
        ),
        score_edges=(0.5, 0.2, float("nan")),
    )
    _assert_same_tally(tally(later, shuffled, plan), _per_row_tally(later, shuffled, plan))


def test_psi_is_zero_for_the_same_shares_and_grows_with_the_shift() -> None:
    ref = [100, 200, 300, 400]
    assert psi(ref, [10, 20, 30, 40]) == pytest.approx(0.0)
    small = psi(ref, [110, 190, 300, 400])
    large = psi(ref, [400, 300, 200, 100])
    assert 0 < small < 0.01 < large
    # slots under 1 % of the reference are merged, so their noise does not count
    assert psi([1000, 3, 2, 1], [1000, 0, 0, 6]) == pytest.approx(0.0)


def test_report_without_rows_and_thresholds_from_the_policy(world: dict[str, Any]) -> None:
    reference = world["artifact"].drift_reference()
    assert drift_report(reference, None, DriftThresholds())["status"] == "no_rows"
    policy = ScoringPolicy.from_dict({"drift": {"feature_psi": 0.5, "min_rows": 10}})
    assert policy.drift.feature_psi == 0.5 and policy.drift.min_rows == 10
    assert policy.drift.score_psi == 0.25
    with pytest.raises(PolicyError, match="unknown key 'feature_pis' in 'drift'") as err:
        ScoringPolicy.from_dict({"drift": {"feature_pis": 0.5}})
    assert err.value.location is not None and err.value.location.field == "drift.feature_pis"
    assert err.value.hint == "did you mean 'feature_psi'?"
    with pytest.raises(PolicyError, match="'score_psi' must be more than 0"):
        ScoringPolicy.from_dict({"drift": {"score_psi": 0}})


def test_the_cli_summary_warns(world: dict[str, Any]) -> None:
    from tests.test_cli import lookout

    path = _shifted(world, "weight-cli", pl.col("gross_weight_kg") * 1000)
    out = world["root"] / "runs" / "cli"
    done = lookout(
        "score", str(path), "--model", str(world["model"]), "--no-rules", "--no-watchlist",
        "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "drift vs training" in done.stdout
    assert "drift warning: gross_weight_kg: PSI" in done.stdout


def _reads_russian(alarms: list[str]) -> None:
    """Each warning the engine wrote is recognised and shown in Russian (pages, CLI)."""
    from api.i18n import localise_note, use_locale
    from tests._english import assert_no_english_left

    assert alarms
    with use_locale("ru"):
        for alarm in alarms:
            russian = localise_note(alarm)
            assert russian != alarm and re.search("[а-яё]", russian), alarm
            assert_no_english_left(russian, alarm)
            assert not re.search(r"\b[a-z]+_[a-z_]+\b", russian), russian  # feature labels
