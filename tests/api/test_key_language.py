"""An API key's default language: migration 0002 on SQLite and PostgreSQL, and the key CLI."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from api.auth import authenticate
from api.db import Base, alembic_config, make_engine, make_sessionmaker, migrate
from tests.api.conftest import cli


def test_migration_adds_the_language_and_keeps_older_keys(own_database_url: str) -> None:
    url = own_database_url
    engine = make_engine(url)
    try:
        migrate(url, engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(context, Base.metadata)
        assert [d for d in diffs if "api_keys" in repr(d)] == []
        command.downgrade(alembic_config(url), "f002")
        assert "language" not in {c["name"] for c in inspect(engine).get_columns("api_keys")}
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO api_keys (key_id, secret_sha256, unit_id, role, name, created_at)"
                    " VALUES ('old', :h, 'UZ-TAS-PCU', 'viewer', '', :t)"
                ),
                {"h": "0" * 64, "t": "2026-11-28 09:00:00+00:00"},
            )
        command.upgrade(alembic_config(url), "head")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT key_id, language FROM api_keys")).all()
        assert [tuple(r) for r in rows] == [("old", None)]
    finally:
        engine.dispose()


def test_keys_create_stores_the_language_and_refuses_an_unknown_one(
    own_database_url: str, tmp_path: Path
) -> None:
    env = {"LOOKOUT_DATA_DIR": str(tmp_path), "LOOKOUT_DATABASE_URL": own_database_url}
    made = cli(env, ["keys", "create", "--unit", "UZ-TAS-PCU", "--language", "ru"])
    assert made.exit_code == 0, made.output  # type: ignore[attr-defined]
    plaintext = made.stdout.strip().splitlines()[0]  # type: ignore[attr-defined]
    plain = cli(env, ["keys", "create", "--unit", "UZ-TAS-PCU"])
    assert plain.exit_code == 0  # type: ignore[attr-defined]
    listed = cli(env, ["keys", "list"]).stdout  # type: ignore[attr-defined]
    langs = [line.split()[3] for line in listed.splitlines()[1:]]
    assert sorted(langs) == ["-", "ru"]
    refused = cli(env, ["keys", "create", "--unit", "UZ-TAS-PCU", "--language", "de"])
    assert refused.exit_code == 2  # type: ignore[attr-defined]
    assert "unknown language 'de'; expected one of en, ru" in refused.output  # type: ignore[attr-defined]
    engine = make_engine(own_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            principal = authenticate(session, plaintext)
        assert principal is not None and principal.language == "ru"
    finally:
        engine.dispose()
