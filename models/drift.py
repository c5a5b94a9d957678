"""Drift: how far a day's traffic is from the traffic the model was trained on.

At training time :func:`build_reference` bins every model feature over the last four weeks of
the training window (all rows, inspected or not: the population the model will score) and
the model's score on those rows, and stores the counts in the model card
(``drift_reference``):

- a numeric feature gets up to 10 bins with quantile edges (one bin per value when it takes
  at most 12 values, e.g. flags), plus a *missing* slot;
- a categorical feature gets one slot per value seen in training (up to 2,000 most frequent),
  plus *missing* and *unseen* slots;
- the score gets 10 bins with the training scores' deciles as edges.

At scoring time :func:`tally` counts a chunk into the same slots — a categorical feature's
slot worked out once per distinct value of its column, a numeric bin counted with one
comparison per edge, no per-row Python — giving a :class:`DriftTally`. Counts add up, so the
tallies of chunks, files or Ray partitions merge exactly, in any order.
:func:`drift_report` turns the merged tally into the run record's ``drift`` section:

- **PSI** (population stability index) per feature, ``Σ (a - e) · ln(a / e)`` over the slots,
  with reference slots under 1 % merged into one *other* slot (so a 300-value categorical is
  not read as drift because of sampling noise) and shares floored at 0.0001;
- the **score shift**: PSI of the score histogram and the share of rows above the training
  scores' 90th percentile (0.10 when nothing moved);
- the share of rows with at least one **unseen category**, and per feature the **missing**
  share against the reference's;
- **alarms**: each figure over its threshold from the scoring policy's ``drift:`` section
  (:class:`engine.policy.DriftThresholds`), only when the batch has at least ``min_rows`` rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from engine.policy import DriftThresholds
from models.errors import TrainingDataError
from models.features import Feature, FeaturePlan, PreparedFeatures, category_text, parse_time
from models.forest import Forest

__all__ = [
    "REFERENCE_FORMAT",
    "DriftReference",
    "DriftTally",
    "FeatureReference",
    "build_reference",
    "drift_report",
    "fit_reference",
    "psi",
    "tally",
    "training_window",
]

REFERENCE_FORMAT = 1
REFERENCE_DAYS = 28  # the reference is the training window's last four weeks
NUMERIC_BINS = 10
DISTINCT_AS_BINS = 12
MAX_CATEGORIES = 2000
SCORE_BINS = 10
MIN_SLOT_SHARE = 0.01  # reference slots below this share are merged for the PSI
SHARE_FLOOR = 1e-4
MISSING, UNSEEN, FIRST = 0, 1, 2  # slot numbers: missing, unseen category, first bin/value
SCORE_COLUMN = "model_probability"

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class FeatureReference:
    """One feature's slots and its training counts (``counts[0]`` missing, ``[1]`` unseen)."""

    name: str
    field: str
    kind: str  # numeric | categorical
    counts: tuple[int, ...]
    edges: tuple[float, ...] = ()  # numeric: right-closed upper edges of all bins but the last
    categories: tuple[str, ...] = ()  # categorical: the values seen in training

    @property
    def slots(self) -> int:
        return FIRST + (len(self.edges) + 1 if self.kind == "numeric" else len(self.categories))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "field": self.field, "kind": self.kind}
        if self.kind == "numeric":
            out["edges"] = list(self.edges)
        else:
            out["categories"] = list(self.categories)
        out["counts"] = list(self.counts)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureReference:
        return cls(
            name=str(data["name"]),
            field=str(data["field"]),
            kind=str(data["kind"]),
            counts=tuple(int(c) for c in data["counts"]),
            edges=tuple(float(e) for e in data.get("edges", ())),
            categories=tuple(str(c) for c in data.get("categories", ())),
        )


@dataclass(frozen=True)
class DriftReference:
    """The training window's distributions (stored in the card as ``drift_reference``)."""

    rows: int
    window: dict[str, Any]
    features: tuple[FeatureReference, ...]
    score_edges: tuple[float, ...]
    score_counts: tuple[int, ...]
    score_p90: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": REFERENCE_FORMAT,
            "rows": self.rows,
            "window": self.window,
            "score": {
                "edges": list(self.score_edges),
                "counts": list(self.score_counts),
                "p90": self.score_p90,
            },
            "features": [f.to_dict() for f in self.features],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftReference:
        if data.get("format") != REFERENCE_FORMAT:
            raise ValueError(f"drift reference format {data.get('format')!r} is not supported")
        score = data["score"]
        return cls(
            rows=int(data["rows"]),
            window=dict(data.get("window") or {}),
            features=tuple(FeatureReference.from_dict(f) for f in data["features"]),
            score_edges=tuple(float(e) for e in score["edges"]),
            score_counts=tuple(int(c) for c in score["counts"]),
            score_p90=float(score["p90"]),
        )


