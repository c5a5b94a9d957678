"""Readers, one per format, and their registry ``READERS``.

Each reader turns one file into raw chunks (:class:`RawChunk`: source columns as read, the
line or record number of each row, and the records it quarantined); ``engine.ingest`` picks
the reader by the detected format and maps the columns onto the canonical record. Formats:
delimited text (``delimited``), NDJSON (``ndjson``), Parquet and Arrow IPC (``columnar``),
DCSA eBL 3.0 JSON (``dcsa``), UN/EDIFACT CUSCAR (``cuscar``) and IATA Cargo-IMP
FWB/FHL (``cargoimp``), whose columns are named
exactly as canonical fields (plus a few documented extras). Nothing here imports
``engine.ingest``.
"""

from engine.formats._base import RawChunk, Reader
from engine.formats.cargoimp import looks_like_cargoimp, read_cargoimp_chunks
from engine.formats.columnar import read_ipc_chunks, read_parquet_chunks
from engine.formats.cuscar import read_cuscar_chunks
from engine.formats.dcsa import looks_like_dcsa, read_dcsa_chunks
from engine.formats.delimited import read_csv_chunks, sniff_csv
from engine.formats.ndjson import read_ndjson_chunks

READERS: dict[str, Reader] = {
    "csv": read_csv_chunks,
    "ndjson": read_ndjson_chunks,
    "parquet": read_parquet_chunks,
    "ipc": read_ipc_chunks,
    "dcsa": read_dcsa_chunks,
    "cuscar": read_cuscar_chunks,
    "cargoimp": read_cargoimp_chunks,
}
"""Format name → chunk reader."""

__all__ = [
    "READERS",
    "RawChunk",
    "Reader",
    "looks_like_cargoimp",
    "looks_like_dcsa",
    "read_cargoimp_chunks",
    "read_csv_chunks",
    "read_cuscar_chunks",
    "read_dcsa_chunks",
    "read_ipc_chunks",
    "read_ndjson_chunks",
    "read_parquet_chunks",
    "sniff_csv",
]
