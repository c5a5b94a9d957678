"""The model as a scoring stage: probability for every row, reasons for the few selected.

``apply`` prepares the features with polars expressions and runs the compiled forest;
``explain`` computes LightGBM's own per-feature contributions (``pred_contrib``, bit for
bit: :mod:`models.contrib`) on the rows an officer will look at and renders the strongest
positive ones in plain language in every locale through the phrase table
(``models.phrases``), e.g. ``"consignee first seen 3 days ago: +0.21"`` and
``"грузополучатель впервые замечен 3 дн. назад: +0,21"``
(contributions are in log-odds).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from engine.i18n import DEFAULT_LOCALE, LOCALES, decimal_text, localised_column
from engine.policy import DriftThresholds
from models.artifact import ModelArtifact
from models.contrib import TreeShap
from models.drift import DriftTally, drift_report, tally
from models.features import FeaturePlan, PreparedFeatures
from models.phrases import PHRASES, phrase_expr

__all__ = ["ModelStage", "reason_templates"]

CONTRIBUTION_MARK = {"en": ": +", "ru": " — +"}
"""Between a phrase and its contribution: Russian phrases end in ": 3" themselves."""


def reason_templates(locale: str = DEFAULT_LOCALE) -> dict[str, str]:
    """The phrase template of every field the phrase table knows, in ``locale``."""
    return {name: p.text.get(locale) or p.text[DEFAULT_LOCALE] for name, p in PHRASES.items()}


class ModelStage:
    """Scoring stage ``model``: adds ``model_probability``; ``explain`` adds ``model_reasons``."""

    name = "model"

    def __init__(self, artifact: ModelArtifact) -> None:
        self.artifact = artifact
        self._booster: Any = None
        # The contribution kernels, built at the first explanation (None: LightGBM's own).
        self._shap: TreeShap | None = None
        self._shap_built = False
        self._reference = artifact.drift_reference()

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Return ``frame`` with ``model_probability`` (Float64) added."""
        return self.apply_with_features(frame)[0]

    def apply_with_features(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, PreparedFeatures]:
        """:meth:`apply`, and the features it computed (for :meth:`drift_tally`)."""
        prepared = self.artifact.plan.prepare(frame)
        probability = self.artifact.forest.predict(prepared.matrix())
        scored = frame.with_columns(pl.Series("model_probability", probability, dtype=pl.Float64))
        return scored, prepared

    def drift_tally(
        self, frame: pl.DataFrame, features: PreparedFeatures | None = None
    ) -> DriftTally | None:
        """Counts of a scored chunk in the slots of the model's drift reference (None when
        the card has none); tallies of chunks add up with ``DriftTally.merge``.
        ``features``: :meth:`apply_with_features`' features of these rows."""
        if self._reference is None:
            return None
        return tally(frame, self._reference, self.artifact.plan, features)

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

    def explain_columns(self) -> list[str]:
        """The input columns :meth:`explain` reads: the features' sources."""
        return self.artifact.plan.source_columns()

    def explain(self, frame: pl.DataFrame, *, top: int = 5) -> pl.DataFrame:
        """Return ``frame`` with ``model_reasons``: the ``top`` strongest positive contributions."""
        plan = self.artifact.plan
        if frame.height == 0 or top <= 0:
            empty = pl.lit([], dtype=pl.List(pl.String))
            return frame.with_columns(
                empty.alias(localised_column("model_reasons", locale)) for locale in LOCALES
            )
        contrib = self._contributions(plan.matrix(frame))
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
        ordered = long.sort(["__row", "__contribution"], descending=[False, True])
        added: list[pl.Series] = []
        for locale in LOCALES:
            phrases = _phrases(frame, plan, locale, ordered.select("__row", "__feature"))
            rendered = (
                ordered.join(phrases, on=["__row", "__feature"], how="left", maintain_order="left")
                .with_columns(
                    pl.concat_str(
                        [
                            pl.col("__phrase"),
                            pl.lit(CONTRIBUTION_MARK.get(locale, ": +")),
                            decimal_text(pl.col("__contribution").round(2), locale),
                        ]
                    ).alias("__reason")
                )
                .group_by("__row", maintain_order=True)
                .agg(pl.col("__reason"))
            )
            reasons = (
                pl.DataFrame({"__row": np.arange(frame.height)}, schema={"__row": pl.Int64})
                .join(rendered, on="__row", how="left", maintain_order="left")
                .get_column("__reason")
                .fill_null(pl.lit([], dtype=pl.List(pl.String)))
            )
            added.append(reasons.alias(localised_column("model_reasons", locale)))
        return frame.with_columns(added)

    def _contributions(self, x: np.ndarray) -> np.ndarray:
        """LightGBM's ``pred_contrib`` of ``x``: by the compiled forest (the same doubles,
        each distinct decision pattern of a tree computed once: :mod:`models.contrib`), or by
        LightGBM itself for a forest the kernels do not handle."""
        if not self._shap_built:
            self._shap, self._shap_built = TreeShap.of(self.artifact.forest), True
        if self._shap is not None:
            return self._shap.contributions(x)
        if self._booster is None:
            self._booster = self.artifact.booster()
        return np.asarray(self._booster.predict(np.ascontiguousarray(x), pred_contrib=True))


def _phrases(
    frame: pl.DataFrame, plan: FeaturePlan, locale: str, pairs: pl.DataFrame
) -> pl.DataFrame:
    """Long frame (row, feature, phrase) for the (``__row``, ``__feature``) ``pairs`` the
    reasons name: that feature's value in that row as a sentence in ``locale``.

    Only the named pairs (each row's few strongest features) are phrased, feature by feature
    on its own rows — not every feature of every row (the expressions are row by row)."""
    encoded = plan.expressions()
    pieces: list[pl.DataFrame] = []
    for (i,), rows in pairs.partition_by("__feature", as_dict=True, maintain_order=True).items():
        f = plan.features[int(i)]
        if f.kind == "categorical":
            code = pl.col(f.source).cast(pl.String)
            prefix = f.extra.get("prefix")
            code = code.str.slice(0, prefix) if prefix else code
            expr = phrase_expr(f.source, code, locale, code=True)
        else:  # numbers, flags, ratios and entity history: the value the model saw
            known = f.kind == "numeric" and f.source in PHRASES
            expr = phrase_expr(f.source if known else f.label, encoded[int(i)], locale)
        index = rows.get_column("__row")
        sources = expr.meta.root_names()
        pieces.append(
            frame.select(pl.col(sources).gather(index))
            .select(expr.alias("__phrase"))
            .select(index, pl.lit(int(i), dtype=pl.Int64).alias("__feature"), "__phrase")
        )
    if not pieces:
        return pl.DataFrame(
            schema={"__row": pl.Int64, "__feature": pl.Int64, "__phrase": pl.String}
        )
    return pl.concat(pieces)