@dataclass
class DriftTally:
    """Slot counts of some scored rows; tallies of disjoint rows add up exactly."""

    rows: int
    features: dict[str, IntArray]
    score: IntArray
    score_above_p90: int
    unseen_rows: int

    def merge(self, other: DriftTally | None) -> DriftTally:
        """The tally of both row sets (``other`` may be None)."""
        if other is None:
            return self
        return DriftTally(
            rows=self.rows + other.rows,
            features={k: v + other.features[k] for k, v in self.features.items()},
            score=self.score + other.score,
            score_above_p90=self.score_above_p90 + other.score_above_p90,
            unseen_rows=self.unseen_rows + other.unseen_rows,
        )


# ---------------------------------------------------------------------------------------
# Reference at training time
# ---------------------------------------------------------------------------------------
def build_reference(
    frame: pl.DataFrame,
    plan: FeaturePlan,
    scores: npt.NDArray[np.float64],
    *,
    window: dict[str, Any] | None = None,
) -> DriftReference:
    """Fit slots on ``frame`` (the training window's rows) and count them.

    ``scores`` are the model's probabilities for the same rows.
    """
    values = _numeric_values(frame, plan)
    skeleton: list[FeatureReference] = []
    for f in plan.features:
        if f.kind == "categorical":
            counts = (
                frame.select(_key(f).alias("v"))
                .filter(pl.col("v").is_not_null())
                .group_by("v")
                .len()
                .sort(["len", "v"], descending=[True, False])
                .head(MAX_CATEGORIES)
            )
            categories = tuple(str(v) for v in counts.get_column("v").to_list())
            skeleton.append(FeatureReference(f.name, f.label, "categorical", (), (), categories))
        else:
            skeleton.append(
                FeatureReference(f.name, f.label, "numeric", (), _edges(values[f.name]), ())
            )
    finite = scores[np.isfinite(scores)]
    score_edges = _quantile_edges(finite) if finite.size else ()
    p90 = float(np.quantile(finite, 0.9)) if finite.size else 1.0
    empty = DriftReference(
        rows=frame.height,
        window=window or {},
        features=tuple(skeleton),
        score_edges=score_edges,
        score_counts=(),
        score_p90=p90,
    )
    counted = tally(frame.with_columns(pl.Series(SCORE_COLUMN, scores)), empty, plan)
    return DriftReference(
        rows=frame.height,
        window=window or {},
        features=tuple(
            FeatureReference(
                f.name,
                f.field,
                f.kind,
                tuple(int(c) for c in counted.features[f.name]),
                f.edges,
                f.categories,
            )
            for f in skeleton
        ),
        score_edges=score_edges,
        score_counts=tuple(int(c) for c in counted.score),
        score_p90=p90,
    )


def _edges(values: npt.NDArray[np.float64]) -> tuple[float, ...]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return ()
    distinct = np.unique(finite)
    if distinct.size <= DISTINCT_AS_BINS:
        return tuple(float(v) for v in distinct[:-1])
    return _quantile_edges(finite)


def _quantile_edges(values: npt.NDArray[np.float64]) -> tuple[float, ...]:
    qs = np.quantile(values, np.linspace(0, 1, NUMERIC_BINS + 1)[1:-1])
    edges = np.unique(qs)
    # The top edge equal to the maximum would leave the last bin empty in training.
    edges = edges[edges < values.max()]
    return tuple(float(e) for e in edges)


