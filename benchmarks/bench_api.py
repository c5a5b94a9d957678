"""HTTP API: inline scoring latency of a 200-container batch, and GET …/flagged throughput.

    .venv/bin/python -m benchmarks.bench_api                       # SQLite, defaults
    .venv/bin/python -m benchmarks.bench_api --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
    .venv/bin/python -m benchmarks.bench_api --uploads 50 --seconds 20 --concurrency 8

Starts a real ``lookout serve`` process on a free loopback port with a fresh data dir,
creates a key with the real CLI, uploads a generated 200-container manifest ``--uploads``
times one after the other (each is scored inline: engine run + indexing + history append),
then runs the read load from a *second process* (``load`` sub-command): ``--concurrency``
threads, each with its own keep-alive connection, GET ``/v1/batches/{id}/flagged?limit=50``
for ``--seconds``. Prints p50/p99 latencies and requests per second.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path, database_url: str | None, port: int) -> subprocess.Popen[bytes]:
    """``python -m api.commands serve`` with a private data dir; waits for /readyz."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "LOOKOUT_DATA_DIR": str(data_dir)}
    if database_url:
        env["LOOKOUT_DATABASE_URL"] = database_url
    log = (data_dir / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.commands", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=data_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited; see {data_dir / 'server.log'}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("server not ready after 600 s")


def create_key(data_dir: Path, database_url: str | None) -> str:
    """A fresh analyst key, created by the real CLI."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "LOOKOUT_DATA_DIR": str(data_dir)}
    if database_url:
        env["LOOKOUT_DATABASE_URL"] = database_url
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.commands",
            "keys",
            "create",
            "--unit",
            "BENCH-PCU",
            "--role",
            "analyst",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[0]


def manifest(folder: Path, rows: int) -> Path:
    """A generated daily manifest of ``rows`` containers (engine.generate, fixed seed)."""
    from engine.generate import generate

    return generate(days=1, rows_per_day=rows, seed=7, out_dir=folder).manifests[0]


def upload_latency(url: str, key: str, source: Path, uploads: int) -> dict[str, Any]:
    """Sequential inline uploads; latency of each POST /v1/batches until the 201."""
    payload = source.read_bytes()
    times: list[float] = []
    batch_id = ""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=300) as c:
        for _ in range(uploads):
            started = time.perf_counter()
            response = c.post(
                "/v1/batches", files={"file": (source.name, payload)}, data={"capacity": "5%"}
            )
            times.append(time.perf_counter() - started)
            if response.status_code != 201:
                raise SystemExit(f"upload answered {response.status_code}: {response.text}")
            batch_id = response.json()["id"]
            flagged = response.json()["counts"]["rows_flagged"]
    return {
        "uploads": uploads,
        "p50_ms": 1000 * percentile(times, 50),
        "p99_ms": 1000 * percentile(times, 99),
        "mean_ms": 1000 * statistics.fmean(times),
        "batch_id": batch_id,
        "flagged_rows": flagged,
    }


def read_load(
    url: str, key: str, batch_id: str, seconds: float, concurrency: int
) -> dict[str, Any]:
    """``concurrency`` threads GET the flagged list for ``seconds``; counts and latencies."""
    path = f"/v1/batches/{batch_id}/flagged"
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    stop = time.perf_counter() + seconds

    def worker(i: int) -> None:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            offset = 0
            while time.perf_counter() < stop:
                started = time.perf_counter()
                response = client.get(path, params={"limit": 50, "offset": offset % 20})
                latencies[i].append(time.perf_counter() - started)
                errors[i] += response.status_code != 200
                offset += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    flat = [x for per in latencies for x in per]
    return {
        "requests": len(flat),
        "errors": sum(errors),
        "seconds": elapsed,
        "rps": len(flat) / elapsed,
        "p50_ms": 1000 * percentile(flat, 50),
        "p99_ms": 1000 * percentile(flat, 99),
        "concurrency": concurrency,
    }


def main() -> None:
    """Parse arguments; ``load`` is the second-process reader, the default runs everything."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("mode", nargs="?", default="run", choices=["run", "load"])
    parser.add_argument("--database-url", default=None, help="default: SQLite in the data dir")
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--uploads", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--url", help="load mode: server URL")
    parser.add_argument("--key", help="load mode: API key")
    parser.add_argument("--batch", help="load mode: batch id")
    args = parser.parse_args()
    if args.mode == "load":
        print(json.dumps(read_load(args.url, args.key, args.batch, args.seconds, args.concurrency)))
        return

    with tempfile.TemporaryDirectory(prefix="lookout-bench-api-") as tmp:
        data_dir = Path(tmp)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        source = manifest(data_dir / "gen", args.rows)
        server = start_server(data_dir, args.database_url, port)
        try:
            key = create_key(data_dir, args.database_url)
            upload = upload_latency(url, key, source, args.uploads)
            reader = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.bench_api",
                    "load",
                    "--url",
                    url,
                    "--key",
                    key,
                    "--batch",
                    upload["batch_id"],
                    "--seconds",
                    str(args.seconds),
                    "--concurrency",
                    str(args.concurrency),
                ],
                env={**os.environ, "PYTHONPATH": str(REPO)},
                capture_output=True,
                text=True,
                check=True,
                cwd=REPO,
            )
            load = json.loads(reader.stdout)
        finally:
            server.terminate()
            server.wait(timeout=30)
    backend = "postgresql" if args.database_url else "sqlite"
    print(f"backend: {backend}, cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    print(
        f"inline scoring of a {args.rows}-container batch, {upload['uploads']} uploads: "
        f"p50 {upload['p50_ms']:.0f} ms, p99 {upload['p99_ms']:.0f} ms, "
        f"mean {upload['mean_ms']:.0f} ms ({upload['flagged_rows']} flagged rows per batch)"
    )
    print(
        f"GET flagged (limit 50) from a second process, {load['concurrency']} connections, "
        f"{load['seconds']:.0f} s: {load['rps']:.0f} req/s, p50 {load['p50_ms']:.1f} ms, "
        f"p99 {load['p99_ms']:.1f} ms, {load['errors']} errors of {load['requests']}"
    )


if __name__ == "__main__":
    main()
