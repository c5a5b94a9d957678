"""The model as a scoring stage: probability for every row, reasons for the few selected.

``apply`` prepares the features with polars expressions and runs the compiled forest;
``explain`` asks LightGBM for its own per-feature contributions (``pred_contrib``) on the
rows an officer will look at and renders the strongest positive ones in plain language,
e.g. ``"consignee first seen 3 days ago: +0.21"`` (contributions are in log-odds).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from engine.policy import DriftThresholds
from engine.schema import known_fields
from models.artifact import ModelArtifact
from models.drift import DriftTally, drift_report, tally
from models.features import Feature, FeaturePlan

__all__ = ["ModelStage", "reason_templates"]

# How a feature's value reads in a sentence; "{value}" is replaced by the row's value.
_TEMPLATES: dict[str, str] = {
    "consignee_first_seen_days": "consignee first seen {value} days ago",
    "shipper_first_seen_days": "shipper first seen {value} days ago",
    "consignee_shipments_30d": "consignee had {value} shipments in 30 days",
    "consignee_shipments_365d": "consignee had {value} shipments in a year",
    "shipper_shipments_365d": "shipper had {value} shipments in a year",
    "consignee_positive_rate": "consignee past positive rate {value}",
    "shipper_positive_rate": "shipper past positive rate {value}",
    "kg_per_package": "{value} kg per package",
    "value_per_kg": "declared value {value} per kg",
    "transshipment_count": "{value} transshipment ports",
    "port_of_loading": "loaded at {value}",
    "port_of_loading_country": "loaded in {value}",
    "origin_country": "origin {value}",
    "hs_chapter": "HS chapter {value}",
    "hs_heading": "HS heading {value}",
    "iso_type": "container type {value}",
    "freight_payment": "freight paid by {value}",
    "bl_type": "{value} bill of lading",
    "amended_after_departure_hours": "amended {value} h after departure",
    "watchlist_party_score": "party name matches a watchlist ({value}/100)",
    "dq_count": "{value} data-quality problems",
}


def reason_templates() -> dict[str, str]:
    """The sentence templates used for known fields (others read ``"<field> = <value>"``)."""
    return dict(_TEMPLATES)


class ModelStage:
    """Scoring stage ``model``: adds ``model_probability``; ``explain`` adds ``model_reasons``."""

    name = "model"

    def __init__(self, artifact: ModelArtifact) -> None:
        self.artifact = artifact
        self._booster: Any = None
        self._reference = artifact.drift_reference()

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Return ``frame`` with ``model_probability`` (Float64) added."""
        x = self.artifact.plan.matrix(frame)
        probability = self.artifact.forest.predict(x)
        return frame.with_columns(pl.Series("model_probability", probability, dtype=pl.Float64))

    def drift_tally(self, frame: pl.DataFrame) -> DriftTally | None:
        """Counts of a scored chunk in the slots of the model's drift reference (None when
        the card has none); tallies of chunks add up with ``DriftTally.merge``."""
        if self._reference is None:
            return None
        return tally(frame, self._reference, self.artifact.plan)

    def drift_report(
        self, counted: DriftTally | None, thresholds: DriftThresholds
    ) -> dict[str, Any] | None:
        """The run record's ``drift`` section from the merged tally of a batch."""
        if self._reference is None:
            return None
        return drift_report(self._reference, counted, thresholds)

    def fingerprint(self) -> dict[str, Any]:
        """Model hash and card summary for the run record."""
        return {"model_hash": self.artifact.model_hash, "card": self.artifact.summary()}

    def explain(self, frame: pl.DataFrame, *, top: int = 5) -> pl.DataFrame:
        """Return ``frame`` with ``model_reasons``: the ``top`` strongest positive contributions."""
        plan = self.artifact.plan
        empty = pl.Series(
            "model_reasons", [[] for _ in range(frame.height)], dtype=pl.List(pl.String)
        )
        if frame.height == 0 or top <= 0:
            return frame.with_columns(empty)
        if self._booster is None:
            self._booster = self.artifact.booster()
        contrib = np.asarray(self._booster.predict(plan.matrix(frame), pred_contrib=True))
        contrib = contrib[:, : len(plan.features)]  # last column is the bias
        k = min(top, contrib.shape[1])
        best = np.argsort(-contrib, axis=1, kind="stable")[:, :k]
        rows = np.repeat(np.arange(frame.height), k)
        feats = best.ravel()
        values = contrib[rows, feats]
        long = pl.DataFrame(
            {"__row": rows, "__feature": feats, "__contribution": values},
            schema={"__row": pl.Int64, "__feature": pl.Int64, "__contribution": pl.Float64},
        )
        long = long.filter(pl.col("__contribution") > 0.005)
        text = _display_values(frame, plan)
        rendered = (
            long.join(text, on=["__row", "__feature"], how="left")
            .join(_templates_frame(plan.features), on="__feature", how="left")
            .with_columns(
                pl.concat_str(
                    [
                        pl.col("__prefix"),
                        pl.col("__value").fill_null("missing"),
                        pl.col("__suffix"),
                        pl.lit(": +"),
                        pl.col("__contribution").round(2).cast(pl.String),
                    ]
                ).alias("__reason")
            )
            .sort(["__row", "__contribution"], descending=[False, True])
            .group_by("__row", maintain_order=True)
            .agg(pl.col("__reason"))
        )
        reasons = (
            pl.DataFrame({"__row": np.arange(frame.height)}, schema={"__row": pl.Int64})
            .join(rendered, on="__row", how="left", maintain_order="left")
            .get_column("__reason")
            .fill_null(pl.lit([], dtype=pl.List(pl.String)))
        )
        return frame.with_columns(reasons.alias("model_reasons"))


