"""``/v1/model``: the model card of the model the scorer uses, and drift against it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.auth import Viewer
from api.i18n import _N
from api.problems import ProblemException
from api.schemas.drift import ModelDrift
from api.services.drift import drift_since
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
        raise ProblemException(404, _N("No model card"), f"no model card at {card.name}")
    data: dict[str, Any] = json.loads(card.read_text())
    return data


@router.get(
    "/drift",
    summary="Drift of the unit's traffic over the last days",
    response_model=ModelDrift,
)
def get_drift(
    state: State,
    principal: Viewer,
    days: Annotated[int, Query(ge=1, le=366, description="window in days (30, 90, …)")] = 30,
) -> ModelDrift:
    """Per finished batch of the unit in the last ``days`` days (oldest first): the largest
    feature PSI and its field, the score PSI, the share of rows with unseen categories, the
    largest rise of a missing share, and the warnings the scoring policy's thresholds raised
    (``drift`` in the batch's run record)."""
    with state.read_sessions() as session:
        return drift_since(session, principal.unit_id, days)
