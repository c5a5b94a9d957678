"""The only place the API touches the scoring engine (so contract changes land in one file).

The engine's types are imported for the type checker only: the API imports the engine's
modules when it first uses them (start-up stays light).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from api.i18n import _N
from api.problems import ProblemException
from api.settings import Settings

if TYPE_CHECKING:
    from engine.policy import Capacity
    from engine.scorer import Scorer
    from engine.spec import DatasetSpec


@dataclass(frozen=True)
class RunOutcome:
    """What the API keeps of one engine run."""

    record: dict[str, object]
    rows_in: int
    rows_scored: int
    rows_quarantined: int
    selected: int


def parse_capacity(text: str | None) -> Capacity | None:
    """``engine.policy.Capacity`` from '50' or '2%' (422 problem if malformed)."""
    if text is None or not text.strip():
        return None
    from engine.errors import LookoutError
    from engine.policy import Capacity

    try:
        return Capacity.parse(text.strip())
    except (LookoutError, ValueError) as err:
        from engine.i18n import N_

        why = err.message if isinstance(err, LookoutError) else str(err)
        raise ProblemException(
            422,
            _N("Invalid capacity"),
            N_(
                "capacity {text} is not a count like '50' or a share like '2%': {why}",
                text=repr(text),
                why=why,
            ),
        ) from err


def spec_names() -> list[str]:
    """Names of the dataset specs shipped with the engine."""
    from engine.spec import shipped_specs

    return sorted(shipped_specs())


def resolve_spec(name: str | None) -> DatasetSpec | None:
    """The named shipped ``DatasetSpec``, None for auto-mapping, 422 if unknown."""
    if name is None or not name.strip():
        return None
    from engine.spec import load_spec, shipped_specs

    specs = shipped_specs()
    if name not in specs:
        known = ", ".join(sorted(specs)) or "none"
        raise ProblemException(
            422,
            _N("Unknown dataset spec"),
            f"no shipped dataset spec named {name!r}; known: {known}",
        )
    return load_spec(specs[name])


class ScorerCache:
    """Built scorers keyed by rule-pack folder (reference data, rules and model are loaded
    once per pack); a unit's history is attached per batch, cheaply."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self._lock = threading.Lock()
        self._scorers: dict[Path | None, Scorer] = {}

    def get(self, rules_dir: Path | None = None, history_dir: Path | None = None) -> Scorer:
        """The scorer for ``rules_dir`` (None: the configured or shipped pack), reading the
        history store at ``history_dir`` (None: no history features)."""
        key = rules_dir or self._settings.rules_dir
        with self._lock:
            if key not in self._scorers:
                from api.wiring import build_scorer

                s = self._settings
                from engine.watchlist import WATCHLIST_CACHE

                scorer = build_scorer(
                    rules_dir=key,
                    model_dir=s.model_dir,
                    policy_path=s.policy_path,
                    # none configured: the shipped UN list (as the CLI and the README say)
                    watchlists=tuple(s.watchlists) or None,
                    # beside the units' history stores: screening results depend on the
                    # lists only, so every unit's batches share them
                    watchlist_cache=s.data_dir / WATCHLIST_CACHE if s.history else None,
                )
                self._scorers[key] = scorer
            base = self._scorers[key]
        if history_dir is None:
            return base
        return _with_history(base, history_dir)

    def clear(self) -> None:
        """Forget every scorer (e.g. after new inspection history arrives)."""
        with self._lock:
            self._scorers.clear()


def _with_history(base: Scorer, history_dir: Path) -> Scorer:
    """``base`` with the unit's history features first among its enrichers (as
    ``api.wiring.build_scorer`` orders them); compiled rules stay shared.

    The history stage is per batch: the engine leaves the batch out of its own history and
    appends it to the store once scored.
    """
    from engine.history import HistoryFeatures, HistoryStore

    history_dir.mkdir(parents=True, exist_ok=True)
    return base.with_enrichers_first(HistoryFeatures(HistoryStore(history_dir)))


def run(
    source: Path,
    *,
    scorer: Scorer,
    out_dir: Path,
    spec: DatasetSpec | None,
    capacity: Capacity | None,
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
    return RunOutcome(
        record=record.to_dict(),
        rows_in=record.rows_in,
        rows_scored=record.rows_scored,
        rows_quarantined=record.rows_quarantined,
        selected=record.selected,
    )


_HISTORY_LOCKS: dict[Path, threading.Lock] = {}
_HISTORY_GUARD = threading.Lock()


def _history_lock(root: Path) -> threading.Lock:
    # The store appends files and manifest lines; one writer per store at a time.
    with _HISTORY_GUARD:
        return _HISTORY_LOCKS.setdefault(root.resolve(), threading.Lock())


def history_guard(history_dir: Path | None) -> contextlib.AbstractContextManager[object]:
    """A lock serialising writers of one history store (a no-op without history)."""
    return contextlib.nullcontext() if history_dir is None else _history_lock(history_dir)


def record_outcome(
    history_dir: Path,
    *,
    container_number: str | None,
    bl_number: str | None,
    inspection_result: str,
    finding_type: str | None,
    recorded_at: datetime,
    awb_number: str | None = None,
    house_awb_number: str | None = None,
) -> int:
    """Add one inspection result (of a container on a B/L, or of an air waybill) to the
    unit's history store."""
    from engine.history import HistoryStore

    with _history_lock(history_dir):
        return HistoryStore(history_dir).record_inspection(
            container_number=container_number,
            bl_number=bl_number,
            awb_number=awb_number,
            house_awb_number=house_awb_number,
            inspection_result=inspection_result,
            finding_type=finding_type,
            recorded_at=recorded_at,
        )
