"""The contracts between the pipeline driver and the stages other packages provide.

``engine`` knows nothing of the rule language or of LightGBM: the driver takes any object
that satisfies these protocols. ``rules`` and ``models`` implement them; the CLI and the API
wire the concrete objects in. Each stage is a pure function of a polars frame, so the same
objects serve the single-process path and a distributed one (one per worker).
"""

from __future__ import annotations

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
