"""Errors of the model package: one root, one subclass per kind of problem."""

from __future__ import annotations

from engine.errors import LookoutError

__all__ = [
    "ArtifactError",
    "MissingFeaturesError",
    "ModelError",
    "RecipeError",
    "TrainingDataError",
]


class ModelError(LookoutError):
    """Root of every model-package error."""


class RecipeError(ModelError):
    """The model recipe (``model:`` section of a dataset spec) is malformed."""


class TrainingDataError(ModelError):
    """The training or evaluation data cannot train a model (no labels, one class, ...)."""


class ArtifactError(ModelError):
    """A model folder is missing, corrupt, or was made by incompatible library versions."""


class MissingFeaturesError(ModelError):
    """A frame to score lacks columns the model needs."""

    def __init__(
        self, missing: list[str], *, available: list[str] | None = None, source: str | None = None
    ) -> None:
        self.missing = missing
        where = f" in {source}" if source else ""
        hint = (
            "map these columns in the dataset spec, or retrain the model on the features "
            "this data has"
        )
        if available:
            hint += f"; available columns include: {', '.join(sorted(available)[:20])}"
        super().__init__(f"the model needs columns missing{where}: {', '.join(missing)}", hint=hint)
