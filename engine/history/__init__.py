"""Entity history: an append-only store of past manifests and outcomes, and point-in-time
features (first seen, shipment counts, counterparties, commodity and route novelty, past
inspection results) computed strictly from rows filed before each row."""

from engine.history._features import (
    FIRST_SEEN_LOOKBACK_DAYS,
    HISTORY_FEATURES,
    POSITIVE_RESULTS,
    Smoothing,
)
from engine.history._stage import HISTORY_COLUMNS, HistoryFeatures, point_in_time_features
from engine.history._store import HistoryError, HistoryStore, describe_batch, history_schema

__all__ = [
    "FIRST_SEEN_LOOKBACK_DAYS",
    "HISTORY_COLUMNS",
    "HISTORY_FEATURES",
    "POSITIVE_RESULTS",
    "HistoryError",
    "HistoryFeatures",
    "HistoryStore",
    "Smoothing",
    "describe_batch",
    "history_schema",
    "point_in_time_features",
]
