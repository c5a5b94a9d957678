"""``/v1/model``: the model card of the model the scorer uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter

from api.auth import Viewer
from api.problems import ProblemException
from api.state import State

router = APIRouter(prefix="/v1/model", tags=["model"])

SHIPPED_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "default"


@router.get(
    "",
    summary="The model card",
    responses={404: {"description": "No model card installed"}},
)
def get_model(state: State, principal: Viewer) -> dict[str, Any]:
    """Training data hash, features, evaluation at inspection rates, versions."""
    card = (state.settings.model_dir or SHIPPED_MODEL_DIR) / "card.json"
    if not card.is_file():
        raise ProblemException(404, "No model card", f"no model card at {card.name}")
    data: dict[str, Any] = json.loads(card.read_text())
    return data
