"""A tiny labelled history for model tests: signal in a number, a category and an entity."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from models.recipe import ModelRecipe

FAST_PARAMS: dict[str, Any] = {
    "num_boost_round": 40,
    "early_stopping_rounds": 10,
    "num_leaves": 7,
    "min_data_in_leaf": 10,
    "min_data_per_group": 10,
    "num_threads": 1,
}


def history(n: int = 1500, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 90, size=n)
    weight = rng.lognormal(3, 1, size=n)
    office = rng.choice(["A", "B", "C", "D"], size=n)
    importer = rng.choice([f"I{i:03d}" for i in range(60)], size=n)
    bad_importer = np.isin(importer, [f"I{i:03d}" for i in range(6)])
    logit = -2.5 + 1.5 * (office == "C") + 2.0 * bad_importer + 0.8 * (weight > 40)
    fraud = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    start = date(2024, 1, 1)
    return pl.DataFrame(
        {
            "record_id": [f"R{i}" for i in range(n)],
            "when": [str(start + timedelta(days=int(d))) for d in days],
            "gross_weight_kg": weight,
            "packages": rng.integers(1, 20, size=n),
            "office": office,
            "importer": importer,
            "hs_code": rng.choice(["030617", "080300", "940360", "847130"], size=n),
            "fraud": fraud,
        }
    )


def recipe(**overrides: Any) -> ModelRecipe:
    data: dict[str, Any] = {
        "label": "fraud",
        "positive": [1],
        "time": "when",
        "numeric": ["gross_weight_kg"],
        "categorical": ["office"],
        "entities": ["importer"],
        "ratios": {"kg_per_package": ["gross_weight_kg", "packages"]},
        "prefixes": {"hs_code": [2]},
        "params": FAST_PARAMS,
        "seed": 3,
        "min_category_count": 5,
    }
    data.update(overrides)
    return ModelRecipe.from_dict(data)
