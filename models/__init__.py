"""LightGBM risk model: recipe, training, evaluation, artifacts, exact fast inference.

The public surface is small: train a :class:`ModelArtifact` from a frame and a
:class:`ModelRecipe`, save/load it as a folder, and score with :class:`ModelStage` (which
satisfies ``engine.stages.ExplainingStage``).
"""

from models.artifact import ModelArtifact, load_model
from models.errors import (
    ArtifactError,
    MissingFeaturesError,
    ModelError,
    RecipeError,
    TrainingDataError,
)
from models.evaluate import evaluate_scores
from models.features import FeaturePlan
from models.forest import Forest
from models.recipe import ModelRecipe, load_recipe
from models.stage import ModelStage
from models.train import train_model

__all__ = [
    "ArtifactError",
    "FeaturePlan",
    "Forest",
    "MissingFeaturesError",
    "ModelArtifact",
    "ModelError",
    "ModelRecipe",
    "ModelStage",
    "RecipeError",
    "TrainingDataError",
    "evaluate_scores",
    "load_model",
    "load_recipe",
    "train_model",
]
