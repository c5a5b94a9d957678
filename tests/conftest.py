"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public reference and test data beside the checkout (read-only)."""
    if not SHARED_DATA.is_dir():
        raise RuntimeError(f"expected the shared data folder at {SHARED_DATA}")
    return SHARED_DATA
