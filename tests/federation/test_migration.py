"""Migration f001 creates exactly the tables the ORM declares (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import api.federation.casenotes.tables
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


def test_f002_upgrades_a_store_holding_queries_and_downgrades(
    database_factory: Callable[[str], str],
) -> None:
    from alembic import command
    from sqlalchemy import inspect, text

    from api.db import alembic_config

    url = database_factory("KZ-ALA-PCU")
    engine = make_engine(url)
    try:
        migrate(url, engine)
        command.downgrade(alembic_config(url), "f001")
        tables = set(inspect(engine).get_table_names())
        assert "fed_casenotes" not in tables and "fed_queries" in tables
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO fed_queries (id, unit_id, box, origin_unit, priority, subject,"
                    " question, explanation, deadline_at, status, created_by, created_at,"
                    " updated_at) VALUES ('Q1', 'KZ-ALA-PCU', 'inbox', 'UZ-TAS-PCU', 'urgent',"
                    " '{}', 'q', '{}', :t, 'delivered', 'k', :t, :t)"
                ),
                {"t": "2026-11-28 09:00:00+00:00"},
            )
        command.upgrade(alembic_config(url), "head")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, addressed_to FROM fed_queries")).all()
        assert [tuple(r) for r in rows] == [("Q1", None)]
        assert {"fed_casenotes", "fed_casenote_recipients", "fed_casenote_backtests"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()