def _flag_description(f: Feature) -> str | None:
    """The catalogue's description of a Boolean field used as a numeric feature."""
    field = known_fields().get(f.source)
    if f.kind == "numeric" and field is not None and field.dtype == pl.Boolean():
        return field.description
    return None


def _templates_frame(features: tuple[Feature, ...]) -> pl.DataFrame:
    prefixes, suffixes = [], []
    for f in features:
        template = _TEMPLATES.get(f.source) if f.kind in ("numeric", "categorical") else None
        if _flag_description(f) is not None:
            template = "{value}"
        if template is None:
            template = f"{f.label} = {{value}}"
        head, _, tail = template.partition("{value}")
        prefixes.append(head)
        suffixes.append(tail)
    return pl.DataFrame(
        {"__feature": list(range(len(features))), "__prefix": prefixes, "__suffix": suffixes},
        schema={"__feature": pl.Int64, "__prefix": pl.String, "__suffix": pl.String},
    )


def _display_values(frame: pl.DataFrame, plan: FeaturePlan) -> pl.DataFrame:
    """Long frame (row, feature, value text): the source value a person recognises."""
    encoded = plan.expressions()
    exprs: list[pl.Expr] = []
    for i, f in enumerate(plan.features):
        if f.kind == "categorical":
            expr = pl.col(f.source).cast(pl.String)
            prefix = f.extra.get("prefix")
            expr = expr.str.slice(0, prefix) if prefix else expr
        elif (description := _flag_description(f)) is not None:
            flag = pl.col(f.source).cast(pl.Boolean, strict=False)
            expr = pl.when(flag).then(pl.lit(description)).otherwise(pl.lit("not: " + description))
        else:  # numbers, ratios and entity history: the value the model saw
            expr = _number_text(encoded[i])
        exprs.append(expr.alias(str(i)))
    wide = frame.select(exprs).with_row_index("__row")
    return (
        wide.with_columns(pl.col("__row").cast(pl.Int64))
        .unpivot(index="__row", variable_name="__feature", value_name="__value")
        .with_columns(pl.col("__feature").cast(pl.Int64))
    )


def _number_text(expr: pl.Expr) -> pl.Expr:
    rounded = pl.when(expr.abs() >= 100).then(expr.round(0)).otherwise(expr.round(2))
    text = rounded.cast(pl.String)
    return text.str.replace(r"\.0$", "")
