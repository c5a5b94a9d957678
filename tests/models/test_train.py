"""Training: time split, leakage-free encodings, determinism, artifacts and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal, assert_series_equal

from engine.stages import ExplainingStage
from models import (
    ArtifactError,
    MissingFeaturesError,
    ModelStage,
    RecipeError,
    TrainingDataError,
    load_model,
    train_model,
)
from models.features import fit_plan, to_matrix, training_features
from models.train import labelled_rows, split_by_time
from tests.models._history import history, recipe


@pytest.fixture(scope="module")
def trained():  # type: ignore[no-untyped-def]
    return train_model(history(), recipe())


def test_split_is_by_time() -> None:
    rows = labelled_rows(history(), recipe())
    split = split_by_time(rows, recipe())
    assert split.train["__time"].max() < split.valid["__time"].min()
    assert split.valid.height == pytest.approx(0.2 * rows.height, rel=0.1)


def test_entity_encoding_uses_only_the_past() -> None:
    frame = pl.DataFrame(
        {
            "when": ["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-03"],
            "importer": ["X", "X", "X", "X"],
            "fraud": [1, 0, 1, 0],
            "w": [1.0, 2.0, 3.0, 4.0],
        }
    )
    r = recipe(numeric=["w"], categorical=[], ratios={}, prefixes={}, entities=["importer"])
    rows = labelled_rows(frame, r)
    label = rows["__label"]
    plan = fit_plan(rows, r, label)
    feats = training_features(rows, plan, label, rows["__time"])
    # Same-day rows see nothing; the next day sees both earlier rows, never its own label.
    assert feats["count_importer"].to_list() == [0.0, 0.0, 2.0, 3.0]
    m, prior = plan.strength, plan.prior
    expected = [prior, prior, (1 + m * prior) / (2 + m), (2 + m * prior) / (3 + m)]
    assert feats["rate_importer"].to_list() == pytest.approx(expected)
    # At scoring time the whole training history is the past.
    scored = plan.transform(pl.DataFrame({"importer": ["X", "new"], "w": [1.0, 1.0]}))
    assert scored["count_importer"].to_list() == [4.0, 0.0]
    assert scored["rate_importer"].to_list() == pytest.approx([(2 + m * prior) / (4 + m), prior])


def test_scoring_features_worked_out_per_distinct_value_are_the_expressions() -> None:
    """``FeaturePlan.prepare`` evaluates the keyed features once per distinct source value:
    the same values, dtypes and order as the per-row expressions, for padded, empty, null,
    unseen and non-text values, a prefix feature and an entity rate sharing a source."""
    r = recipe(categorical=["office", "packages"], prefixes={"hs_code": [2, 4]})
    rows = labelled_rows(history(), r)
    plan = fit_plan(rows, r, rows["__label"])
    assert {f.kind for f in plan.features} >= {
        "numeric",
        "ratio",
        "categorical",
        "entity_count",
        "entity_rate",
    }
    frame = history(400, seed=11)
    i = pl.int_range(pl.len())
    frame = frame.with_columns(
        pl.when(i % 7 == 0)
        .then(None)
        .when(i % 7 == 1)
        .then(pl.lit(" C "))
        .when(i % 7 == 2)
        .then(pl.lit(""))
        .when(i % 7 == 3)
        .then(pl.lit("Z"))
        .otherwise(pl.col("office"))
        .alias("office"),
        pl.when(i % 5 == 0).then(None).otherwise(pl.col("importer")).alias("importer"),
        pl.when(i % 6 == 0).then(pl.lit("9")).otherwise(pl.col("hs_code")).alias("hs_code"),
        pl.when(i % 4 == 0).then(None).otherwise(pl.col("packages")).alias("packages"),
    )
    for rows_ in (frame, frame.head(1), frame.head(0)):
        expected = rows_.select(plan.expressions())
        prepared = plan.prepare(rows_)
        assert_frame_equal(prepared.features, expected)
        np.testing.assert_array_equal(
            prepared.matrix(), to_matrix(expected, order="F"), strict=True
        )
        for source, (values, codes) in prepared.sources.items():
            assert_series_equal(
                values.gather(codes), rows_[source].cast(pl.String), check_names=False
            )


def test_training_learns_and_is_deterministic(trained) -> None:  # type: ignore[no-untyped-def]
    metrics = trained.card["metrics"]
    assert metrics["roc_auc"] > 0.7
    again = train_model(history(), recipe())
    assert again.model_text.split("parameters:")[0] == trained.model_text.split("parameters:")[0]
    assert again.model_hash == trained.model_hash


def test_artifact_roundtrip_scores_identically(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = trained.save(tmp_path / "m")
    assert sorted(p.name for p in folder.iterdir()) == ["card.json", "model.txt"]
    loaded = load_model(folder)
    frame = history(200, seed=9)
    a = ModelStage(trained).apply(frame)["model_probability"]
    b = ModelStage(loaded).apply(frame)["model_probability"]
    assert_series_equal(a, b)
    booster = loaded.booster()
    expected = booster.predict(loaded.plan.matrix(frame))
    np.testing.assert_allclose(b.to_numpy(), expected, atol=1e-12)
    card = json.loads((folder / "card.json").read_text())
    assert {
        "features",
        "feature_plan",
        "training_window",
        "data_hash",
        "params",
        "metrics",
        "versions",
    } <= set(card)


def test_stage_explains_in_plain_language(trained) -> None:  # type: ignore[no-untyped-def]
    stage = ModelStage(trained)
    assert isinstance(stage, ExplainingStage) and stage.name == "model"
    frame = history(50, seed=4)
    out = stage.explain(stage.apply(frame), top=3)
    assert out.schema["model_reasons"] == pl.List(pl.String)
    reasons = out["model_reasons"].explode().drop_nulls().to_list()
    assert reasons, "some rows must have positive contributions"
    assert all(": +" in r for r in reasons)
    assert any(r.startswith(("office = C", "importer past positive rate")) for r in reasons)
    assert out["model_reasons"].list.len().max() <= 3
    fp = stage.fingerprint()
    assert fp["model_hash"] == trained.model_hash and fp["card"]["n_trees"] > 0


def test_stage_explains_nothing_when_asked_for_no_reason(trained) -> None:  # type: ignore[no-untyped-def]
    stage = ModelStage(trained)
    frame = stage.apply(history(30, seed=5))
    for rows, top in ((frame, 0), (frame.head(0), 3)):
        out = stage.explain(rows, top=top)
        assert out.height == rows.height
        for column in ("model_reasons", "model_reasons_ru"):
            assert out.schema[column] == pl.List(pl.String)
            assert out[column].list.len().sum() == 0 and out[column].null_count() == 0


def test_missing_features_are_named(trained) -> None:  # type: ignore[no-untyped-def]
    frame = history(20).drop("office", "packages")
    with pytest.raises(MissingFeaturesError, match=r"office, packages|packages, office"):
        ModelStage(trained).apply(frame)


def test_no_labels() -> None:
    frame = history().with_columns(pl.lit(None, dtype=pl.Int64).alias("fraud"))
    with pytest.raises(TrainingDataError, match="no labelled rows"):
        train_model(frame, recipe())


def test_single_class() -> None:
    frame = history().with_columns(pl.lit(0).alias("fraud"))
    with pytest.raises(TrainingDataError, match="single class"):
        train_model(frame, recipe())


def test_time_that_does_not_parse() -> None:
    frame = history().with_columns(
        pl.when(pl.int_range(pl.len()) == 7)
        .then(pl.lit("31/31/2024"))
        .otherwise(pl.col("when"))
        .alias("when")
    )
    with pytest.raises(TrainingDataError, match=r"'when' does not parse.*31/31/2024"):
        train_model(frame, recipe())


def test_recipe_naming_missing_columns() -> None:
    with pytest.raises(MissingFeaturesError, match="tonnage"):
        train_model(history(), recipe(numeric=["tonnage"]))


def test_recipe_errors() -> None:
    with pytest.raises(RecipeError, match="unknown key 'labels' in the model section"):
        recipe(labels="x")
    with pytest.raises(RecipeError, match="leak"):
        recipe(numeric=["fraud"])


def test_tampered_artifact(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = trained.save(tmp_path / "m")
    card = json.loads((folder / "card.json").read_text())
    card["versions"]["lightgbm"] = "1.0.0"
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(ArtifactError, match=r"LightGBM 1\.0\.0"):
        load_model(folder)
    card["versions"]["lightgbm"] = trained.card["versions"]["lightgbm"]
    card["features"] = card["features"][::-1]
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(ArtifactError, match="disagree on the features"):
        load_model(folder)
    with pytest.raises(ArtifactError, match=r"missing model\.txt"):
        load_model(tmp_path)


def test_a_card_of_before_with_a_16_digit_model_hash_loads(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = trained.save(tmp_path / "m")
    card = json.loads((folder / "card.json").read_text())
    assert card["model_hash"] == trained.model_hash and len(trained.model_hash) == 64
    card["model_hash"] = trained.model_hash[:16]  # as cards were written before
    (folder / "card.json").write_text(json.dumps(card))
    assert load_model(folder).model_hash == trained.model_hash
    card["model_hash"] = "0" * 16
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(ArtifactError, match="does not match"):
        load_model(folder)


def test_refit_uses_all_rows_with_the_trees_found(trained) -> None:  # type: ignore[no-untyped-def]
    refit = trained.card["refit"]
    rows = labelled_rows(history(), recipe())
    assert refit["rows"] == rows.height
    assert trained.forest.num_trees == refit["trees"] == trained.card["best_iteration"]
    counts = next(f for f in trained.plan.features if f.kind == "entity_count").extra["counts"]
    assert sum(counts.values()) == rows.height  # the plan was refitted on every row
    no_refit = train_model(history(), recipe(refit=False))
    assert "refit" not in no_refit.card


def test_recipe_errors_in_a_spec_file_are_located(tmp_path: Path) -> None:
    from models.recipe import load_recipe

    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "kind: dataset_spec\nrecord_id: ID\nextra:\n  ID: {role: id}\n  Fraud: {role: label}\n"
        "  Mass: {role: numeric}\nmodel:\n  label: Fraud\n  numeric: [Mass]\n  sed: 3\n"
    )
    with pytest.raises(RecipeError) as err:
        load_recipe(spec)
    assert str(err.value.location) == f"{spec}:10:3"
    assert err.value.message == "unknown key 'sed' in the model section"
    assert err.value.hint == "did you mean 'seed'?"
    spec.write_text(spec.read_text().replace("  sed: 3\n", ""))
    assert load_recipe(spec).numeric == ("Mass",)
