"""Feature preparation: fitted once on the training history, applied as polars expressions.

A :class:`FeaturePlan` is plain JSON (it is stored in the model card): category codes for
LightGBM categoricals, and per-entity history (row count and positive count) for
high-cardinality ids. Applying it is a handful of ``replace_strict`` lookups and arithmetic,
never a per-row Python call.

Entity encodings never see a row's own label: on the training rows they are computed from
strictly earlier time points only (an expanding window over the training period), and at
scoring time from the whole training history, which is then also strictly in the past.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from models.errors import MissingFeaturesError, TrainingDataError
from models.recipe import ModelRecipe

__all__ = [
    "Feature",
    "FeaturePlan",
    "PreparedFeatures",
    "category_text",
    "fit_plan",
    "label_expr",
    "parse_time",
]


@dataclass(frozen=True)
class Feature:
    """One model input column: its LightGBM name, kind, source column and display label."""

    name: str
    kind: str  # numeric | ratio | categorical | entity_count | entity_rate
    source: str
    label: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "source": self.source,
            "label": self.label,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Feature:
        return cls(
            data["name"], data["kind"], data["source"], data["label"], dict(data.get("extra") or {})
        )


@dataclass(frozen=True)
class FeaturePlan:
    """Fitted feature preparation (JSON-serialisable; lives in the model card)."""

    features: tuple[Feature, ...]
    prior: float
    strength: float

    @property
    def names(self) -> list[str]:
        """LightGBM feature names, in model column order."""
        return [f.name for f in self.features]

    @property
    def categorical_names(self) -> list[str]:
        """Features LightGBM treats as categorical."""
        return [f.name for f in self.features if f.kind == "categorical"]

    def source_columns(self) -> list[str]:
        """Input columns needed to compute the features."""
        cols: list[str] = []
        for f in self.features:
            cols.append(f.source)
            if f.kind == "ratio":
                cols.append(f.extra["denominator"])
        return list(dict.fromkeys(cols))

    def check_columns(self, frame: pl.DataFrame | pl.LazyFrame, source: str | None = None) -> None:
        """Raise :class:`MissingFeaturesError` naming every input column the frame lacks."""
        have = frame.collect_schema().names()
        missing = [c for c in self.source_columns() if c not in have]
        if missing:
            raise MissingFeaturesError(missing, available=have, source=source)

    def expressions(self) -> list[pl.Expr]:
        """One Float64/Int32 expression per feature, for scoring time (full history)."""
        return [_scoring_expr(f, self) for f in self.features]

    def transform(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The feature frame (model column order) for scoring ``frame``."""
        return self.prepare(frame).features

    def prepare(self, frame: pl.DataFrame) -> PreparedFeatures:
        """The feature frame for scoring ``frame`` (the values of :meth:`expressions`), with
        the distinct values of the keyed features' sources.

        A categorical or entity feature is a function of its source value alone, and those
        columns (ports, countries, HS chapters, carriers, parties) repeat heavily: each
        source column is numbered once (:func:`engine.reference.distinct_codes`), its
        features worked out on its distinct values and given to every row — instead of
        trimming and looking up every row's text once per feature."""
        from engine.reference import distinct_codes

        self.check_columns(frame)
        keyed: dict[str, list[Feature]] = {}
        for f in self.features:
            if f.kind in KEYED_KINDS:
                keyed.setdefault(f.source, []).append(f)
        columns = dict(
            zip(
                [f.name for f in self.features if f.kind not in KEYED_KINDS],
                frame.select(
                    [_scoring_expr(f, self) for f in self.features if f.kind not in KEYED_KINDS]
                ).get_columns(),
                strict=True,
            )
        )
        sources: dict[str, tuple[pl.Series, pl.Series]] = {}
        for source, features in keyed.items():
            distinct, codes = distinct_codes(frame.get_column(source).cast(pl.String))
            sources[source] = (distinct, codes)
            values = distinct.to_frame(source).select(_scoring_expr(f, self) for f in features)
            columns.update((s.name, s.gather(codes)) for s in values.get_columns())
        return PreparedFeatures(
            pl.DataFrame([columns[f.name] for f in self.features], height=frame.height),
            sources,
        )

    def matrix(self, frame: pl.DataFrame) -> npt.NDArray[np.float64]:
        """Feature matrix (NaN for missing) for scoring ``frame``, column-major: polars'
        own layout, and the one the forest reads fastest (a block of rows per feature)."""
        return self.prepare(frame).matrix()

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": [f.to_dict() for f in self.features],
            "prior": self.prior,
            "strength": self.strength,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeaturePlan:
        return cls(
            tuple(Feature.from_dict(f) for f in data["features"]),
            float(data["prior"]),
            float(data["strength"]),
        )


