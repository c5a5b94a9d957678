"""Training: time-based split, fitted features, LightGBM with early stopping, artifact.

The split is always by time: the model is fitted on earlier rows and early-stopped and
measured on later ones, as it will be used. Only labelled rows train (the label column is
not null and, when the recipe names one, ``labelled_only`` is true).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from engine.identity import frame_fingerprint
from models.artifact import ModelArtifact, build_card
from models.drift import fit_reference
from models.errors import MissingFeaturesError, TrainingDataError
from models.evaluate import evaluate_scores
from models.features import (
    FeaturePlan,
    fit_plan,
    label_expr,
    parse_time,
    to_matrix,
    training_features,
)
from models.forest import Forest
from models.recipe import ModelRecipe

if TYPE_CHECKING:
    import lightgbm as lgb

__all__ = ["TrainingSplit", "labelled_rows", "split_by_time", "train_model"]


@dataclass(frozen=True)
class TrainingSplit:
    """Labelled rows sorted by time, split into an earlier and a later part."""

    train: pl.DataFrame
    valid: pl.DataFrame
    cutoff: datetime


def labelled_rows(
    frame: pl.DataFrame, recipe: ModelRecipe, *, what: str = "training data"
) -> pl.DataFrame:
    """Rows with a label, with ``__label`` (0/1) and ``__time`` added, sorted by time."""
    needed = [recipe.label, recipe.time, *recipe.source_columns()]
    if recipe.labelled_only:
        needed.append(recipe.labelled_only)
    missing = [c for c in dict.fromkeys(needed) if c not in frame.columns]
    if missing:
        raise MissingFeaturesError(missing, available=frame.columns, source=what)
    rows = frame.with_columns(
        label_expr(recipe).alias("__label"), parse_time(frame, recipe.time).alias("__time")
    )
    if recipe.labelled_only:
        rows = rows.filter(pl.col(recipe.labelled_only).cast(pl.Boolean, strict=False))
    rows = rows.filter(pl.col("__label").is_not_null())
    if rows.height == 0:
        raise TrainingDataError(
            f"{what} has no labelled rows (label column '{recipe.label}' is empty)",
            hint="train on inspection history: rows with a recorded inspection result",
        )
    classes = rows.get_column("__label").unique().to_list()
    if len(classes) < 2:
        raise TrainingDataError(
            f"{what} has a single class in '{recipe.label}' (all {classes[0]}): "
            "nothing to learn from",
            hint=f"positive values are {list(recipe.positive)}; set model.positive in the "
            "spec if your data spells them differently",
        )
    return rows.with_row_index("__order").sort(["__time", "__order"]).drop("__order")


def split_by_time(rows: pl.DataFrame, recipe: ModelRecipe) -> TrainingSplit:
    """Split labelled rows at a time cutoff (``validation: {from: ...}`` or last fraction)."""
    times = rows.get_column("__time")
    if "from" in recipe.validation:
        cutoff = datetime.fromisoformat(str(recipe.validation["from"]))
    else:
        fraction = float(recipe.validation.get("last_fraction", 0.2))
        cutoff = times.quantile(1.0 - fraction, interpolation="higher")  # type: ignore[assignment]
    train = rows.filter(pl.col("__time") < cutoff)
    valid = rows.filter(pl.col("__time") >= cutoff)
    if train.height == 0 or valid.height == 0:
        raise TrainingDataError(
            f"the time split at {cutoff} leaves an empty part "
            f"({train.height} earlier rows, {valid.height} later rows)",
            hint="the history needs more than one time point; adjust model.validation",
        )
    return TrainingSplit(train, valid, cutoff)


def train_model(
    frame: pl.DataFrame,
    recipe: ModelRecipe,
    *,
    valid_frame: pl.DataFrame | None = None,
    data_hash: str | None = None,
) -> ModelArtifact:
    """Train on ``frame`` (later part early-stops) or on ``frame`` with ``valid_frame``.

    Without ``valid_frame`` the later part of ``frame`` (``recipe.validation``) early-stops
    and is evaluated; then, when ``recipe.refit`` is set, the model is refitted on all rows
    with the number of trees found, so the newest history is learnt from too (the card's
    metrics are those of the evaluated, earlier fit). With ``valid_frame`` all of ``frame``
    trains and ``valid_frame`` (which must be later) early-stops and is evaluated.
    """
    rows = labelled_rows(frame, recipe)
    if valid_frame is None:
        split = split_by_time(rows, recipe)
    else:
        later = labelled_rows(valid_frame, recipe, what="validation data")
        cutoff = later.get_column("__time").min()
        split = TrainingSplit(rows, later, cutoff)  # type: ignore[arg-type]
        if rows.get_column("__time").max() > cutoff:  # type: ignore[operator]
            raise TrainingDataError(
                "validation data starts before the training data ends; the evaluation "
                "period must be later than the training period",
                hint="split by time: train on earlier months, validate on later ones",
            )
    _check_classes(split.train, "the training period")
    label = split.train.get_column("__label")
    plan = fit_plan(split.train, recipe, label)
    x_train = to_matrix(
        training_features(split.train, plan, label, split.train.get_column("__time"))
    )
    x_valid = plan.matrix(split.valid)
    y_train = label.to_numpy()
    y_valid = split.valid.get_column("__label").to_numpy()
    booster, params = _fit(plan, recipe, x_train, y_train, x_valid, y_valid)
    forest = Forest.from_model_string(booster.model_to_string())
    valid_scores = forest.predict(x_valid)
    metrics = evaluate_scores(y_valid, valid_scores)
    best = booster.current_iteration()
    card = build_card(
        recipe=recipe,
        plan=plan,
        params=params,
        best_iteration=best,
        train=split.train,
        valid=split.valid,
        data_hash=data_hash or frame_fingerprint(frame),
        metrics=metrics,
    )
    if valid_frame is None and recipe.refit:
        label = rows.get_column("__label")
        plan = fit_plan(rows, recipe, label)
        x_all = to_matrix(training_features(rows, plan, label, rows.get_column("__time")))
        booster = _refit(plan, params, x_all, label.to_numpy(), best)
        forest = Forest.from_model_string(booster.model_to_string())
        card["feature_plan"] = plan.to_dict()
        card["features"] = plan.names
        card["refit"] = {
            "rows": rows.height,
            "trees": best,
            "to": str(rows.get_column("__time").max()),
            "note": "metrics are those of the fit evaluated on the later period",
        }
    reference = fit_reference(frame, plan, forest, card, recipe.time)
    card["drift_reference"] = reference.to_dict()
    return ModelArtifact(booster.model_to_string(), card, plan, forest)


def _refit(
    plan: FeaturePlan, params: dict[str, Any], x: np.ndarray, y: np.ndarray, trees: int
) -> lgb.Booster:
    import lightgbm as lgb  # only to train: scoring needs no LightGBM (start-up)

    fit_params = {
        k: v for k, v in params.items() if k not in ("num_boost_round", "early_stopping_rounds")
    }
    data = lgb.Dataset(
        x,
        y,
        feature_name=plan.names,
        categorical_feature=plan.categorical_names or "auto",
        params={"verbose": -1},
    )
    return lgb.train(fit_params, data, num_boost_round=max(trees, 1))


def _fit(
    plan: FeaturePlan,
    recipe: ModelRecipe,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
) -> tuple[lgb.Booster, dict[str, Any]]:
    import lightgbm as lgb  # only to train: scoring needs no LightGBM (start-up)

    params = recipe.lightgbm_params()
    rounds = int(params.pop("num_boost_round"))
    patience = int(params.pop("early_stopping_rounds"))
    # Early-stop on average precision: it reflects ranking of the rare positives, which is
    # what an inspection quota uses; log loss keeps the probabilities honest as a second check.
    params.setdefault("metric", ["average_precision", "binary_logloss"])
    params.setdefault("first_metric_only", True)
    dtrain = lgb.Dataset(
        x_train,
        y_train,
        feature_name=plan.names,
        categorical_feature=plan.categorical_names or "auto",
        params={"verbose": -1},
        free_raw_data=True,
    )
    dvalid = lgb.Dataset(x_valid, y_valid, reference=dtrain)
    booster = lgb.train(
        params,
        dtrain,
        num_boost_round=rounds,
        valid_sets=[dvalid],
        callbacks=[lgb.early_stopping(patience, verbose=False)],
    )
    best = booster.best_iteration or booster.current_iteration()
    # Keep only the trees up to the best iteration so model.txt is exactly what scores.
    trimmed = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    return trimmed, {**params, "num_boost_round": rounds, "early_stopping_rounds": patience}


def _check_classes(rows: pl.DataFrame, what: str) -> None:
    if rows.get_column("__label").n_unique() < 2:
        raise TrainingDataError(
            f"{what} has a single class: nothing to learn from",
            hint="use a longer history or move model.validation later",
        )