# ---------------------------------------------------------------------------------------
# Tallies at scoring time
# ---------------------------------------------------------------------------------------
def tally(
    frame: pl.DataFrame,
    reference: DriftReference,
    plan: FeaturePlan,
    prepared: PreparedFeatures | None = None,
) -> DriftTally:
    """Count ``frame``'s features and ``model_probability`` into the reference's slots.

    Only counts are needed, so no per-row slot is built: a numeric feature's bins are counted
    by comparing its values with each edge (:func:`_numeric_counts`), and a categorical
    feature's slot is worked out once per distinct value of its source column
    (:func:`_category_counts`), the counts summed per slot. The figures are those of
    slotting every row (``_numeric_slot``, ``_category_slot``) and counting the slots.

    ``prepared``: ``plan.prepare`` of the same rows, as the model stage computed it to
    score them: the numeric features and the source columns' distinct values are then
    taken from it instead of being worked out again.
    """
    by_name = {f.name: f for f in plan.features}
    cat_refs = [r for r in reference.features if r.kind == "categorical"]
    pairs = [(by_name[r.name], r) for r in cat_refs]
    if prepared is None:
        numeric = _numeric_values(frame, plan)
        cat_counts, unseen_rows = _category_counts(frame, pairs)
    else:
        numeric = _prepared_numeric(prepared, plan)
        cat_counts, unseen_rows = _prepared_category_counts(prepared, pairs, frame.height)
    counts: dict[str, IntArray] = {}
    for ref in reference.features:
        if ref.kind == "categorical":
            counts[ref.name] = cat_counts[ref.name]
        else:
            counts[ref.name] = _numeric_counts(numeric[ref.name], ref.edges)
    if SCORE_COLUMN in frame.columns:
        score = frame.get_column(SCORE_COLUMN).cast(pl.Float64).to_numpy()
    else:
        score = np.full(frame.height, np.nan)
    return DriftTally(
        rows=frame.height,
        features=counts,
        score=_numeric_counts(score, reference.score_edges),
        score_above_p90=int(np.count_nonzero(score > reference.score_p90)),
        unseen_rows=unseen_rows,
    )


def _category_counts(
    frame: pl.DataFrame, pairs: list[tuple[Feature, FeatureReference]]
) -> tuple[dict[str, IntArray], int]:
    """Slot counts of the categorical features and the rows with at least one unseen value.

    A slot depends on the source value alone, so each source column is grouped into its
    distinct values (as text: the key casts to text first) and ``_category_slot`` is
    evaluated on those few values; the rows with an unseen value are those whose source
    value is among the distinct values slotted *unseen* by some feature of that source.
    """
    sources = list(dict.fromkeys(f.source for f, _ in pairs))
    if not sources:
        return {}, 0
    lazy = frame.lazy()
    grouped = pl.collect_all(
        [lazy.select(pl.col(s).cast(pl.String).alias("v")).group_by("v").len("n") for s in sources]
    )
    distinct = dict(zip(sources, grouped, strict=True))
    counts: dict[str, IntArray] = {}
    unseen: dict[str, list[str]] = {}
    for f, ref in pairs:
        values = distinct[f.source].get_column("v")
        slots = (
            pl.DataFrame({f.source: values})
            .select(_category_slot(f, ref))
            .to_series()
            .to_numpy()
            .astype(np.int64)
        )
        out = np.zeros(ref.slots, dtype=np.int64)
        np.add.at(out, slots, distinct[f.source].get_column("n").to_numpy().astype(np.int64))
        counts[f.name] = out
        unseen.setdefault(f.source, []).extend(values.filter(pl.Series(slots == UNSEEN)).to_list())
    checks = [
        pl.col(s).cast(pl.String).is_in(pl.Series(v, dtype=pl.String)).fill_null(False)
        for s, v in unseen.items()
        if v
    ]
    if not checks:
        return counts, 0
    return counts, int(frame.select(pl.any_horizontal(checks).sum()).item())


def _prepared_category_counts(
    prepared: PreparedFeatures, pairs: list[tuple[Feature, FeatureReference]], height: int
) -> tuple[dict[str, IntArray], int]:
    """:func:`_category_counts` from the sources' distinct values and row positions that
    the model stage found: each distinct value's rows counted from the positions."""
    counts: dict[str, IntArray] = {}
    unseen: dict[str, npt.NDArray[np.bool_]] = {}
    rows: dict[str, IntArray] = {}
    for f, ref in pairs:
        values, codes = prepared.sources[f.source]
        if f.source not in rows:
            rows[f.source] = np.bincount(codes.to_numpy(), minlength=values.len())
        slots = (
            pl.DataFrame({f.source: values})
            .select(_category_slot(f, ref))
            .to_series()
            .to_numpy()
            .astype(np.int64)
        )
        out = np.zeros(ref.slots, dtype=np.int64)
        np.add.at(out, slots, rows[f.source])
        counts[f.name] = out
        mark = unseen.setdefault(f.source, np.zeros(values.len(), dtype=np.bool_))
        mark |= slots == UNSEEN
    any_unseen = np.zeros(height, dtype=np.bool_)
    for source, mark in unseen.items():
        if mark.any():
            any_unseen |= mark[prepared.sources[source][1].to_numpy()]
    return counts, int(np.count_nonzero(any_unseen))


