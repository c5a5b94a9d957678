"""The history stage of the pipeline, and the same features over a training frame."""

from __future__ import annotations

import threading
from typing import Any

import polars as pl

from engine.errors import Location
from engine.history._features import (
    HISTORY_FEATURES,
    Smoothing,
    compute_features,
    entity_columns,
)
from engine.history._snapshot import Snapshot
from engine.history._store import (
    HistoryError,
    HistoryStore,
    conform,
    describe_batch,
    history_schema,
)
from engine.identity import BatchIdentity
from engine.parties import party_keys
from engine.schema import DERIVED

KEYS: tuple[str, ...] = ("shipper_key", "consignee_key")
HISTORY_COLUMNS: tuple[str, ...] = (*KEYS, *HISTORY_FEATURES)
"""Every column the history stage adds (the schema's _HISTORY fields)."""


class HistoryFeatures:
    """Pipeline stage adding point-in-time history features from a :class:`HistoryStore`.

    Each batch row sees only stored rows filed strictly before its own ``filed_at``. The
    batch itself is not history: append it to the store after scoring.

    A batch filed after every stored row (a day's feed) reads the store's snapshot of
    per-entity aggregates; any other batch (a backtest, a re-score) is computed from the
    stored rows. ``use_snapshot=False`` always takes the second way (same features).
    """

    name = "history"

    def __init__(
        self,
        store: HistoryStore,
        *,
        smoothing: Smoothing | None = None,
        low_memory: bool = False,
        use_snapshot: bool = True,
    ) -> None:
        self.store = store
        self.smoothing = smoothing or Smoothing()
        self.low_memory = low_memory
        self.use_snapshot = use_snapshot
        self._cached: tuple[str, Snapshot] | None = None
        self._lock = threading.Lock()
        self.batch: BatchIdentity | None = None

    def begin_batch(self, batch: BatchIdentity) -> str | None:
        """The batch about to be scored: if the store already holds it, it is not history.

        Returns a note for the run record when the store already holds the batch.
        """
        self.batch = batch
        stored = self.store.stored_batch(batch.ids)
        if stored is None:
            return None
        return (
            f"batch {batch.short()} is already in the history store "
            f"({describe_batch(stored, asked=batch.id)}): its own rows are left out of its "
            "history features and it is not appended again"
        )

    def end_batch(self, scored: pl.LazyFrame, batch: BatchIdentity) -> int:
        """Append the scored batch to the store; 0 when it is already there."""
        self.batch = None
        have = set(scored.collect_schema().names())
        names = [c for c in history_schema().names() if c in have]
        return self.store.append(scored.select(names), batch_id=batch.id, identity=batch)

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Return ``frame`` with every history column added (same rows, same order)."""
        _require_time(frame)
        keyed = self.store.assign_keys(conform(frame), persist=False)
        query = entity_columns(keyed.lazy()).collect()
        exclude = self.batch.ids if self.batch is not None else ()
        history = entity_columns(self.store.scan(exclude=exclude))
        # The snapshot holds every stored batch: not usable when one of them is left out.
        whole = not exclude or self.store.stored_batch(exclude) is None
        snapshot = self._snapshot() if self.use_snapshot and whole else None
        features = compute_features(
            query,
            history,
            smoothing=self.smoothing,
            low_memory=self.low_memory,
            snapshot=snapshot,
        )
        return _attach(frame, keyed.select(KEYS), features)

    def _snapshot(self) -> Snapshot:
        """The store's snapshot in memory, read once for all the chunks of a batch (also
        when two of them ask at once, in threads)."""
        with self._lock:
            state = self.store.snapshot_state()
            if self._cached is None or self._cached[0] != state:
                self._cached = (state, self.store.snapshot().in_memory())
            return self._cached[1]

    def __getstate__(self) -> dict[str, Any]:
        # Shipped to workers without the snapshot held in memory (nor the lock).
        state = {**self.__dict__, "_cached": None}
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def fingerprint(self) -> dict[str, Any]:
        """The store snapshot the features were computed from, and the smoothing prior."""
        return {
            **self.store.fingerprint(),
            "smoothing": {"rate": self.smoothing.rate, "strength": self.smoothing.strength},
        }


def point_in_time_features(
    frame: pl.DataFrame, *, smoothing: Smoothing | None = None
) -> pl.DataFrame:
    """History features of every row of ``frame`` against the earlier rows of ``frame``.

    For model training on a history export: the same columns and semantics as
    :class:`HistoryFeatures`, with the frame as its own history (exact party keys, no fuzzy
    resolution; rows at the same ``filed_at`` do not see each other).
    """
    _require_time(frame)
    rows = conform(frame)
    rows = rows.with_columns(
        party_keys(rows["shipper_name"]).alias("shipper_key"),
        party_keys(rows["consignee_name"]).alias("consignee_key"),
    )
    entities = entity_columns(rows.lazy()).collect()
    features = compute_features(entities, entities.lazy(), smoothing=smoothing or Smoothing())
    return _attach(frame, rows.select(KEYS), features)


def _require_time(frame: pl.DataFrame) -> None:
    if "filed_at" not in frame.columns:
        raise HistoryError(
            "history features need the filed_at column",
            location=Location(field="filed_at"),
            hint="map the filing timestamp to filed_at in the dataset spec",
        )


def _attach(frame: pl.DataFrame, keys: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
    added = pl.concat([keys, features], how="horizontal").select(
        pl.col(n).cast(DERIVED[n].dtype) for n in HISTORY_COLUMNS
    )
    return frame.drop([c for c in HISTORY_COLUMNS if c in frame.columns]).hstack(added)
