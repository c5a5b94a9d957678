"""Fixtures of the web tests: an in-process site on SQLite, or on each backend."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.web._site import make_site

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A SQLite file (the embedded default)."""
    return f"sqlite:///{tmp_path / 'lookout.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of each backend (the JSON look-ups differ between them)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lookout.db'}"
        return
    name = f"lookout_web_{secrets.token_hex(5)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[dict[str, Any]]:
    """An app on a fresh store, with keys for two units and one scored batch of A."""
    yield from make_site(tmp_path, database_url)


@pytest.fixture
def any_site(tmp_path: Path, any_database_url: str) -> Iterator[dict[str, Any]]:
    """``site`` on SQLite and on PostgreSQL."""
    yield from make_site(tmp_path, any_database_url)