def _prepared_numeric(
    prepared: PreparedFeatures, plan: FeaturePlan
) -> dict[str, npt.NDArray[np.float64]]:
    """:func:`_numeric_values` from the feature frame the model stage computed."""
    names = [f.name for f in plan.features if f.kind != "categorical"]
    values = prepared.features.select(pl.col(names).cast(pl.Float64))
    return {name: values.get_column(name).to_numpy() for name in names}


def _numeric_counts(values: npt.NDArray[np.float64], edges: tuple[float, ...]) -> IntArray:
    """The counts of ``_numeric_slot(values, edges)``: *missing* (NaN), then the bins.

    With strictly increasing edges, bin ``i`` holds the values in ``(edges[i-1], edges[i]]``,
    so it is counted as ``#(v <= edges[i]) - #(v <= edges[i-1])``: one comparison per edge
    instead of a binary search per value. Other edges (never written by
    :func:`build_reference`) are slotted value by value as before.
    """
    e = np.asarray(edges, dtype=np.float64)
    if np.isnan(e).any() or not np.all(e[1:] > e[:-1]):
        return np.bincount(_numeric_slot(values, edges), minlength=FIRST + e.size + 1).astype(
            np.int64
        )
    missing = int(np.count_nonzero(np.isnan(values)))
    at_or_below = [int(np.count_nonzero(values <= x)) for x in e]
    at_or_below.append(values.size - missing)
    out = np.zeros(FIRST + e.size + 1, dtype=np.int64)
    out[MISSING] = missing
    out[FIRST:] = np.diff(np.asarray(at_or_below, dtype=np.int64), prepend=0)
    return out


def _key(f: Feature) -> pl.Expr:
    return category_text(pl.col(f.source), f.extra.get("prefix"))


def _category_slot(f: Feature, ref: FeatureReference) -> pl.Expr:
    key = _key(f)
    index = {v: i + FIRST for i, v in enumerate(ref.categories)}
    known = key.replace_strict(index, default=UNSEEN, return_dtype=pl.Int64)
    return pl.when(key.is_null()).then(pl.lit(MISSING, dtype=pl.Int64)).otherwise(known)


def _numeric_values(frame: pl.DataFrame, plan: FeaturePlan) -> dict[str, npt.NDArray[np.float64]]:
    """The numeric features as the model sees them (NaN for missing)."""
    wanted = [
        (f, e)
        for f, e in zip(plan.features, plan.expressions(), strict=True)
        if f.kind != "categorical"
    ]
    if not wanted:
        return {}
    values = frame.select([e.cast(pl.Float64).alias(f.name) for f, e in wanted])
    # Float64 to numpy: nulls become NaN (NaN stays NaN).
    return {f.name: values.get_column(f.name).to_numpy() for f, _ in wanted}


def _numeric_slot(values: npt.NDArray[np.float64], edges: tuple[float, ...]) -> IntArray:
    bins = np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="left") + FIRST
    return np.where(np.isnan(values), MISSING, bins).astype(np.int64)


