"""The training recipe: which columns are features, what the label is, how time splits.

It lives in the ``model:`` section of a dataset spec, so the mapping of a source and the way
a model learns from it travel together::

    model:
      label: Fraud                  # label column; positive values below
      positive: [1]                 # default: 1, true, "seizure", "irregularity"
      labelled_only: null           # optional boolean column: train only where it is true
      time: Date                    # default: the spec's time_field
      numeric: [Tax Rate, Net Mass, Item Price]
      categorical: [Office ID, Tax Type]     # LightGBM categoricals (codes fitted at training)
      entities: [Importer ID, Seller ID]     # high-cardinality ids: past-only frequency and
                                             # smoothed positive rate, never the row's own label
      ratios: {price_per_kg: [Item Price, Net Mass]}
      prefixes: {HS6 Code: [2, 4]}           # leading characters, as extra categoricals
      validation: {last_fraction: 0.2}       # or {from: "2021-01-01"}; unused with --valid
      refit: true                            # after early stopping on the later part, refit
                                             # on all rows with the same number of trees
      params: {learning_rate: 0.05}          # overrides of the default LightGBM parameters
      seed: 7

Every name refers to a column of the frame after ingest (canonical names or the spec's
extra fields).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.errors import Location
from models.errors import RecipeError

__all__ = ["DEFAULT_PARAMS", "ModelRecipe", "load_recipe"]

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 63,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 10.0,
    "cat_l2": 10.0,
    "min_data_per_group": 50,
    "max_cat_to_onehot": 4,
    "num_boost_round": 3000,
    "early_stopping_rounds": 150,
    "verbose": -1,
    "deterministic": True,
    "num_threads": 2,  # fixed, so a seed gives the same model on any machine
    "force_row_wise": True,
}

_KEYS = {
    "label",
    "positive",
    "labelled_only",
    "time",
    "numeric",
    "categorical",
    "entities",
    "ratios",
    "prefixes",
    "validation",
    "params",
    "seed",
    "min_category_count",
    "max_categories",
    "prior_strength",
    "refit",
}
_DEFAULT_POSITIVE: tuple[Any, ...] = (1, True, "1", "true", "seizure", "irregularity")


@dataclass(frozen=True)
class ModelRecipe:
    """A parsed ``model:`` section. See the module docstring for the YAML."""

    label: str
    time: str
    positive: tuple[Any, ...] = _DEFAULT_POSITIVE
    labelled_only: str | None = None
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    ratios: dict[str, tuple[str, str]] = field(default_factory=dict)
    prefixes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=lambda: {"last_fraction": 0.2})
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 7
    min_category_count: int = 10
    max_categories: int = 500
    prior_strength: float = 20.0
    refit: bool = True

    def source_columns(self) -> list[str]:
        """Every input column the features are computed from (not the label)."""
        cols = [*self.numeric, *self.categorical, *self.entities]
        for num, den in self.ratios.values():
            cols += [num, den]
        cols += list(self.prefixes)
        return list(dict.fromkeys(cols))

    def lightgbm_params(self) -> dict[str, Any]:
        """Default parameters with the recipe's overrides and seed applied."""
        params = {**DEFAULT_PARAMS, **self.params}
        params["seed"] = self.seed
        return params

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored in the model card."""
        return {
            "label": self.label,
            "time": self.time,
            "positive": list(self.positive),
            "labelled_only": self.labelled_only,
            "numeric": list(self.numeric),
            "categorical": list(self.categorical),
            "entities": list(self.entities),
            "ratios": {k: list(v) for k, v in self.ratios.items()},
            "prefixes": {k: list(v) for k, v in self.prefixes.items()},
            "validation": self.validation,
            "params": self.params,
            "seed": self.seed,
            "min_category_count": self.min_category_count,
            "max_categories": self.max_categories,
            "prior_strength": self.prior_strength,
            "refit": self.refit,
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], *, default_time: str | None = None, file: str | None = None
    ) -> ModelRecipe:
        """Check and build a recipe; errors name the key and the file."""

        def err(msg: str, hint: str | None = None) -> RecipeError:
            return RecipeError(
                msg, location=Location(file=file, field="model") if file else None, hint=hint
            )

        if not isinstance(data, dict) or not data:
            raise err(
                "the dataset spec has no 'model:' section",
                "add model: {label: ..., numeric: [...], categorical: [...]} to the spec",
            )
        for key in data:
            if key not in _KEYS:
                close = difflib.get_close_matches(str(key), list(_KEYS), n=1)
                raise err(
                    f"unknown model key '{key}'",
                    f"did you mean '{close[0]}'?" if close else f"known: {sorted(_KEYS)}",
                )
        if "label" not in data:
            raise err(
                "the model section needs 'label:' (the column saying an inspection found something)"
            )
        time = data.get("time", default_time)
        if not time:
            raise err(
                "the model section needs 'time:' (or the spec a time_field) for the "
                "time-based split"
            )
        ratios = {str(k): _pair(v, k, err) for k, v in (data.get("ratios") or {}).items()}
        prefixes = {
            str(k): tuple(int(n) for n in _as_list(v))
            for k, v in (data.get("prefixes") or {}).items()
        }
        recipe = cls(
            label=str(data["label"]),
            time=str(time),
            positive=tuple(_as_list(data.get("positive", list(_DEFAULT_POSITIVE)))),
            labelled_only=data.get("labelled_only"),
            numeric=tuple(map(str, _as_list(data.get("numeric")))),
            categorical=tuple(map(str, _as_list(data.get("categorical")))),
            entities=tuple(map(str, _as_list(data.get("entities")))),
            ratios=ratios,
            prefixes=prefixes,
            validation=dict(data.get("validation") or {"last_fraction": 0.2}),
            params=dict(data.get("params") or {}),
            seed=int(data.get("seed", 7)),
            min_category_count=int(data.get("min_category_count", 10)),
            max_categories=int(data.get("max_categories", 500)),
            prior_strength=float(data.get("prior_strength", 20.0)),
            refit=bool(data.get("refit", True)),
        )
        if not recipe.source_columns():
            raise err(
                "the model section declares no features",
                "list columns under numeric:, categorical: or entities:",
            )
        if recipe.label in recipe.source_columns():
            raise err(
                f"the label '{recipe.label}' is also listed as a feature",
                "remove it from the feature lists: it would leak the answer",
            )
        return recipe


def load_recipe(spec_path: Path | str) -> ModelRecipe:
    """Read the ``model:`` section of a dataset spec file (via ``engine.spec`` when present)."""
    path = Path(spec_path)
    try:
        from engine.spec import load_spec
    except ImportError:  # pragma: no cover - engine.spec ships with the engine
        if not path.is_file():
            raise RecipeError(f"dataset spec not found: {path}") from None
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return ModelRecipe.from_dict(
            data.get("model") or {}, default_time=data.get("time_field"), file=str(path)
        )
    spec = load_spec(path)
    return ModelRecipe.from_dict(spec.model, default_time=spec.time_field, file=spec.path)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _pair(value: Any, name: Any, err: Any) -> tuple[str, str]:
    items = _as_list(value)
    if len(items) != 2:
        raise err(f"ratio '{name}' needs [numerator, denominator]")
    return str(items[0]), str(items[1])
