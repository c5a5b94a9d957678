"""Validating an envelope's payload against the model of its kind."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from api.federation.errors import RejectedEnvelope

M = TypeVar("M", bound=BaseModel)


def payload_of(model: type[M], payload: Any) -> M:
    """``payload`` as ``model``; a ``malformed`` rejection naming the first bad field."""
    try:
        return model.model_validate(payload)
    except ValidationError as err:
        first = err.errors()[0]
        raise RejectedEnvelope(
            "malformed",
            f"bad payload: {first['msg']} at {'.'.join(str(p) for p in first['loc'])}",
            status=422,
        ) from err
