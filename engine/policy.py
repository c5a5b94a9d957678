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
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import AfterValidator, Field, model_validator

from engine.documents import DocumentModel, ScalarText, read_document, validate_data
from engine.errors import Location, LookoutError
from engine.i18n import N_
from engine.identity import fingerprint
from engine.schema import ROW_INDEX

__all__ = [
    "DEFAULT_POLICY_PATH",
    "EXPLORE_SIGNALS",
    "Capacity",
    "DriftThresholds",
    "PolicyDocument",
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
                N_("capacity '{raw}' is neither a row count nor a percentage", raw=raw),
                location=Location(field="capacity"),
                hint=N_(
                    "write a whole number of containers (50) or a share of "
                    "the batch between 0% and 100% (2%)"
                ),
            ) from None

    def rows_for(self, total: int) -> int:
        """How many rows this capacity allows in a batch of ``total`` rows."""
        if self.rows is not None:
            return min(self.rows, total)
        return min(total, math.ceil((self.percent or 0.0) * total / 100.0 - 1e-9))

    def __str__(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else str(self.rows)


def _capacity(value: str | int | float) -> str | int | float:
    try:
        Capacity.parse(value)
    except PolicyError as exc:
        raise ValueError(
            f"'{value}' is neither a row count nor a percentage ({exc.hint})"
        ) from None
    return value


class RiskSection(DocumentModel):
    """How rule score and model probability combine into the risk score."""

    rules_weight: float = Field(default=1.0, ge=0, description="weight of the rule part")
    model_weight: float = Field(default=1.0, ge=0, description="weight of the model part")
    rule_scale: float = Field(
        default=50.0, gt=0, description="rule_score giving 63 % of the rule part"
    )
    model_scale: float = Field(
        default=0.5, gt=0, description="probability giving 63 % of the model part"
    )


class LaneSection(DocumentModel):
    """Risk-score thresholds of the red and yellow lanes (0 <= yellow <= red <= 100)."""

    red: float = Field(default=60.0, ge=0, le=100, description="risk score from which a row is red")
    yellow: float = Field(
        default=30.0, ge=0, le=100, description="risk score from which a row is yellow"
    )

    @model_validator(mode="after")
    def _ordered(self) -> LaneSection:
        if self.yellow > self.red:
            raise ValueError("thresholds must satisfy 0 <= yellow <= red <= 100")
        return self


class SelectionSection(DocumentModel):
    """What is selected for inspection within the capacity."""

    default_capacity: Annotated[str | int | float, AfterValidator(_capacity)] = Field(
        default="2%", description="rows (50) or a share of the batch (2%) when none is given"
    )
    control_fraction: float = Field(
        default=0.05, ge=0, le=1, description="share of the capacity drawn at random as control"
    )
    min_control: int = Field(default=1, ge=0, description="control rows at least (when room)")
    min_risk_score: float = Field(default=0.0, description="risk rows need at least this score")
    explore_fraction: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="share of the capacity for exploration (rows the model knows least)",
    )

    @model_validator(mode="after")
    def _shares(self) -> SelectionSection:
        if self.explore_fraction > 1 - self.control_fraction:
            raise ValueError("explore_fraction must lie between 0 and 1 - control_fraction")
        return self


class DriftThresholds(DocumentModel):
    """When the drift figures of a run (``models.drift``) raise a warning.

    ``feature_psi``: population stability index of any model feature; ``score_psi``: of the
    model score; ``unseen_share``: share of rows with a category never seen in training;
    ``missing_increase``: rise of a feature's missing share over the training window's;
    ``min_rows``: smaller batches report the figures but raise no alarm (too noisy).
    """

    label: ClassVar[str] = "'drift'"
    feature_psi: float = Field(default=0.25, gt=0, description="PSI of any model feature")
    score_psi: float = Field(default=0.25, gt=0, description="PSI of the model score")
    unseen_share: float = Field(
        default=0.05, gt=0, description="share of rows with a category unseen in training"
    )
    missing_increase: float = Field(
        default=0.10, gt=0, description="rise of a feature's missing share over training's"
    )
    min_rows: int = Field(default=500, ge=0, description="smaller batches raise no alarm")

    def to_dict(self) -> dict[str, Any]:
        """The thresholds as plain JSON (run records)."""
        return self.model_dump()


class PolicyDocument(DocumentModel):
    """A scoring policy file (``engine/policies/default.yaml``)."""

    label: ClassVar[str] = "a scoring policy"
    kind: Literal["scoring_policy"] = Field(default="scoring_policy", description="scoring_policy")
    name: ScalarText = Field(default="policy", description="the policy's name, in run records")
    description: str | None = Field(default=None, description="what the policy is for")
    risk: RiskSection | None = None
    lanes: LaneSection | None = None
    force_red: list[ScalarText] | None = Field(
        default=None,
        description="rule ids whose hit makes a row red and selected, whatever its score",
    )
    selection: SelectionSection | None = None
    drift: DriftThresholds | None = None


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
        doc, _, text = read_document(file, PolicyDocument, PolicyError, empty_ok=True)
        return cls.from_document(doc, file=str(file), content_hash=fingerprint(text))

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], *, file: str | None = None, content_hash: str = ""
    ) -> ScoringPolicy:
        """Build and check a policy from its YAML mapping (errors name the key's path)."""
        if not isinstance(data, dict):
            raise PolicyError(
                "a scoring policy must be a YAML mapping", location=Location(file=file)
            )
        doc = validate_data(PolicyDocument, data, PolicyError, file=file)
        return cls.from_document(doc, file=file, content_hash=content_hash)

    @classmethod
    def from_document(
        cls, doc: PolicyDocument, *, file: str | None = None, content_hash: str = ""
    ) -> ScoringPolicy:
        """The policy a checked document declares."""
        risk, lanes = doc.risk or RiskSection(), doc.lanes or LaneSection()
        sel = doc.selection or SelectionSection()
        return cls(
            name=doc.name,
            rules_weight=risk.rules_weight,
            model_weight=risk.model_weight,
            rule_scale=risk.rule_scale,
            model_scale=risk.model_scale,
            red=lanes.red,
            yellow=lanes.yellow,
            force_red=tuple(doc.force_red or ()),
            default_capacity=Capacity.parse(sel.default_capacity),
            control_fraction=sel.control_fraction,
            min_control=sel.min_control,
            min_risk_score=sel.min_risk_score,
            explore_fraction=sel.explore_fraction,
            drift=doc.drift or DriftThresholds(),
            path=file,
            content_hash=content_hash,
        )

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
