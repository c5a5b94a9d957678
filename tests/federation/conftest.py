"""Fixtures of the federation tests: units with their own keys and databases.

``make_unit`` builds an in-process unit (identity, partner directory, migrated store) on the
backend of the ``backend`` fixture, which runs every test that uses it against SQLite and
PostgreSQL (127.0.0.1:5432: a fresh database per unit, dropped afterwards).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, text

from api.db import make_engine, make_sessionmaker, migrate
from api.federation import Federation, FederationSettings, PartnerDirectory, inbox, init_unit
from api.federation.directory import Partner
from api.federation.errors import DeliveryError, RejectedEnvelope

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
UNIT_IDS = ("UZ-TAS-PCU", "KZ-ALA-PCU", "PK-KHI-PCU")
RESET_TABLES = (
    "fed_casenote_backtests",
    "fed_casenote_recipients",
    "fed_casenotes",
    "fed_seen_signatures",
    "fed_inbox",
    "fed_outbox",
    "fed_messages",
    "fed_recipients",
    "fed_subjects",
    "fed_queries",
    "audit_events",
)


class Clock:
    """A settable clock, so deadlines and timestamp windows are tested without sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class Units:
    """In-process units sharing one clock, delivering to each other without HTTP."""

    feds: dict[str, Federation]
    clock: Clock

    def transport(self, partner: Partner, envelope: dict[str, Any]) -> Any:
        """Deliver to the in-process unit (as POST /v1/federation/inbox would)."""
        target = self.feds.get(partner.unit_id)
        if target is None or getattr(target, "down", False):
            raise DeliveryError(f"{partner.unit_id} unreachable")
        try:
            return inbox.handle(target, envelope)
        except RejectedEnvelope as err:
            raise DeliveryError(f"{partner.unit_id} rejected: {err.reason}") from err


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend of one test run."""
    return str(request.param)


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[dict[str, str]]:
    """Three migrated PostgreSQL databases for the session (creating one takes seconds)."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    urls: dict[str, str] = {}
    try:
        for unit_id in UNIT_IDS:
            name = f"lookout_fed_{secrets.token_hex(5)}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            urls[unit_id] = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
            engine = make_engine(urls[unit_id])
            migrate(urls[unit_id], engine)
            engine.dispose()
        yield urls
    finally:
        with admin.connect() as conn:
            for url in urls.values():
                conn.execute(
                    text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
                )
        admin.dispose()


@pytest.fixture
def database_factory(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], str]]:
    """The database of a unit on the current backend, empty at the start of each test."""
    if backend == "sqlite":
        yield lambda unit_id: f"sqlite:///{tmp_path / unit_id / 'lookout.db'}"
        return
    urls: dict[str, str] = request.getfixturevalue("pg_databases")
    yield urls.__getitem__
    for url in urls.values():
        engine = create_engine(url)
        with engine.begin() as conn:
            # TRUNCATE, unlike DELETE, is not refused by the audit log's append-only trigger;
            # only tests reset the log this way.
            conn.execute(text(f"TRUNCATE {', '.join(RESET_TABLES)} RESTART IDENTITY CASCADE"))
        engine.dispose()


def write_directory(path: Path, entries: list[dict[str, str]]) -> None:
    """Write a partner directory YAML."""
    path.write_text(yaml.safe_dump({"units": entries}, sort_keys=False))


@pytest.fixture
def units(database_factory: Callable[[str], str], tmp_path: Path) -> Iterator[Units]:
    """UZ-TAS-PCU, KZ-ALA-PCU and PK-KHI-PCU, each trusting the other two."""
    clock = Clock()
    ids = list(UNIT_IDS)
    identities = {}
    for unit_id in ids:
        identities[unit_id] = init_unit(
            tmp_path / unit_id / "unit",
            unit_id=unit_id,
            country=unit_id[:2],
            name=f"{unit_id} test unit",
            base_url=f"http://{unit_id.lower()}.test",
        )
    feds: dict[str, Federation] = {}
    engines = []
    for unit_id in ids:
        directory = tmp_path / unit_id / "unit" / "partners.yaml"
        write_directory(directory, [identities[o].directory_entry() for o in ids if o != unit_id])
        url = database_factory(unit_id)
        engine = make_engine(url)
        migrate(url, engine)
        engines.append(engine)
        settings = FederationSettings(
            deadline_urgent_seconds=3600,
            deadline_routine_seconds=7200,
            retry_base_seconds=1,
            retry_max_seconds=8,
            clock_skew_seconds=300,
            worker=False,
        )
        feds[unit_id] = Federation(
            identity=identities[unit_id],
            directory=PartnerDirectory(directory, self_id=unit_id),
            settings=settings,
            sessions=make_sessionmaker(engine),
            clock=clock,
        )
    yield Units(feds, clock)
    for engine in engines:
        engine.dispose()
