"""The only place the API touches the scoring engine (so contract changes land in one file)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.problems import ProblemException
from api.settings import Settings


@dataclass(frozen=True)
class RunOutcome:
    """What the API keeps of one engine run."""

    record: dict[str, Any]
    rows_in: int
    rows_scored: int
    rows_quarantined: int
    selected: int


def parse_capacity(text: str | None) -> Any:
    """``engine.policy.Capacity`` from '50' or '2%' (422 problem if malformed)."""
    if text is None or not text.strip():
        return None
    from engine.errors import LookoutError
    from engine.policy import Capacity

    try:
        return Capacity.parse(text.strip())
    except (LookoutError, ValueError) as err:
        raise ProblemException(
            422,
            "Invalid capacity",
            f"capacity {text!r} is not a count like '50' or a share like '2%': {err}",
        ) from err


def spec_names() -> list[str]:
    """Names of the dataset specs shipped with the engine."""
    from engine.spec import shipped_specs

    return sorted(shipped_specs())


def resolve_spec(name: str | None) -> Any:
    """The named shipped ``DatasetSpec``, None for auto-mapping, 422 if unknown."""
    if name is None or not name.strip():
        return None
    from engine.spec import load_spec, shipped_specs

    specs = shipped_specs()
    if name not in specs:
        known = ", ".join(sorted(specs)) or "none"
        raise ProblemException(
            422, "Unknown dataset spec", f"no shipped dataset spec named {name!r}; known: {known}"
        )
    return load_spec(specs[name])


class ScorerCache:
    """Built scorers keyed by rule-pack folder; building loads rules and model once."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self._lock = threading.Lock()
        self._scorers: dict[Path | None, Any] = {}

    def get(self, rules_dir: Path | None = None) -> Any:
        """The scorer for ``rules_dir`` (None: the configured or shipped pack)."""
        key = rules_dir or self._settings.rules_dir
        with self._lock:
            if key not in self._scorers:
                from api.wiring import build_scorer

                s = self._settings
                self._scorers[key] = build_scorer(
                    rules_dir=key,
                    model_dir=s.model_dir,
                    policy_path=s.policy_path,
                    history_dir=s.history_dir,
                    watchlists=tuple(s.watchlists),
                )
            return self._scorers[key]

    def clear(self) -> None:
        """Forget every scorer (e.g. after new inspection history arrives)."""
        with self._lock:
            self._scorers.clear()


def run(
    source: Path,
    *,
    scorer: Any,
    out_dir: Path,
    spec: Any,
    capacity: Any,
    seed: int,
    progress: Callable[[str, int], None] | None,
) -> RunOutcome:
    """Score ``source`` into ``out_dir`` (engine errors propagate as ``LookoutError``)."""
    from engine.pipeline import run_batch

    record = run_batch(
        source,
        scorer=scorer,
        out_dir=out_dir,
        spec=spec,
        capacity=capacity,
        seed=seed,
        progress=progress,
    )
    data = record.to_dict()
    return RunOutcome(
        record=data,
        rows_in=int(_count(record, data, "rows_in")),
        rows_scored=int(_count(record, data, "rows_scored")),
        rows_quarantined=int(_count(record, data, "rows_quarantined")),
        selected=int(_count(record, data, "selected")),
    )


def _count(record: Any, data: dict[str, Any], name: str) -> Any:
    if hasattr(record, name):
        return getattr(record, name)
    if name in data:
        return data[name]
    return data.get("counts", {})[name]
