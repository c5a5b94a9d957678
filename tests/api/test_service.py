"""The app factory, settings, store and restart behaviour, in process (no server)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr, ValidationError
from sqlalchemy import inspect, select

from api.app import create_app
from api.db import make_engine, make_sessionmaker, migrate, utcnow
from api.settings import Settings
from api.tables import Batch
from tests.api.conftest import LiveServer

pytestmark = pytest.mark.xdist_group("api")


def test_settings_refuse_default_secret_outside_development(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).environment == "development"
    with pytest.raises(ValidationError, match="LOOKOUT_SECRET_KEY"):
        Settings(data_dir=tmp_path, environment="production")
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(data_dir=tmp_path, environment="production", secret_key=SecretStr("short"))
    good = Settings(data_dir=tmp_path, environment="production", secret_key=SecretStr("x" * 40))
    assert good.sqlalchemy_url == f"sqlite:///{tmp_path.resolve() / 'lookout.db'}"


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOOKOUT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LOOKOUT_INLINE_ROW_LIMIT", "7")
    monkeypatch.setenv("LOOKOUT_DATABASE_URL", "postgresql+psycopg://u@h/db")
    settings = Settings()
    assert settings.inline_row_limit == 7
    assert settings.sqlalchemy_url == "postgresql+psycopg://u@h/db"


def test_migrations_are_idempotent_and_reach_every_table(own_database_url: str) -> None:
    migrate(own_database_url)
    migrate(own_database_url)
    engine = make_engine(own_database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {
        "api_keys",
        "batches",
        "scored_containers",
        "rule_hits",
        "inspections",
        "rule_packs",
        "audit_events",
        "alembic_version",
    } <= tables


def test_interrupted_batches_fail_on_restart(own_database_url: str, tmp_path: Path) -> None:
    migrate(own_database_url)
    engine = make_engine(own_database_url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        for batch_id, status in (
            ("b-running", "running"),
            ("b-queued", "queued"),
            ("b-done", "done"),
        ):
            session.add(
                Batch(
                    id=batch_id,
                    unit_id="U",
                    status=status,
                    mode="background",
                    source_name="m.csv",
                    source_bytes=1,
                    seed=0,
                    progress_rows=0,
                    created_by="k",
                    created_at=utcnow(),
                )
            )
        session.commit()
    create_app(Settings(data_dir=tmp_path, database_url=own_database_url, warm_scorer=False))
    with sessions() as session:
        states = {b.id: (b.status, b.error) for b in session.scalars(select(Batch))}
    engine.dispose()
    assert states["b-done"] == ("done", None)
    for batch_id in ("b-running", "b-queued"):
        status, error = states[batch_id]
        assert status == "failed"
        assert error is not None and "upload the manifest again" in error["hint"]


def _call(app: FastAPI, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def test_openapi_documents_problems_everywhere(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, warm_scorer=False))
    schema = _call(app, "GET", "/openapi.json").json()
    assert "Problem" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    upload = schema["paths"]["/v1/batches"]["post"]
    assert set(upload["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            for code, response in operation["responses"].items():
                if code[0] in "45" or code == "default":
                    assert list(response["content"]) == ["application/problem+json"], (
                        path,
                        method,
                        code,
                    )
    assert "401" in schema["paths"]["/v1/batches"]["get"]["responses"]
    assert "404" in schema["paths"]["/v1/batches/{batch_id}"]["get"]["responses"]


def test_metrics_count_requests_batches_and_rows(server: LiveServer, unit: str) -> None:
    from tests.api._manifests import rows

    with server.client(server.key(unit)) as client:
        client.post("/v1/batches", json={"rows": rows(4, tag="M")})
        client.get("/v1/batches/does-not-exist")
        text = client.get("/metrics").text
    lines = text.splitlines()

    def value(prefix: str) -> float:
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))

    assert value('lookout_http_requests_total{method="POST",route="/v1/batches",status="201"}') >= 1
    assert (
        value(
            'lookout_http_requests_total{method="GET",route="/v1/batches/{batch_id}",status="404"}'
        )
        >= 1
    )
    assert value('lookout_batches_scored_total{mode="inline",outcome="done"}') >= 1
    assert value('lookout_rows_total{fate="scored"}') >= 4
    assert value('lookout_http_errors_total{status="404"}') >= 1
    assert value("lookout_http_request_duration_seconds_count") >= 3
    json.dumps(text)  # plain text exposition


def test_serve_refuses_default_secret_in_production(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.api.conftest import REPO

    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "LOOKOUT_ENVIRONMENT": "production",
        "LOOKOUT_DATA_DIR": str(tmp_path),
    }
    env.pop("LOOKOUT_SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "-m", "api.commands", "serve", "--port", "1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "LOOKOUT_SECRET_KEY" in result.stderr
    assert not (tmp_path / "lookout.db").exists()
