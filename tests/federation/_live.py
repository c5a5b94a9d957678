"""Helpers of the live tests: real Lookout server processes, the real CLIs, a holding proxy."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class CliResult:
    """What a command printed and its exit code."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(args: list[str], env: dict[str, str]) -> CliResult:
    """Run the federation CLI in-process, as `lookout unit|queries ARGS` would run it.

    In-process because starting Python with the whole engine imported costs seconds per
    command; the servers, which matter, are real processes.
    """
    from api.federation.cli import app

    result = CliRunner().invoke(app, args, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return CliResult(result.exit_code, result.stdout, result.stderr)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60.0) -> T:
    """Poll ``probe`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            result = probe()
        except httpx.HTTPError as err:
            last = err
        else:
            if result:
                return result
            last = result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


@dataclass
class LiveUnit:
    """One unit: its folder, database, port, key, and (when running) its server process."""

    unit_id: str
    root: Path
    port: int
    extra_env: dict[str, str] = field(default_factory=dict)
    key: str = ""
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def unit_dir(self) -> Path:
        return self.root / "unit"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'lookout.db'}"

    @property
    def env(self) -> dict[str, str]:
        return {
            "LOOKOUT_DATA_DIR": str(self.root),
            "LOOKOUT_DATABASE_URL": self.db_url,
            "LOOKOUT_UNIT_ID": self.unit_id,
            "LOOKOUT_WARM_SCORER": "false",
            "LOOKOUT_FED_RETRY_BASE_SECONDS": "0.2",
            "LOOKOUT_FED_RETRY_MAX_SECONDS": "1",
            "LOOKOUT_FED_POLL_SECONDS": "0.2",
            "LOOKOUT_FED_REQUEST_TIMEOUT_SECONDS": "30",
            **self.extra_env,
        }

    @property
    def cli_env(self) -> dict[str, str]:
        return {**self.env, "LOOKOUT_URL": self.url, "LOOKOUT_API_KEY": self.key}

    def create_key(self, role: str = "analyst") -> str:
        """An API key made with the real `keys create` command."""
        from api.commands import app

        result = CliRunner().invoke(
            app, ["keys", "create", "--unit", self.unit_id, "--role", role], env=self.env
        )
        assert result.exit_code == 0, result.output
        return result.stdout.strip().splitlines()[0]

    def start(self) -> None:
        """Start ``lookout serve`` on this unit's port and wait until it answers."""
        log = (self.root / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "api.commands",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            cwd=self.root,
            env={**os.environ, "PYTHONPATH": str(REPO), **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.unit_id} exited:\n{self.log_tail()}")
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200

        wait_for(f"{self.unit_id} to start", ready, timeout=180)
        # Make sure it is this unit answering, not another process that got the port first.
        with self.client() as client:
            response = client.get("/v1/federation/unit")
        assert response.status_code == 200, f"{response.text}\n{self.log_tail()}"
        assert response.json()["unit"]["unit_id"] == self.unit_id

    def kill(self) -> None:
        """SIGKILL the server: no shutdown, no cleanup."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=20)

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM), killing it if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 40) -> str:
        path = self.root / "server.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {self.key}"}
        )

    def sql(self, query: str, **params: Any) -> list[Any]:
        """Rows of a read-only SQL query on the unit's database (as an auditor would read it)."""
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(query), params))
        finally:
            engine.dispose()


def introduce(
    units: dict[str, LiveUnit],
    root: Path,
    *,
    name: Callable[[str], str] = lambda unit_id: f"{unit_id} Port Control Unit",
) -> None:
    """``unit init`` and ``unit show`` on every unit, then ``unit trust`` of every other one's
    entry: the set-up docs/federation.md shows, with the real commands."""
    entries: dict[str, Path] = {}
    for unit in units.values():
        unit.root.mkdir(parents=True, exist_ok=True)
        init = ["unit", "init", "--unit-id", unit.unit_id, "--country", unit.unit_id[:2]]
        done = run_cli([*init, "--name", name(unit.unit_id), "--base-url", unit.url], unit.env)
        assert done.returncode == 0, done.stderr
        shown = run_cli(["unit", "show"], unit.env)
        assert shown.returncode == 0, shown.stderr
        entries[unit.unit_id] = root / f"{unit.unit_id}.yaml"
        entries[unit.unit_id].write_text(shown.stdout)
    for unit in units.values():
        for other in units.values():
            if other is not unit:
                trusted = run_cli(["unit", "trust", str(entries[other.unit_id])], unit.env)
                assert trusted.returncode == 0, trusted.stderr


class HoldingProxy:
    """A loopback TCP proxy that, while ``hold`` is set, swallows the upstream's responses.

    It lets a test make the receiver process a message while the sender never sees the
    receipt — the moment to kill the sender.
    """

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.hold = threading.Event()
        self.swallowed = threading.Event()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            client.close()
            return
        threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
        self._pump(upstream, client, True)

    def _pump(self, source: socket.socket, sink: socket.socket, response: bool) -> None:
        try:
            while data := source.recv(65536):
                if response and self.hold.is_set():
                    self.swallowed.set()
                    continue
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed = True
        self.server.close()
