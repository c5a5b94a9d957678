"""Long fuzz run of ingest: ``python -m benchmarks.fuzz_ingest --minutes 10 [--api]``.

The generator and the invariants are those of the bounded test (``tests/fuzz_inputs.py``):
random bytes and shipped samples (CSV, TSV, NDJSON, DCSA JSON, CUSCAR) mutated with stray
quotes, CRs, NULs, other encodings, truncation and huge fields. Each round runs a fresh
hypothesis seed; the first failure stops the run and hypothesis prints the shrunk input.
With ``--api`` it also starts a real ``lookout serve`` (SQLite, 60 MB uploads) and sends a
50 MB single-line file, then fuzzed uploads, checking each as ``tests/api`` does.
Prints examples run, files read / refused, records read / kept / quarantined, and the load.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings

from tests.fuzz_inputs import check_ingest, fuzz_files

ROUND = 200


class _TimeUp(Exception):
    """The time budget of the API part is spent."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--api", action="store_true", help="also fuzz POST /v1/batches")
    args = parser.parse_args()
    deadline = time.monotonic() + args.minutes * 60
    tally = {"examples": 0, "read": 0, "refused": 0, "records": 0, "kept": 0, "quarantined": 0}
    work = Path(tempfile.mkdtemp(prefix="lookout-fuzz-"))
    started = time.monotonic()
    rounds = 0
    while time.monotonic() < deadline:

        @seed(rounds)
        @settings(
            max_examples=ROUND,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(sample=fuzz_files())
        def one(sample: tuple[str, bytes]) -> None:
            path = work / "fuzz.in"
            path.write_bytes(sample[1])
            outcome = check_ingest(path)
            tally["examples"] += 1
            if isinstance(outcome, str):
                tally["refused"] += 1
            else:
                tally["read"] += 1
                tally["records"] += outcome[0]
                tally["kept"] += outcome[1]
                tally["quarantined"] += outcome[2]

        one()
        rounds += 1
    elapsed = time.monotonic() - started
    print(f"ingest: {tally['examples']:,} files in {elapsed:.0f} s ({rounds} rounds)")
    print(
        f"  read {tally['read']:,}, refused with a located error {tally['refused']:,}; "
        f"records {tally['records']:,} = kept {tally['kept']:,} + quarantined "
        f"{tally['quarantined']:,}"
    )
    if args.api:
        _api(work, max(60.0, deadline - time.monotonic()))
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def _api(work: Path, seconds: float) -> None:
    from tests.api.conftest import server_env, start_server, stop_server
    from tests.api.test_upload_fuzz import _settled, check_upload

    url = f"sqlite:///{work / 'lookout.db'}"
    env = server_env(work / "server", url, LOOKOUT_MAX_UPLOAD_BYTES=str(60 << 20))
    server = start_server(env, work / "server", url)
    try:
        with server.client(server.key("FUZZ-PCU")) as client:
            t0 = time.perf_counter()
            one = client.post("/v1/batches", files={"file": ("one-line.csv", b"x" * (50 << 20))})
            body = one.json()
            error = body if one.status_code == 422 else _settled(client, body["id"])["error"]
            print(
                f"api: 50 MB single line → HTTP {one.status_code}, then: {error['detail']} "
                f"at {error['location']} ({time.perf_counter() - t0:.1f} s)"
            )
            count, end = 0, time.monotonic() + seconds

            @settings(
                max_examples=10**6,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(sample=fuzz_files(max_bytes=390_000))
            def upload(sample: tuple[str, bytes]) -> None:
                nonlocal count
                if time.monotonic() > end:
                    return
                check_upload(client, f"fuzz-{sample[0]}.in", sample[1])
                count += 1

            upload()
            print(
                f"api: {count:,} fuzzed uploads, no 500, server up: "
                f"{client.get('/healthz').status_code == 200}"
            )
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
