"""The Scorer: everything a chunk needs to be scored, built once and never changed.

A :class:`Scorer` holds the reference tables, the scoring policy, the rule pack, the model,
the enrichers (history features, watchlist screening) and its options; it is a frozen
dataclass, so one instance can serve any number of batches and threads, and a pickled copy
on a distributed worker behaves like the original. :meth:`Scorer.score` is the pure
per-chunk function (validate → enrich → rules → model → combine) every driver runs.

Compiling the rules for a frame's schema belongs to the rule pack (:class:`RuleSource`,
a locked cache in ``rules.RulePack.stage_for``), so the scorer holds no compiled state.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import polars as pl

from engine.enrich import enrich
from engine.policy import ScoringPolicy, combine
from engine.record import Timings
from engine.reference import ReferenceData
from engine.schema import CANONICAL
from engine.stages import ExplainingStage, KeepsFeatures, RuleSource, Stage, tally_drift
from engine.validate import validate


class ScoredChunk(NamedTuple):
    """A scored chunk, the compiled rules stage that scored it (None without rules) and
    the model's drift counts of its rows (None without a model that keeps them)."""

    frame: pl.DataFrame
    rules: Stage | None
    drift: Any = None


@dataclass(frozen=True)
class Scorer:
    """Everything a chunk needs to be scored; built once, reused for every chunk and batch.

    ``append_history``: a scored batch joins the history store of the batch-aware enrichers
    (off for re-scoring and backtests).
    """

    refs: ReferenceData
    policy: ScoringPolicy
    rules: RuleSource | None = None
    model: ExplainingStage | None = None
    enrichers: tuple[Stage, ...] = ()
    append_history: bool = True

    def __post_init__(self) -> None:
        # A list given by the caller would stay mutable from outside.
        object.__setattr__(self, "enrichers", tuple(self.enrichers))

    def with_enrichers_first(self, *stages: Stage) -> Scorer:
        """This scorer with ``stages`` before its own enrichers (e.g. a unit's history);
        the rule pack, and so its compiled stages, stay shared."""
        return replace(self, enrichers=(*stages, *self.enrichers))

    def prepare(
        self,
        frame: pl.DataFrame,
        present: Collection[str] | None = None,
        timings: Timings | None = None,
    ) -> pl.DataFrame:
        """validate → enrich (reference joins, history, watchlists) on a canonical frame."""
        timings = timings or Timings()
        present = present_fields(frame) if present is None else present
        with timings.stage("validate"):
            frame = validate(frame, self.refs, present=present)
        with timings.stage("enrich"):
            frame = enrich(frame, self.refs)
        for stage in self.enrichers:
            with timings.stage(stage.name):
                frame = stage.apply(frame)
        return frame

    def score(
        self,
        frame: pl.DataFrame,
        present: Collection[str] | None = None,
        timings: Timings | None = None,
    ) -> ScoredChunk:
        """One chunk through validate → enrich → rules → model → combine, and the model's
        drift counts of it.

        ``present``: the canonical fields the source provides (default: those with a value
        in ``frame``); ``timings`` collects the seconds per stage.
        """
        timings = timings or Timings()
        frame = self.prepare(frame, present, timings)
        rules: Stage | None = None
        if self.rules is not None:
            with timings.stage("rules"):
                rules = self.rules.stage_for(frame.schema)
                frame = rules.apply(frame)
        features: Any = None
        if self.model is not None:
            with timings.stage("model"):
                if isinstance(self.model, KeepsFeatures):
                    frame, features = self.model.apply_with_features(frame)
                else:
                    frame = self.model.apply(frame)
        with timings.stage("combine"):
            frame = combine(frame, self.policy)
        with timings.stage("drift"):
            drift = tally_drift(self.model, frame, features)
        return ScoredChunk(frame, rules, drift)

    def fingerprint(self, rules: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What the run record says of the stages; ``rules`` is the fingerprint of the
        compiled rules stage the batch was scored with (None: no rules ran)."""
        out: dict[str, Any] = {
            "reference": self.refs.fingerprint(),
            "policy": self.policy.fingerprint(),
        }
        if rules is not None:
            out["rules"] = dict(rules)
        if self.model is not None:
            out["model"] = self.model.fingerprint()
        for stage in self.enrichers:
            out[stage.name] = stage.fingerprint()
        return out


def present_fields(frame: pl.DataFrame) -> set[str]:
    """Canonical fields with at least one value (for frames not read through a spec)."""
    names = [n for n in CANONICAL if n in frame.columns]
    if not names or frame.height == 0:
        return set(names)
    counts = frame.select(pl.col(names).is_not_null().any()).row(0)
    return {n for n, seen in zip(names, counts, strict=True) if seen}


__all__ = ["ScoredChunk", "Scorer", "present_fields"]
