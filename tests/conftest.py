"""Shared test fixtures."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURE_DATA = REPO / "tests" / "fixtures" / "data"


@pytest.fixture(scope="session")
def fixture_data() -> Path:
    """Public test inputs copied into the repository (see tests/fixtures/data/README.md)."""
    return FIXTURE_DATA


@pytest.fixture(scope="session")
def local_ray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A local 2-CPU Ray, started once per test process (the Ray tests share the
    ``xdist_group("ray")``, so they run in one process and pay the start-up once)."""
    import ray

    # Ray waits a hard-coded 30 s for its raylet; on a loaded 2-core machine the first start
    # can miss that, so try again on a clean slate (a real failure still fails the third time).
    for attempt in range(3):
        try:
            ray.init(
                num_cpus=2,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
                _temp_dir=str(tmp_path_factory.mktemp("ray")),
            )
            break
        except Exception as err:
            ray.shutdown()
            if attempt == 2 or "timed out during startup" not in str(err):
                raise
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        yield
    finally:
        ray.shutdown()