KEYED_KINDS = frozenset({"categorical", "entity_count", "entity_rate"})
"""Feature kinds that are a function of their source column's text alone."""


@dataclass(frozen=True)
class PreparedFeatures:
    """The features of one frame (:meth:`FeaturePlan.prepare`): ``features`` in model column
    order, and per source column of a keyed feature its distinct values (as text) and each
    row's position among them — which the drift tally counts without reading the rows'
    text again (:func:`models.drift.tally`)."""

    features: pl.DataFrame
    sources: dict[str, tuple[pl.Series, pl.Series]]

    def matrix(self) -> npt.NDArray[np.float64]:
        """The feature matrix (NaN for missing), column-major (see :meth:`FeaturePlan.matrix`)."""
        return to_matrix(self.features, order="F")


def to_matrix(features: pl.DataFrame, order: Literal["C", "F"] = "C") -> npt.NDArray[np.float64]:
    """Float64 matrix with nulls as NaN, row-major (``"C"``) or column-major (``"F"``)."""
    cast = features.select(pl.all().cast(pl.Float64).fill_null(float("nan")))
    return np.require(cast.to_numpy(), dtype=np.float64, requirements=order)


def label_expr(recipe: ModelRecipe) -> pl.Expr:
    """1/0 label (null when the label column is null)."""
    positive = [str(v).strip().lower() for v in recipe.positive]
    text = pl.col(recipe.label).cast(pl.String).str.strip_chars().str.to_lowercase()
    return pl.when(text.is_null()).then(None).otherwise(text.is_in(positive).cast(pl.Int8))


def parse_time(frame: pl.DataFrame, column: str) -> pl.Series:
    """The time column as Datetime; a clear error naming bad values when it does not parse."""
    series = frame.get_column(column)
    if isinstance(series.dtype, pl.Datetime) and series.dtype.time_zone:
        # Compare instants in UTC without a zone, so cutoffs from YAML compare plainly.
        parsed = series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    elif series.dtype == pl.Date or isinstance(series.dtype, pl.Datetime):
        parsed = series.cast(pl.Datetime("us"))
    else:
        parsed = series.cast(pl.String).str.to_datetime(strict=False)
    bad = parsed.is_null() & series.is_not_null()
    if series.null_count() == len(series) or bad.any():
        examples = series.filter(bad).head(3).cast(pl.String).to_list()
        first = int(bad.arg_max() or 0) if bad.any() else 0
        raise TrainingDataError(
            f"time column '{column}' does not parse as dates ({int(bad.sum())} bad values, "
            f"e.g. {examples}, first at record {first})",
            hint="use ISO dates (2024-01-31 or 2024-01-31T08:00), or give the format in the spec",
        )
    return parsed


def fit_plan(train: pl.DataFrame, recipe: ModelRecipe, label: pl.Series) -> FeaturePlan:
    """Fit category codes and entity history on the training rows."""
    features: list[Feature] = []
    for col in recipe.numeric:
        features.append(Feature(_slug("num", col), "numeric", col, col))
    for name, (num, den) in recipe.ratios.items():
        features.append(Feature(_slug("ratio", name), "ratio", num, name, {"denominator": den}))
    cat_sources: list[tuple[str, int | None]] = [(c, None) for c in recipe.categorical]
    cat_sources += [(c, n) for c, lengths in recipe.prefixes.items() for n in lengths]
    for col, prefix in cat_sources:
        values = category_text(pl.col(col), prefix)
        seen = (
            train.select(values.alias("v"))
            .group_by("v")
            .len()
            .filter(pl.col("v").is_not_null() & (pl.col("len") >= recipe.min_category_count))
            .sort(["len", "v"], descending=[True, False])
            .head(recipe.max_categories)
        )
        codes = {v: i for i, v in enumerate(seen.get_column("v").to_list())}
        label_text = col if prefix is None else f"{col} (first {prefix})"
        suffix = "cat" if prefix is None else f"cat{prefix}"
        features.append(
            Feature(
                _slug(suffix, col),
                "categorical",
                col,
                label_text,
                {"prefix": prefix, "codes": codes},
            )
        )
    prior = float(label.cast(pl.Float64).mean() or 0.0)  # type: ignore[arg-type]
    for col in recipe.entities:
        hist = (
            train.select(category_text(pl.col(col), None).alias("v"), label.alias("y"))
            .filter(pl.col("v").is_not_null())
            .group_by("v")
            .agg(pl.len().alias("n"), pl.col("y").sum().alias("k"))
        )
        counts = dict(
            zip(hist.get_column("v").to_list(), hist.get_column("n").to_list(), strict=True)
        )
        positives = {
            v: k
            for v, k in zip(
                hist.get_column("v").to_list(), hist.get_column("k").to_list(), strict=True
            )
            if k
        }
        features.append(
            Feature(
                _slug("count", col),
                "entity_count",
                col,
                f"{col} past declarations",
                {"counts": counts},
            )
        )
        features.append(
            Feature(
                _slug("rate", col),
                "entity_rate",
                col,
                f"{col} past positive rate",
                {"positives": positives},
            )
        )
    return FeaturePlan(tuple(features), prior, recipe.prior_strength)


