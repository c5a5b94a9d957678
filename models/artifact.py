"""The model artifact: a folder with ``model.txt`` (LightGBM text) and ``card.json``.

No pickle: the text model and a JSON card are all that is needed to score, and both can be
read and diffed by a person. Loading checks the card's format, the library versions that
wrote it and that the model's features are the card's features.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from engine.errors import Location
from engine.identity import fingerprint, same_fingerprint
from models.drift import DriftReference
from models.errors import ArtifactError
from models.features import FeaturePlan
from models.forest import Forest
from models.recipe import ModelRecipe

if TYPE_CHECKING:
    import lightgbm as lgb

__all__ = ["CARD_FORMAT", "ModelArtifact", "build_card", "load_model"]

CARD_FORMAT = 1
MODEL_FILE = "model.txt"
CARD_FILE = "card.json"


@dataclass
class ModelArtifact:
    """A trained model in memory: LightGBM text, its card, fitted features, compiled forest."""

    model_text: str
    card: dict[str, Any]
    plan: FeaturePlan
    forest: Forest

    @property
    def model_hash(self) -> str:
        """Content hash of the model text and its feature preparation."""
        return fingerprint(self.model_text, json.dumps(self.plan.to_dict(), sort_keys=True))

    def drift_reference(self) -> DriftReference | None:
        """The training window's distributions (None for cards written before they were kept)."""
        data = self.card.get("drift_reference")
        return DriftReference.from_dict(data) if data else None

    def booster(self) -> lgb.Booster:
        """A LightGBM booster for the same model (explanations of a forest the compiled
        kernels do not handle; tests). LightGBM is imported here only: scoring does not
        need it, and it takes ~0.5 s to import (pandas, scipy)."""
        import lightgbm as lgb

        return lgb.Booster(model_str=self.model_text)

    def save(self, folder: Path | str) -> Path:
        """Write ``model.txt`` and ``card.json`` into ``folder`` (created if needed)."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        (out / MODEL_FILE).write_text(self.model_text, encoding="utf-8")
        card = {**self.card, "model_hash": self.model_hash}
        (out / CARD_FILE).write_text(
            json.dumps(card, indent=1, default=str) + "\n", encoding="utf-8"
        )
        return out

    def summary(self) -> dict[str, Any]:
        """The short form the run record stores."""
        return {
            "name": self.card.get("name"),
            "trained_at": self.card.get("trained_at"),
            "training_window": self.card.get("training_window"),
            "n_features": len(self.plan.features),
            "n_trees": self.forest.num_trees,
            "metrics": {
                k: v
                for k, v in (self.card.get("metrics") or {}).items()
                if k.startswith(("precision_at", "average_precision"))
            },
        }


def build_card(
    *,
    recipe: ModelRecipe,
    plan: FeaturePlan,
    params: dict[str, Any],
    best_iteration: int,
    train: pl.DataFrame,
    valid: pl.DataFrame,
    data_hash: str,
    metrics: dict[str, Any],
    name: str | None = None,
) -> dict[str, Any]:
    """The JSON card: features, encodings, windows, data hash, parameters, metrics, versions."""

    def window(rows: pl.DataFrame) -> dict[str, Any]:
        t = rows.get_column("__time")
        return {
            "from": str(t.min()),
            "to": str(t.max()),
            "rows": rows.height,
            "positives": int(rows.get_column("__label").sum()),
        }

    return {
        "format": CARD_FORMAT,
        "name": name or recipe.label,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": library_versions(),
        "recipe": recipe.to_dict(),
        "features": plan.names,
        "feature_plan": plan.to_dict(),
        "training_window": window(train),
        "validation_window": window(valid),
        "data_hash": data_hash,
        "params": params,
        "best_iteration": best_iteration,
        "metrics": metrics,
    }


def library_versions() -> dict[str, str]:
    """Versions that matter for reading the model back."""
    return {
        "lightgbm": _lightgbm_version(),
        "polars": pl.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _lightgbm_version() -> str:
    """The installed LightGBM's version, read from its metadata (no import)."""
    return importlib.metadata.version("lightgbm")


def load_model(folder: Path | str) -> ModelArtifact:
    """Load and check a model folder; :class:`ArtifactError` says what is wrong and how to fix."""
    path = Path(folder)
    model_file, card_file = path / MODEL_FILE, path / CARD_FILE
    for f in (model_file, card_file):
        if not f.is_file():
            raise ArtifactError(
                f"model folder is missing {f.name}",
                location=Location(file=str(path)),
                hint="pass a folder written by `lookout model train --out DIR`",
            )
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ArtifactError(
            f"card.json is not valid JSON: {err.msg}",
            location=Location(file=str(card_file), line=err.lineno, column=err.colno),
        ) from None
    if card.get("format") != CARD_FORMAT:
        raise ArtifactError(
            f"card format {card.get('format')!r} is not supported "
            f"(this Lookout reads format {CARD_FORMAT})",
            location=Location(file=str(card_file), field="format"),
            hint="retrain the model with this version of Lookout",
        )
    written = str((card.get("versions") or {}).get("lightgbm", "?"))
    installed = _lightgbm_version()
    if written.split(".")[0] != installed.split(".")[0]:
        raise ArtifactError(
            f"the model was written by LightGBM {written}; this installation has {installed}",
            location=Location(file=str(card_file), field="versions"),
            hint="retrain the model, or install a matching LightGBM major version",
        )
    text = model_file.read_text(encoding="utf-8")
    try:
        forest = Forest.from_model_string(text)
    except (KeyError, ValueError) as err:
        raise ArtifactError(
            f"model.txt is not a readable LightGBM model ({err})",
            location=Location(file=str(model_file)),
        ) from None
    plan = FeaturePlan.from_dict(card["feature_plan"])
    if list(forest.feature_names) != plan.names or card.get("features") != plan.names:
        raise ArtifactError(
            "model.txt and card.json disagree on the features",
            location=Location(file=str(path)),
            hint="the folder was edited by hand or mixed from two models; retrain",
        )
    artifact = ModelArtifact(text, card, plan, forest)
    if card.get("drift_reference"):
        try:
            reference = DriftReference.from_dict(card["drift_reference"])
        except (KeyError, TypeError, ValueError) as err:
            raise ArtifactError(
                f"card.json has an unreadable drift_reference ({err})",
                location=Location(file=str(card_file), field="drift_reference"),
                hint="recompute it with `lookout model reference DIR --data ... --spec ...`",
            ) from None
        if [f.name for f in reference.features] != plan.names:
            raise ArtifactError(
                "the drift reference and the model disagree on the features",
                location=Location(file=str(card_file), field="drift_reference"),
                hint="recompute it with `lookout model reference DIR --data ... --spec ...`",
            )
    stored = card.get("model_hash")
    if stored and not same_fingerprint(str(stored), artifact.model_hash):
        raise ArtifactError(
            "model hash in card.json does not match model.txt",
            location=Location(file=str(card_file), field="model_hash"),
            hint="the model text was changed after training; retrain",
        )
    return artifact
