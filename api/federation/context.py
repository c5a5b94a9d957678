"""What the federation code needs at run time, bundled: identity, partners, settings, store."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from api.db import utcnow
from api.federation.config import FederationSettings
from api.federation.directory import PartnerDirectory
from api.federation.keys import UnitIdentity, load_unit


@dataclass
class Federation:
    """One unit's federation runtime: who it is, whom it trusts, how it delivers."""

    identity: UnitIdentity
    directory: PartnerDirectory
    settings: FederationSettings
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime] = utcnow
    wake: threading.Event = field(default_factory=threading.Event)
    """Set after committing outbox rows so the worker sends them at once."""

    @property
    def unit_id(self) -> str:
        """This unit's id."""
        return self.identity.unit_id

    @classmethod
    def load(
        cls, settings: FederationSettings, data_dir: Path, sessions: sessionmaker[Session]
    ) -> Federation:
        """Read the unit folder and partner directory named by ``settings``."""
        identity = load_unit(settings.resolved_unit_dir(data_dir))
        directory = PartnerDirectory(
            settings.resolved_directory(data_dir), self_id=identity.unit_id
        )
        directory.all()  # fail now, with file:line:col, rather than on the first delivery
        return cls(identity=identity, directory=directory, settings=settings, sessions=sessions)
