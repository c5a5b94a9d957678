"""What every reader yields, and the reader type the registry holds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from engine.spec import DatasetSpec


@dataclass
class RawChunk:
    """Source columns as read, before mapping to canonical fields."""

    frame: pl.DataFrame
    lines: np.ndarray  # line (text) or record (binary) number of each row, 1-based
    quarantine: pl.DataFrame


Reader = Callable[[Path, DatasetSpec, int], Iterator[RawChunk]]
