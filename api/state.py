"""What one running app holds: settings, store, metrics, scorers, worker pool.

Routes receive it as ``State``; other resources hang their own services here too (e.g.
``container_sections`` lets the urgent-query module add its section to container look-ups).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from api.jobs import JobRunner
from api.metrics import Metrics
from api.services._engine import ScorerCache
from api.settings import Settings
from api.tables import RulePack

if TYPE_CHECKING:
    from engine.scorer import Scorer

ContainerSection = Callable[[Session, str, str], list[dict[str, Any]]]
"""``(session, unit_id, container_number) -> items`` shown in ``GET /v1/containers/{n}``."""


@dataclass
class AppState:
    """The shared objects of one app instance."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    metrics: Metrics
    scorers: ScorerCache
    jobs: JobRunner
    container_sections: dict[str, ContainerSection] = field(default_factory=dict)
    scorer_ready: bool = False
    scorer_error: str | None = None

    def history_dir(self, unit_id: str) -> Path | None:
        """The unit's history store folder, or None when history is switched off."""
        if not self.settings.history:
            return None
        root = self.settings.history_dir or self.settings.data_dir / "history"
        return root / unit_id

    def scorer(self, unit_id: str) -> Scorer:
        """The scorer for a unit: its active rule pack and its own history."""
        return self.scorers.get(self.active_rules_dir(unit_id), self.history_dir(unit_id))

    def active_rules_dir(self, unit_id: str) -> Path | None:
        """The folder of the unit's active rule pack; None means the configured default."""
        with self.read_sessions() as session:
            content_hash = session.scalar(
                select(RulePack.content_hash)
                .where(RulePack.unit_id == unit_id, RulePack.active.is_(True))
                .limit(1)
            )
        return None if content_hash is None else self.settings.packs_dir / content_hash


def get_state(request: Request) -> AppState:
    """The running app's state."""
    state: AppState = request.app.state.lookout
    return state


State = Annotated[AppState, Depends(get_state)]
