"""Combine and select: the end of the pipeline, driven by a declared scoring policy.

``combine`` turns ``rule_score`` and ``model_probability`` into ``risk_score`` (0–100),
``forced_red`` and ``lane``; ``select`` picks the rows to inspect within a capacity: every
forced red, then the highest risk, then a seeded random control sample of the rest, and —
when the policy spends a share on exploration — a seeded sample weighted towards the rows
the model knows least (``explore_score``), each with its ``selection_reason``. ``select``
needs only ``row_index``, ``risk_score`` and ``forced_red`` (and ``explore_score`` when
exploring), so it runs once over a whole batch after the chunks were scored.

Example:
    >>> policy = ScoringPolicy.load(None)
    >>> risk = combine(frame, policy)                                    # doctest: +SKIP
    >>> chosen = select(risk, Capacity.parse("2%"), policy, seed=1)      # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

from engine.errors import Location, LookoutError
from engine.identity import fingerprint
from engine.schema import ROW_INDEX

__all__ = [
    "DEFAULT_POLICY_PATH",
    "EXPLORE_SIGNALS",
    "Capacity",
    "DriftThresholds",
    "PolicyError",
    "ScoringPolicy",
    "combine",
    "explore_score",
    "select",
    "selection_counts",
]

DEFAULT_POLICY_PATH = Path(__file__).parent / "policies" / "default.yaml"
REASONS = ("forced", "risk", "control", "explore")
EXPLORE_FLOOR = 0.02  # every unselected row keeps a chance of being explored
# Row signals that the data is little known, when the history stage provides them: a new
# consignee or shipper, a route new to the consignee, a consignee never inspected.
EXPLORE_SIGNALS = (
    "consignee_is_new",
    "shipper_is_new",
    "consignee_route_is_new",
    "consignee_past_inspections",
)


class PolicyError(LookoutError):
    """A scoring policy or a capacity is malformed."""


@dataclass(frozen=True)
class Capacity:
    """Inspection capacity: a number of rows (``50``) or a share of the batch (``2%``)."""

    rows: int | None = None
    percent: float | None = None

    @classmethod
    def parse(cls, text: str | int | float) -> Capacity:
        """``Capacity.parse("50")`` → 50 rows; ``Capacity.parse("2%")`` → 2 % of the batch."""
        raw = str(text).strip()
        try:
            if raw.endswith("%"):
                percent = float(raw[:-1])
                if not 0 <= percent <= 100 or math.isnan(percent):
                    raise ValueError
                return cls(percent=percent)
            rows = int(raw)
            if rows < 0:
                raise ValueError
            return cls(rows=rows)
        except ValueError:
            raise PolicyError(
                f"capacity '{raw}' is neither a row count nor a percentage",
                location=Location(field="capacity"),
                hint="write a whole number of containers (50) or a share of "
                "the batch between 0% and 100% (2%)",
            ) from None

    def rows_for(self, total: int) -> int:
        """How many rows this capacity allows in a batch of ``total`` rows."""
        if self.rows is not None:
            return min(self.rows, total)
        return min(total, math.ceil((self.percent or 0.0) * total / 100.0 - 1e-9))

    def __str__(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else str(self.rows)


@dataclass(frozen=True)
class DriftThresholds:
    """When the drift figures of a run (``models.drift``) raise a warning.

    ``feature_psi``: population stability index of any model feature; ``score_psi``: of the
    model score; ``unseen_share``: share of rows with a category never seen in training;
    ``missing_increase``: rise of a feature's missing share over the training window's;
    ``min_rows``: smaller batches report the figures but raise no alarm (too noisy).
    """

    feature_psi: float = 0.25
    score_psi: float = 0.25
    unseen_share: float = 0.05
    missing_increase: float = 0.10
    min_rows: int = 500

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftThresholds:
        known = {f for f in cls.__dataclass_fields__}
        unknown = [k for k in data if k not in known]
        if unknown:
            raise ValueError(f"unknown drift key(s) {unknown}; known: {sorted(known)}")
        out = cls(
            feature_psi=float(data.get("feature_psi", cls.feature_psi)),
            score_psi=float(data.get("score_psi", cls.score_psi)),
            unseen_share=float(data.get("unseen_share", cls.unseen_share)),
            missing_increase=float(data.get("missing_increase", cls.missing_increase)),
            min_rows=int(data.get("min_rows", cls.min_rows)),
        )
        if min(out.feature_psi, out.score_psi, out.unseen_share, out.missing_increase) <= 0:
            raise ValueError("drift thresholds must be positive")
        if out.min_rows < 0:
            raise ValueError("drift min_rows must not be negative")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature_psi": self.feature_psi,
            "score_psi": self.score_psi,
            "unseen_share": self.unseen_share,
            "missing_increase": self.missing_increase,
            "min_rows": self.min_rows,
        }


@dataclass(frozen=True)
class ScoringPolicy:
    """A parsed scoring policy (see ``engine/policies/default.yaml``)."""

    name: str = "default"
    rules_weight: float = 1.0
    model_weight: float = 1.0
    rule_scale: float = 50.0
    model_scale: float = 0.5
    red: float = 60.0
    yellow: float = 30.0
    force_red: tuple[str, ...] = ()
    default_capacity: Capacity = field(default_factory=lambda: Capacity(percent=2.0))
    control_fraction: float = 0.05
    min_control: int = 1
    min_risk_score: float = 0.0
    explore_fraction: float = 0.0
    drift: DriftThresholds = field(default_factory=DriftThresholds)
    path: str | None = None
    content_hash: str = ""

    @classmethod
    def load(cls, path: Path | str | None = None) -> ScoringPolicy:
        """Load a policy YAML file; ``None`` loads the shipped default."""
        file = Path(path) if path is not None else DEFAULT_POLICY_PATH
        if not file.is_file():
            raise PolicyError(
                f"scoring policy not found: {file}",
                hint=f"the shipped policy is {DEFAULT_POLICY_PATH}",
            )
        text = file.read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            raise PolicyError(
                f"not valid YAML: {getattr(err, 'problem', err)}",
                location=Location(
                    file=str(file),
                    line=mark.line + 1 if mark else None,
                    column=mark.column + 1 if mark else None,
                ),
            ) from None
        return cls.from_dict(data, file=str(file), content_hash=fingerprint(text))

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], *, file: str | None = None, content_hash: str = ""
    ) -> ScoringPolicy:
        """Build and check a policy from its YAML mapping."""

        def err(msg: str, key: str, hint: str | None = None) -> PolicyError:
            return PolicyError(msg, location=Location(file=file, field=key), hint=hint)

        allowed = {
            "kind",
            "name",
            "description",
            "risk",
            "lanes",
            "force_red",
            "selection",
            "drift",
        }
        if not isinstance(data, dict):
            raise err("a scoring policy must be a YAML mapping", "policy")
        for key in data:
            if key not in allowed:
                raise err(
                    f"unknown policy key '{key}'", key, "known: " + ", ".join(sorted(allowed))
                )
        if data.get("kind", "scoring_policy") != "scoring_policy":
            raise err("kind must be 'scoring_policy'", "kind")
        risk, lanes, sel = (dict(data.get(k) or {}) for k in ("risk", "lanes", "selection"))
        try:
            drift = DriftThresholds.from_dict(dict(data.get("drift") or {}))
        except (TypeError, ValueError) as exc:
            raise err(
                f"drift thresholds: {exc}",
                "drift",
                "feature_psi, score_psi, unseen_share and missing_increase are positive "
                "numbers, min_rows a whole number",
            ) from None
        try:
            policy = cls(
                name=str(data.get("name", "policy")),
                rules_weight=float(risk.get("rules_weight", 1.0)),
                model_weight=float(risk.get("model_weight", 1.0)),
                rule_scale=float(risk.get("rule_scale", 50.0)),
                model_scale=float(risk.get("model_scale", 0.5)),
                red=float(lanes.get("red", 60.0)),
                yellow=float(lanes.get("yellow", 30.0)),
                force_red=tuple(str(r) for r in (data.get("force_red") or [])),
                default_capacity=Capacity.parse(sel.get("default_capacity", "2%")),
                control_fraction=float(sel.get("control_fraction", 0.05)),
                min_control=int(sel.get("min_control", 1)),
                min_risk_score=float(sel.get("min_risk_score", 0.0)),
                explore_fraction=float(sel.get("explore_fraction", 0.0)),
                drift=drift,
                path=file,
                content_hash=content_hash,
            )
        except (TypeError, ValueError) as exc:
            raise err(
                f"a policy value has the wrong type ({exc})",
                "policy",
                "weights, scales and thresholds are numbers",
            ) from None
        if policy.rules_weight < 0 or policy.model_weight < 0:
            raise err("weights must not be negative", "risk")
        if policy.rule_scale <= 0 or policy.model_scale <= 0:
            raise err("rule_scale and model_scale must be positive", "risk")
        if not 0 <= policy.yellow <= policy.red <= 100:
            raise err("lane thresholds must satisfy 0 <= yellow <= red <= 100", "lanes")
        if not 0 <= policy.control_fraction <= 1:
            raise err("control_fraction must lie between 0 and 1", "selection")
        if not 0 <= policy.explore_fraction <= 1 - policy.control_fraction:
            raise err("explore_fraction must lie between 0 and 1 - control_fraction", "selection")
        return policy

    def fingerprint(self) -> dict[str, Any]:
        """What the run record stores about the policy."""
        return {
            "name": self.name,
            "hash": self.content_hash,
            "path": self.path,
            "force_red": list(self.force_red),
            "lanes": {"red": self.red, "yellow": self.yellow},
            "control_fraction": self.control_fraction,
            "explore_fraction": self.explore_fraction,
            "drift": self.drift.to_dict(),
        }


def combine(frame: pl.DataFrame, policy: ScoringPolicy) -> pl.DataFrame:
    """Add ``risk_score`` (0–100), ``forced_red`` and ``lane`` from rules and model.

    Each part is scaled to 0..1 (rule part ``1 - exp(-rule_score / rule_scale)``, model part
    ``1 - exp(-model_probability / model_scale)``) and combined as a weighted noisy-or,
    ``100 · (1 - (1 - rule)^rules_weight · (1 - model)^model_weight)``. Works when either
    column (or both) is absent: an absent part counts as 0.
    """
    parts: list[tuple[pl.Expr, float]] = []
    if "rule_score" in frame.columns:
        score = pl.col("rule_score").cast(pl.Float64).fill_null(0.0).clip(lower_bound=0.0)
        parts.append((1.0 - (-score / policy.rule_scale).exp(), policy.rules_weight))
    if "model_probability" in frame.columns:
        prob = pl.col("model_probability").cast(pl.Float64).fill_null(0.0).clip(0.0, 1.0)
        # Saturating but strictly increasing: never ties rows the model ranks apart.
        parts.append((1.0 - (-prob / policy.model_scale).exp(), policy.model_weight))
    if parts:
        # Weighted noisy-or: either strong signal alone reaches the red lane, both together
        # score higher still, and a part that is absent (or zero) changes nothing.
        keep = pl.lit(1.0)
        for part, weight in parts:
            keep = keep * (1.0 - part).pow(weight)
        risk = ((1.0 - keep) * 100.0).clip(0.0, 100.0)
    else:
        risk = pl.lit(0.0, dtype=pl.Float64)
    if policy.force_red and "rule_hits" in frame.columns:
        forced = (
            pl.col("rule_hits")
            .list.eval(pl.element().is_in(list(policy.force_red)))
            .list.any()
            .fill_null(False)
        )
    else:
        forced = pl.lit(False)
    out = frame.with_columns(risk.alias("risk_score"), forced.alias("forced_red"))
    if policy.explore_fraction > 0:
        out = out.with_columns(explore_score(out.columns).alias("explore_score"))
    lane = (
        pl.when(pl.col("forced_red") | (pl.col("risk_score") >= policy.red))
        .then(pl.lit("red"))
        .when(pl.col("risk_score") >= policy.yellow)
        .then(pl.lit("yellow"))
        .otherwise(pl.lit("green"))
    )
    return out.with_columns(lane.alias("lane"))


def explore_score(columns: list[str]) -> pl.Expr:
    """How much inspecting a row would teach the model, 0–1 (needs ``risk_score``).

    Half is *novelty*: the mean of the :data:`EXPLORE_SIGNALS` the frame has (a new
    consignee or shipper, a route new to the consignee, a consignee never inspected; an
    unknown value counts one half). Half is *uncertainty*: ``risk_score / 100`` — among the
    rows not selected on risk, those closest to the cut are where the ranking is least sure.
    """
    signals: list[pl.Expr] = []
    for name in EXPLORE_SIGNALS:
        if name not in columns:
            continue
        value = pl.col(name).cast(pl.Float64, strict=False)
        if name == "consignee_past_inspections":
            value = (value == 0).cast(pl.Float64)
        signals.append(value.clip(0.0, 1.0).fill_null(0.5).fill_nan(0.5))
    novelty = pl.mean_horizontal(signals) if signals else pl.lit(0.5)
    uncertainty = pl.col("risk_score").cast(pl.Float64).fill_null(0.0) / 100.0
    return (0.5 * novelty + 0.5 * uncertainty).clip(0.0, 1.0)


def select(
    frame: pl.DataFrame, capacity: Capacity, policy: ScoringPolicy, *, seed: int = 0
) -> pl.DataFrame:
    """Choose the rows to inspect: forced reds, then highest risk, then a control sample.

    ``frame`` needs ``row_index``, ``risk_score`` and ``forced_red``. Returns one row per
    input row (same order) with ``row_index``, ``selected`` (Boolean) and
    ``selection_reason`` ("forced", "risk", "control", "explore" or null). Forced reds are
    always selected, even beyond capacity. Ties in risk break by ``row_index``; the control
    sample is drawn uniformly with ``seed`` from the rows not otherwise selected, so it stays
    an unbiased sample for evaluation; with ``policy.explore_fraction`` > 0 the explore
    sample is then drawn from the rest, with probability weighted by ``explore_score``
    (weighted sampling without replacement, same seed). The same batch, policy and seed
    always select the same rows.
    """
    for col in (ROW_INDEX, "risk_score", "forced_red"):
        if col not in frame.columns:
            raise PolicyError(
                f"selection needs the column '{col}'",
                location=Location(field=col),
                hint="run combine() on the scored rows first",
            )
    exploring = policy.explore_fraction > 0
    if exploring and "explore_score" not in frame.columns:
        raise PolicyError(
            "selection with explore_fraction needs the column 'explore_score'",
            location=Location(field="explore_score"),
            hint="run combine() with the same policy on the scored rows first",
        )
    base = frame.select(
        pl.col(ROW_INDEX),
        pl.col("risk_score").cast(pl.Float64).fill_null(0.0),
        pl.col("forced_red").cast(pl.Boolean).fill_null(False),
        *([pl.col("explore_score").cast(pl.Float64).fill_null(0.0)] if exploring else []),
    ).with_row_index("__pos")
    allowed = capacity.rows_for(base.height)
    forced = base.filter(pl.col("forced_red"))
    room = max(allowed - forced.height, 0)
    control_n = min(
        room, max(policy.min_control if room > 1 else 0, round(policy.control_fraction * allowed))
    )
    explore_n = min(room - control_n, round(policy.explore_fraction * allowed))
    risk_n = room - control_n - explore_n
    ranked = (
        base.filter(~pl.col("forced_red") & (pl.col("risk_score") >= policy.min_risk_score))
        .sort(["risk_score", ROW_INDEX], descending=[True, False])
        .head(risk_n)
    )
    picked = pl.concat([forced.get_column("__pos"), ranked.get_column("__pos")])
    # Control rows: every row not yet chosen, in row_index order, sampled with the seed.
    rest = (
        base.filter(~pl.col("__pos").is_in(picked.implode()))
        .sort(ROW_INDEX)
        .get_column("__pos")
        .to_numpy()
    )
    # If risk could not fill its share (min_risk_score), the control sample does not grow.
    rng = np.random.default_rng(seed)
    control = rng.choice(rest, size=min(control_n, rest.shape[0]), replace=False)
    explore = np.zeros(0, dtype=rest.dtype)
    if explore_n > 0:
        left = np.setdiff1d(rest, control, assume_unique=True)  # sorted, like rest
        weight = base.get_column("explore_score").to_numpy()[left] + EXPLORE_FLOOR
        # Efraimidis–Spirakis: the k largest u^(1/w) are a weighted sample without
        # replacement; logs keep it stable: log(u) / w.
        keys = np.log(rng.random(left.shape[0])) / weight
        take = min(explore_n, left.shape[0])
        explore = left[np.argsort(-keys, kind="stable")[:take]]
    reasons = pl.DataFrame(
        {
            "__pos": pl.concat(
                [
                    forced.get_column("__pos"),
                    ranked.get_column("__pos"),
                    pl.Series(control, dtype=pl.get_index_type()),
                    pl.Series(explore, dtype=pl.get_index_type()),
                ]
            ),
            "selection_reason": (
                ["forced"] * forced.height
                + ["risk"] * ranked.height
                + ["control"] * int(control.shape[0])
                + ["explore"] * int(explore.shape[0])
            ),
        },
        schema={"__pos": pl.get_index_type(), "selection_reason": pl.String()},
    )
    return base.join(reasons, on="__pos", how="left", maintain_order="left").select(
        ROW_INDEX, pl.col("selection_reason").is_not_null().alias("selected"), "selection_reason"
    )


def selection_counts(selection: pl.DataFrame) -> dict[str, int]:
    """Selected rows per reason, for the run record: ``{"forced": 2, "risk": 45, ...}``
    (``explore`` only when some were explored)."""
    chosen = selection.filter(pl.col("selected")).get_column("selection_reason")
    counts = {reason: int((chosen == reason).sum()) for reason in REASONS}
    if not counts["explore"]:
        del counts["explore"]  # only a policy that explores has the reason
    counts["total"] = int(selection.get_column("selected").sum())
    return counts
