"""The contracts between the pipeline driver and the stages other packages provide.

``engine`` knows nothing of the rule language or of LightGBM: the driver takes any object
that satisfies these protocols. ``rules`` and ``models`` implement them; the CLI and the API
wire the concrete objects in. Each stage is a pure function of a polars frame, so the same
objects serve the single-process path and a distributed one (one per worker).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import polars as pl


@runtime_checkable
class Stage(Protocol):
    """A scoring stage: adds columns to a batch frame and never drops or reorders rows."""

    name: str

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Return ``frame`` with this stage's columns added (same rows, same order)."""
        ...

    def fingerprint(self) -> dict[str, Any]:
        """What the run record stores about this stage: content hash, versions, skips."""
        ...


@runtime_checkable
class ExplainingStage(Stage, Protocol):
    """A model stage that can also explain selected rows (costlier, so only for a few)."""

    def explain(self, frame: pl.DataFrame, *, top: int = 5) -> pl.DataFrame:
        """Return ``frame`` with ``model_reasons`` (list of plain-language strings) added."""
        ...


@runtime_checkable
class ExplainsFromColumns(Protocol):
    """An explaining stage that says which input columns ``explain`` reads, so the rows it
    explains are read with those columns only (not the whole scored frame)."""

    def explain_columns(self) -> list[str]:
        """The columns ``explain`` needs besides ``row_index``."""
        ...


@runtime_checkable
class DriftCounts(Protocol):
    """Additive drift counts of some scored rows (``models.drift.DriftTally``)."""

    def merge(self, other: Any) -> Any:
        """The counts of both row sets."""
        ...


@runtime_checkable
class DriftAware(Protocol):
    """A model stage that compares the scored rows with its training window."""

    def drift_tally(self, frame: pl.DataFrame, features: Any = None) -> DriftCounts | None:
        """Counts of one scored chunk (None when the model keeps no reference);
        ``features``: what :meth:`KeepsFeatures.apply_with_features` returned for these
        rows, when the stage has that method."""
        ...

    def drift_report(self, counted: Any, thresholds: Any) -> dict[str, Any] | None:
        """The run record's ``drift`` section from the merged counts of a batch."""
        ...


@runtime_checkable
class KeepsFeatures(Protocol):
    """A model stage whose scoring returns the features it computed, so that the drift
    tally of the same rows counts them instead of computing them again."""

    def apply_with_features(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, Any]:
        """:meth:`Stage.apply`, and the features for :meth:`DriftAware.drift_tally`."""
        ...


def tally_drift(model: object, frame: pl.DataFrame, features: Any = None) -> Any:
    """The drift counts of the scored chunk ``frame`` (None when the model keeps none);
    ``features``: the model stage's own for these rows (see :class:`KeepsFeatures`)."""
    if not isinstance(model, DriftAware):
        return None
    return model.drift_tally(frame, features)


def merge_drift(a: Any, b: Any) -> Any:
    """Merge two (possibly absent) drift counts."""
    if a is None:
        return b
    return a if b is None else a.merge(b)


def report_drift(model: object, counted: Any, thresholds: Any) -> dict[str, Any]:
    """The drift section of a run record ({} without a drift-aware model)."""
    if not isinstance(model, DriftAware):
        return {}
    return model.drift_report(counted, thresholds) or {}


class RuleSource(Protocol):
    """A rule pack: compiles, once per frame schema, into a scoring stage.

    ``stage_for`` is called from every chunk of every batch, possibly from several threads
    at once; the pack caches the compiled stage per schema (under a lock)."""

    def stage_for(self, schema: Mapping[str, pl.DataType]) -> Stage:
        """The rules stage for frames with ``schema`` (compiled on first use)."""
        ...
