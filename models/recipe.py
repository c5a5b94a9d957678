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

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from engine.documents import (
    Collector,
    DocumentModel,
    ScalarText,
    child,
    compose_single,
    raise_first,
    validate_data,
    validate_node,
)
from engine.errors import Location
from models.errors import RecipeError

if TYPE_CHECKING:
    from engine.spec import DatasetSpec

__all__ = ["DEFAULT_PARAMS", "ModelRecipe", "RecipeDocument", "load_recipe"]

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

_DEFAULT_POSITIVE: tuple[Any, ...] = (1, True, "1", "true", "seizure", "irregularity")


Scalar = str | int | float | bool
Names = list[ScalarText] | ScalarText


class RecipeDocument(DocumentModel):
    """The ``model:`` section of a dataset spec (see the module docstring)."""

    label: ClassVar[str] = "the model section"
    label_: ScalarText = Field(
        alias="label", description="the column saying an inspection found something"
    )
    positive: list[Scalar] | Scalar | None = Field(
        default=None,
        description="label values that count as positive (default: 1, true, seizure, ...)",
    )
    labelled_only: ScalarText | None = Field(
        default=None, description="optional boolean column: train only where it is true"
    )
    time: ScalarText | None = Field(
        default=None, description="time column (default: the time_field)"
    )
    numeric: Names | None = Field(default=None, description="numeric feature columns")
    categorical: Names | None = Field(default=None, description="categorical feature columns")
    entities: Names | None = Field(
        default=None, description="high-cardinality ids: past-only frequency and positive rate"
    )
    ratios: dict[str, list[ScalarText]] | None = Field(
        default=None, description="name: [numerator, denominator]"
    )
    prefixes: dict[str, list[int] | int] | None = Field(
        default=None, description="column: leading character counts, as extra categoricals"
    )
    validation: dict[str, Any] | None = Field(
        default=None, description="{last_fraction: 0.2} or {from: date}"
    )
    params: dict[str, Any] | None = Field(default=None, description="LightGBM parameter overrides")
    seed: int = Field(default=7, description="random seed")
    min_category_count: int = Field(default=10, description="rarer categories are grouped")
    max_categories: int = Field(default=500, description="categories kept per column at most")
    prior_strength: float = Field(default=20.0, description="smoothing of the positive rate")
    refit: bool = Field(default=True, description="refit on all rows after early stopping")


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
        """Check and build a recipe from a plain mapping; errors name the key's path."""
        if not isinstance(data, dict) or not data:
            raise _no_section(file)
        doc = validate_data(RecipeDocument, data, RecipeError, file=file, title="the model section")
        return cls.from_document(doc, default_time=default_time, file=file)

    @classmethod
    def from_document(
        cls, doc: RecipeDocument, *, default_time: str | None = None, file: str | None = None
    ) -> ModelRecipe:
        """The recipe a checked ``model:`` section declares."""

        def err(msg: str, hint: str | None = None) -> RecipeError:
            return RecipeError(
                msg, location=Location(file=file, field="model") if file else None, hint=hint
            )

        time = doc.time if doc.time is not None else default_time
        if not time:
            raise err(
                "the model section needs 'time:' (or the spec a time_field) for the "
                "time-based split"
            )
        ratios = {k: _pair(v, k, err) for k, v in (doc.ratios or {}).items()}
        prefixes = {k: tuple(_as_list(v)) for k, v in (doc.prefixes or {}).items()}
        positive = _DEFAULT_POSITIVE if doc.positive is None else tuple(_as_list(doc.positive))
        recipe = cls(
            label=doc.label_,
            time=str(time),
            positive=positive,
            labelled_only=doc.labelled_only,
            numeric=tuple(_as_list(doc.numeric)),
            categorical=tuple(_as_list(doc.categorical)),
            entities=tuple(_as_list(doc.entities)),
            ratios=ratios,
            prefixes=prefixes,
            validation=dict(doc.validation or {"last_fraction": 0.2}),
            params=dict(doc.params or {}),
            seed=doc.seed,
            min_category_count=doc.min_category_count,
            max_categories=doc.max_categories,
            prior_strength=doc.prior_strength,
            refit=doc.refit,
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

    @classmethod
    def from_spec(cls, spec: DatasetSpec) -> ModelRecipe:
        """The recipe of a loaded spec, its errors at ``file:line:col`` when it has a file."""
        if not spec.model:
            raise _no_section(spec.path)
        if spec.path is None or not Path(spec.path).is_file():
            return cls.from_dict(spec.model, default_time=spec.time_field, file=spec.path)
        out = Collector()
        text = Path(spec.path).read_text(encoding="utf-8")
        out.add_source(spec.path, text)
        root = compose_single(text, spec.path, out)
        node = child(root, "model") if root is not None else None
        if node is None:  # pragma: no cover - load_spec read the same file
            return cls.from_dict(spec.model, default_time=spec.time_field, file=spec.path)
        doc, _ = validate_node(RecipeDocument, node, spec.path, out, title="the model section")
        raise_first(out, RecipeError)
        assert doc is not None
        return cls.from_document(doc, default_time=spec.time_field, file=spec.path)


def _no_section(file: str | None) -> RecipeError:
    return RecipeError(
        "the dataset spec has no 'model:' section",
        location=Location(file=file, field="model") if file else None,
        hint="add model: {label: ..., numeric: [...], categorical: [...]} to the spec",
    )


def load_recipe(spec_path: Path | str) -> ModelRecipe:
    """Read and check the ``model:`` section of a dataset spec file."""
    from engine.spec import load_spec

    return ModelRecipe.from_spec(load_spec(spec_path))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _pair(value: Any, name: Any, err: Any) -> tuple[str, str]:
    items = _as_list(value)
    if len(items) != 2:
        raise err(f"ratio '{name}' needs [numerator, denominator]")
    return str(items[0]), str(items[1])