# ---------------------------------------------------------------------------------------
# The report in the run record
# ---------------------------------------------------------------------------------------
def psi(expected: npt.ArrayLike, actual: npt.ArrayLike) -> float:
    """Population stability index of two count vectors over the same slots.

    Slots under 1 % of the reference are merged into one; shares are floored at 0.0001.
    """
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.sum() <= 0 or a.sum() <= 0:
        return 0.0
    e_share, a_share = e / e.sum(), a / a.sum()
    small = e_share < MIN_SLOT_SHARE
    if small.any():
        e_share = np.append(e_share[~small], e_share[small].sum())
        a_share = np.append(a_share[~small], a_share[small].sum())
    e_share = np.maximum(e_share, SHARE_FLOOR)
    a_share = np.maximum(a_share, SHARE_FLOOR)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def drift_report(
    reference: DriftReference, counted: DriftTally | None, thresholds: DriftThresholds
) -> dict[str, Any]:
    """The run record's ``drift`` section: figures per feature, score shift, alarms."""
    if counted is None or counted.rows == 0:
        return {"status": "no_rows", "rows": 0, "alarms": []}
    n = counted.rows
    features: dict[str, dict[str, Any]] = {}
    alarms: list[str] = []
    for ref in reference.features:
        got = counted.features[ref.name]
        ref_counts = np.asarray(ref.counts, dtype=np.float64)
        entry: dict[str, Any] = {
            "field": ref.field,
            "kind": ref.kind,
            "psi": _r(psi(ref.counts, got)),
            "missing_share": _r(got[MISSING] / n),
            "reference_missing_share": _r(ref_counts[MISSING] / max(reference.rows, 1)),
        }
        if ref.kind == "categorical":
            entry["unseen_share"] = _r(got[UNSEEN] / n)
        features[ref.name] = entry
    score_psi = _r(psi(reference.score_counts, counted.score))
    above = _r(counted.score_above_p90 / n)
    unseen = _r(counted.unseen_rows / n)
    ranked = sorted(features.items(), key=lambda kv: (-kv[1]["psi"], kv[0]))
    top = ranked[0][1] if ranked else {"psi": 0.0, "field": ""}
    enough = n >= thresholds.min_rows
    if enough:
        for _name, entry in ranked:
            if entry["psi"] >= thresholds.feature_psi:
                limit = thresholds.feature_psi
                alarms.append(f"{entry['field']}: PSI {entry['psi']:.2f} (threshold {limit:g})")
            rise = entry["missing_share"] - entry["reference_missing_share"]
            if rise >= thresholds.missing_increase:
                alarms.append(
                    f"{entry['field']}: {entry['missing_share']:.0%} missing, "
                    f"{entry['reference_missing_share']:.0%} in training"
                )
        if score_psi >= thresholds.score_psi:
            alarms.append(f"model score: PSI {score_psi:.2f} (threshold {thresholds.score_psi:g})")
        if unseen >= thresholds.unseen_share:
            worst = max(
                (e for e in features.values() if "unseen_share" in e),
                key=lambda e: e["unseen_share"],
                default=None,
            )
            which = f", most in {worst['field']} ({worst['unseen_share']:.1%})" if worst else ""
            alarms.append(
                f"{unseen:.1%} of rows have a category never seen in training{which} "
                f"(threshold {thresholds.unseen_share:.0%})"
            )
    return {
        "status": "alarm" if alarms else ("ok" if enough else "too_few_rows"),
        "rows": n,
        "reference_rows": reference.rows,
        "reference_window": reference.window,
        "max_psi": top["psi"],
        "max_psi_feature": top["field"],
        "score_psi": score_psi,
        "score_above_reference_p90": above,
        "unseen_share": unseen,
        "max_missing_increase": _r(
            max(
                (e["missing_share"] - e["reference_missing_share"] for e in features.values()),
                default=0.0,
            )
        ),
        "thresholds": thresholds.to_dict(),
        "alarms": alarms,
        "features": dict(ranked),
    }


def _r(x: float) -> float:
    value = float(x)
    return 0.0 if math.isnan(value) else round(value, 4)


# ---------------------------------------------------------------------------------------
# The reference of a trained model
# ---------------------------------------------------------------------------------------
def training_window(card: dict[str, Any], days: int = REFERENCE_DAYS) -> tuple[datetime, datetime]:
    """The reference period: the last ``days`` days of the period the model learnt from (its
    training window, extended to the refit's end when it was refitted on all rows).

    The last weeks, not the whole window: history features that count over a year grow while
    a history fills up, so early training rows look unlike any day the model scores later;
    the window's last weeks are the traffic the model is deployed on.
    """
    window = card.get("training_window") or {}
    start = datetime.fromisoformat(str(window["from"]))
    end = datetime.fromisoformat(str((card.get("refit") or window)["to"]))
    return max(start, end - timedelta(days=days)), end


def fit_reference(
    frame: pl.DataFrame, plan: FeaturePlan, forest: Forest, card: dict[str, Any], time: str
) -> DriftReference:
    """The reference of a trained model from its training data: every row of ``frame`` —
    inspected or not — filed within the last weeks of the card's training window
    (:func:`training_window`)."""
    start, end = training_window(card)
    when = parse_time(frame, time)
    rows = frame.filter(((when >= start) & (when <= end)).fill_null(False))
    if rows.height == 0:
        raise TrainingDataError(
            f"no row of the data lies in the model's training window ({start} – {end})",
            hint="pass the data the model was trained on",
        )
    scores = forest.predict(plan.matrix(rows))
    window = {"from": str(start), "to": str(end), "rows": rows.height}
    return build_reference(rows, plan, scores, window=window)
