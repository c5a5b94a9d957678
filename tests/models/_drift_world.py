"""Generated days and a small model trained on the generated history, for drift tests."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import polars as pl

from engine.generate import TypologyRates, generate
from engine.prepare import prepare
from models import train_model
from models.recipe import ModelRecipe

RECIPE: dict[str, Any] = {
    "label": "inspection_result",
    "positive": ["seizure", "irregularity"],
    "labelled_only": "inspected",
    "time": "filed_at",
    "numeric": ["gross_weight_kg", "declared_value", "packages", "kg_per_package", "is_reefer"],
    "categorical": ["port_of_loading", "origin_country", "hs_chapter", "iso_type"],
    "validation": {"last_fraction": 0.25},
    "params": {
        "num_boost_round": 30,
        "early_stopping_rounds": 10,
        "num_leaves": 7,
        "min_data_in_leaf": 20,
        "num_threads": 1,
    },
    "min_category_count": 10,
    "seed": 3,
}


def drift_world(root: Path) -> dict[str, Any]:
    """A trained model (``model``: its folder, ``artifact``) and two unchanged generated
    days (``days``: Parquet manifests of 1,500 rows), under ``root``."""
    rates = TypologyRates(**{k: v * 5 for k, v in asdict(TypologyRates()).items()})
    data = generate(
        days=2,
        rows_per_day=1500,
        seed=11,
        out_dir=root / "gen",
        history_days=35,
        history_rows_per_day=800,
        formats=("parquet",),
        rates=rates,
    )
    assert data.history is not None
    history = prepare(pl.read_parquet(data.history))
    artifact = train_model(history, ModelRecipe.from_dict(RECIPE))
    folder = artifact.save(root / "model")
    return {"root": root, "model": folder, "days": data.manifests, "artifact": artifact}