def training_features(
    train: pl.DataFrame, plan: FeaturePlan, label: pl.Series, time: pl.Series
) -> pl.DataFrame:
    """Features for the training rows, entity encodings from strictly earlier times only."""
    frame = train.with_columns(label.alias("__y"), time.alias("__t"))
    exprs: list[pl.Expr] = []
    for f in plan.features:
        if f.kind == "entity_count":
            key = category_text(pl.col(f.source), None).alias("__k")
            stats = (
                frame.select(key, "__t", "__y")
                .group_by("__k", "__t")
                .agg(pl.len().alias("__n"), pl.col("__y").sum().alias("__p"))
                .sort("__t")
                .with_columns(
                    (pl.col("__n").cum_sum().over("__k") - pl.col("__n")).alias("__pn"),
                    (pl.col("__p").cum_sum().over("__k") - pl.col("__p")).alias("__pp"),
                )
            )
            joined = frame.select(key, "__t").join(
                stats, on=["__k", "__t"], how="left", maintain_order="left"
            )
            past_n = joined.get_column("__pn").fill_null(0).cast(pl.Float64)
            past_p = joined.get_column("__pp").fill_null(0).cast(pl.Float64)
            frame = frame.with_columns(
                past_n.alias(f"__n_{f.source}"), past_p.alias(f"__p_{f.source}")
            )
            exprs.append(pl.col(f"__n_{f.source}").alias(f.name))
        elif f.kind == "entity_rate":
            n, p = pl.col(f"__n_{f.source}"), pl.col(f"__p_{f.source}")
            exprs.append(((p + plan.strength * plan.prior) / (n + plan.strength)).alias(f.name))
        else:
            exprs.append(_scoring_expr(f, plan))
    return frame.select(exprs)


def _scoring_expr(f: Feature, plan: FeaturePlan) -> pl.Expr:
    if f.kind == "numeric":
        return pl.col(f.source).cast(pl.Float64, strict=False).alias(f.name)
    if f.kind == "ratio":
        num = pl.col(f.source).cast(pl.Float64, strict=False)
        den = pl.col(f.extra["denominator"]).cast(pl.Float64, strict=False)
        return pl.when(den > 0).then(num / den).otherwise(None).alias(f.name)
    key = category_text(pl.col(f.source), f.extra.get("prefix"))
    if f.kind == "categorical":
        return key.replace_strict(f.extra["codes"], default=None, return_dtype=pl.Int32).alias(
            f.name
        )
    if f.kind == "entity_count":
        return key.replace_strict(f.extra["counts"], default=0, return_dtype=pl.Float64).alias(
            f.name
        )
    if f.kind == "entity_rate":
        counts = next(
            g.extra["counts"]
            for g in plan.features
            if g.kind == "entity_count" and g.source == f.source
        )
        n = key.replace_strict(counts, default=0, return_dtype=pl.Float64)
        p = key.replace_strict(f.extra["positives"], default=0, return_dtype=pl.Float64)
        return ((p + plan.strength * plan.prior) / (n + plan.strength)).alias(f.name)
    raise ValueError(f"unknown feature kind {f.kind}")


def category_text(expr: pl.Expr, prefix: int | None) -> pl.Expr:
    """A categorical value as the model keys it: trimmed text, empty as null, maybe a prefix."""
    text = expr.cast(pl.String).str.strip_chars()
    text = pl.when(text == "").then(None).otherwise(text)
    return text.str.slice(0, prefix) if prefix else text


def _slug(kind: str, name: str) -> str:
    return f"{kind}_" + re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()
