"""The run record: what went in, what came out, with which rules, model and policy."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any


def lookout_version() -> str:
    try:
        return metadata.version("lookout")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+source"


class Timings:
    """Wall time per pipeline stage, summed over chunks."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def merge(self, other: Timings) -> None:
        """Add ``other``'s seconds stage by stage."""
        for name, seconds in other.seconds.items():
            self.add(name, seconds)


@dataclass
class RunRecord:
    """Everything needed to reproduce and audit one scoring run (written as run.json)."""

    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    finished_at: str | None = None
    lookout_version: str = field(default_factory=lookout_version)
    status: str = "running"
    input: dict[str, Any] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    stages: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    # the day's traffic against the model's training window (models/drift.py)
    drift: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_in(self) -> int:
        return int(self.counts.get("rows_in", 0))

    @property
    def rows_scored(self) -> int:
        return int(self.counts.get("rows_scored", 0))

    @property
    def rows_quarantined(self) -> int:
        return int(self.counts.get("rows_quarantined", 0))

    @property
    def selected(self) -> int:
        return int(self.counts.get("selected", 0))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> RunRecord:
        return cls(**json.loads(path.read_text(encoding="utf-8")))
