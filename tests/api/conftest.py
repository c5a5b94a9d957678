"""Fixtures of the API tests: a database per backend and a real server process on it.

Every test that takes ``server`` runs twice, against SQLite and against PostgreSQL
(127.0.0.1:5432, a fresh database per test session, dropped afterwards).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
STARTUP_TIMEOUT_S = 600  # building the scorer is slow on a loaded 2-core machine


@pytest.fixture(scope="session")
def scratch() -> Iterator[Path]:
    """A private scratch folder for the session.

    Not pytest's tmp_path: its numbered folders are pruned by any other pytest session on the
    machine, which can pull the data directory from under a running server.
    """
    folder = Path(tempfile.mkdtemp(prefix="lookout-api-tests-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def fresh_database(kind: str, scratch: Path) -> Iterator[str]:
    """A new empty database: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(dir=scratch, prefix="sqlite-"))
        yield f"sqlite:///{folder / 'lookout.db'}"
        return
    name = f"lookout_test_{secrets.token_hex(5)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, scratch: Path) -> Iterator[str]:
    """A fresh, empty database of each backend, for the session's server."""
    with fresh_database(request.param, scratch) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def own_database_url(request: pytest.FixtureRequest, scratch: Path) -> Iterator[str]:
    """A fresh database of each backend for one test (no server on it)."""
    with fresh_database(request.param, scratch) as url:
        yield url


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """A ``lookout serve`` process and the environment it was started with."""

    url: str
    env: dict[str, str]
    data_dir: Path
    database_url: str
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    _keys: dict[tuple[str, str], str] = field(default_factory=dict)

    def key(self, unit: str, role: str = "analyst", *, fresh: bool = False) -> str:
        """A key created with the real CLI (`keys create`), cached per unit and role."""
        if fresh or (unit, role) not in self._keys:
            result = cli(self.env, ["keys", "create", "--unit", unit, "--role", role])
            assert result.exit_code == 0, result.output
            self._keys[(unit, role)] = result.stdout.strip().splitlines()[0]
        return self._keys[(unit, role)]

    def client(self, key: str | None = None, headers: dict[str, str] | None = None) -> httpx.Client:
        """An HTTP client for the server, authenticated with ``key`` if given."""
        merged = {"Authorization": f"Bearer {key}"} if key else {}
        merged.update(headers or {})
        return httpx.Client(base_url=self.url, headers=merged, timeout=120)

    def log_tail(self, lines: int = 60) -> str:
        """The end of the server log (for assertion messages)."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def cli(env: dict[str, str], args: list[str]) -> object:
    """Run ``api.commands`` in-process with ``env`` (as `lookout ...` would)."""
    from api.commands import app

    return CliRunner().invoke(app, args, env=env)


def server_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The LOOKOUT_* environment of a test server."""
    return {
        "LOOKOUT_DATA_DIR": str(data_dir),
        "LOOKOUT_DATABASE_URL": database_url,
        "LOOKOUT_UNIT_ID": "UZ-TAS-PCU",
        "LOOKOUT_INLINE_ROW_LIMIT": "40",
        "LOOKOUT_INLINE_MAX_BYTES": "6000",
        "LOOKOUT_MAX_UPLOAD_BYTES": "400000",
        "LOOKOUT_WORKERS": "2",
        **extra,
    }


def start_server(env: dict[str, str], data_dir: Path, database_url: str) -> LiveServer:
    """Start ``python -m api.commands serve`` on a free loopback port and wait until ready."""
    port = free_port()
    log = data_dir / "server.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    proc_env = {**os.environ, **env, "PYTHONPATH": str(REPO)}
    proc_env.pop("LOOKOUT_ENVIRONMENT", None)
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "api.commands",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=data_dir,
            env=proc_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", env, data_dir, database_url, log, proc)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_server(server)
    raise RuntimeError(f"server not ready after {STARTUP_TIMEOUT_S}s:\n{server.log_tail()}")


def stop_server(server: LiveServer) -> None:
    """Stop the server process (SIGTERM, then SIGKILL)."""
    if server.proc is None or server.proc.poll() is not None:
        return
    server.proc.terminate()
    try:
        server.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def server(database_url: str, scratch: Path) -> Iterator[LiveServer]:
    """A real Lookout API server on a loopback port, on each database backend."""
    data_dir = Path(tempfile.mkdtemp(dir=scratch, prefix="server-"))
    live = start_server(server_env(data_dir, database_url), data_dir, database_url)
    try:
        yield live
    finally:
        stop_server(live)
        # Keep the server log past the scratch folder's removal, for failed runs.
        kept = Path(tempfile.gettempdir()) / f"lookout-api-server-{database_url.split(':')[0]}.log"
        shutil.copyfile(live.log, kept)


@pytest.fixture
def unit() -> str:
    """A unit id of its own for one test, so tests never see each other's data."""
    return f"T{secrets.token_hex(3).upper()}-PCU"
