"""Fuzzing ingest: whatever arrives, no internal error, every record accounted for.

Bounded here (well under a minute); ``python -m benchmarks.fuzz_ingest --minutes 10`` runs
the same generator for longer.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings

from tests.fuzz_inputs import check_ingest, fuzz_files


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sample=fuzz_files())
def test_ingest_never_fails_internally(tmp_path: Path, sample: tuple[str, bytes]) -> None:
    _, data = sample
    path = tmp_path / "fuzz.in"
    path.write_bytes(data)
    check_ingest(path)
