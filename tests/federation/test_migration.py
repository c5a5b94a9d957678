"""Migration f001 creates exactly the tables the ORM declares (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import api.federation.casenotes.tables  # noqa: F401  (registers the case-note tables on Base)
import api.federation.tables  # noqa: F401  (registers the federation tables on Base)
from api.db import Base, make_engine, migrate


def _federation_diffs(diffs: list[Any]) -> list[Any]:
    def name(diff: Any) -> str:
        item = diff[0] if isinstance(diff, list) else diff
        for part in item[1:]:
            table = getattr(part, "table", None)
            if table is not None:
                return str(table.name)
            if hasattr(part, "name") and hasattr(part, "columns"):
                return str(part.name)
            if isinstance(part, str) and part.startswith("fed_"):
                return part
        return ""

    return [d for d in diffs if name(d).startswith("fed_")]


def test_migration_matches_the_tables(database_factory: Callable[[str], str]) -> None:
    url = database_factory("UZ-TAS-PCU")
    engine = make_engine(url)
    try:
        migrate(url, engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert _federation_diffs(diffs) == []
