"""Readers for industry message formats: DCSA eBL 3.0 (JSON) and UN/EDIFACT CUSCAR.

Each reader turns one file into raw chunks whose columns are named exactly as canonical
fields (plus a few documented extras), so the default dataset spec maps them 1:1.
``engine.ingest`` routes the formats ``dcsa`` and ``cuscar`` here.
"""

from engine.formats.cuscar import read_cuscar_chunks
from engine.formats.dcsa import looks_like_dcsa, read_dcsa_chunks

__all__ = ["looks_like_dcsa", "read_cuscar_chunks", "read_dcsa_chunks"]
