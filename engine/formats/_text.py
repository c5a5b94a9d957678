"""Text files read block by block through the record scanner (CSV and NDJSON share this)."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from engine._canonical import QUARANTINE_SCHEMA
from engine._scan import scan_records

BLOCK_BYTES = 64 << 20


MAX_RECORD_BYTES = 1 << 20


RAW_SNIPPET = 300


def blocks(path: Path, encoding: str, cr_lines: bool = False) -> Iterator[bytes]:
    """Yield the file as UTF-8 byte blocks (re-encoding other encodings on the fly); with
    ``cr_lines``, lone-CR line ends become LF."""
    normal = codecs.lookup(encoding).name
    decoder = None if normal == "utf-8" else codecs.getincrementaldecoder(normal)(errors="replace")
    first = True
    with path.open("rb") as fh:
        while True:
            block = fh.read(BLOCK_BYTES)
            final = not block
            if decoder is not None:
                block = decoder.decode(block, final=final).encode("utf-8")
            if first and block.startswith(b"\xef\xbb\xbf"):
                block = block[3:]
            if cr_lines:
                block = block.replace(b"\r", b"\n")
            first = False
            if final:
                if block:
                    yield block
                return
            yield block


def records(
    path: Path, encoding: str, sep: str, quote: str | None, cr_lines: bool = False
) -> Iterator[tuple[np.ndarray, object, bool]]:
    """Yield (buffer, ScanResult, is_last) per block; an oversize record yields an
    ``OversizeRecord`` instead, and reading resumes after its line break."""
    carry = b""
    line = 1
    stream = blocks(path, encoding, cr_lines)
    pending = next(stream, None)
    while pending is not None:
        nxt = next(stream, None)
        data = carry + pending
        is_final = nxt is None
        buf = np.frombuffer(data, dtype=np.uint8)
        result = scan_records(buf, sep=sep, quote=quote, is_final=is_final, first_line=line)
        if result.consumed == 0 and not is_final and len(data) > MAX_RECORD_BYTES:
            # Longer than any manifest line can be (or a quote never closed): report it and
            # resynchronise at the next raw line break, without holding it all in memory.
            size, rest = skip_line(data, nxt, stream)
            yield buf[:0], OversizeRecord(line, size), False
            line += 1
            carry, pending = b"", rest
            continue
        yield buf, result, is_final
        line += result.lines_seen
        carry = data[result.consumed :]
        pending = nxt
        if is_final:
            return


@dataclass
class OversizeRecord:
    line: int
    size: int


def skip_line(data: bytes, nxt: bytes | None, blocks: Iterator[bytes]) -> tuple[int, bytes | None]:
    """Skip to just after the next line break; return (bytes skipped, what follows)."""
    cut = data.find(b"\n")
    if cut >= 0:
        rest = data[cut + 1 :]
        return cut + 1, (rest + nxt if nxt is not None else rest) or None
    skipped = len(data)
    current = nxt
    while current is not None:
        cut = current.find(b"\n")
        if cut >= 0:
            return skipped + cut + 1, current[cut + 1 :] or next(blocks, None)
        skipped += len(current)
        current = next(blocks, None)
    return skipped, None


def bad_record_quarantine(
    path: Path, buf: np.ndarray, result: object, bad: np.ndarray, reasons: np.ndarray
) -> pl.DataFrame:
    starts = result.starts[bad]  # type: ignore[attr-defined]
    nexts = result.nexts[bad]  # type: ignore[attr-defined]
    raw = bytes(buf)
    # Only defective records are sliced one by one; they are few by nature.
    snippets = [
        raw[s : min(e, s + RAW_SNIPPET)].decode("utf-8", "replace").rstrip("\r\n")
        for s, e in zip(starts.tolist(), nexts.tolist(), strict=True)
    ]
    return pl.DataFrame(
        {
            "source_file": [str(path)] * len(snippets),
            "source_line": result.lines[bad],  # type: ignore[attr-defined]
            "field": [None] * len(snippets),
            "reason": reasons,
            "raw": snippets,
        },
        schema=QUARANTINE_SCHEMA,
    )


def oversize_quarantine(path: Path, rec: OversizeRecord) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source_file": [str(path)],
            "source_line": [rec.line],
            "field": [None],
            "reason": [
                f"record is longer than {MAX_RECORD_BYTES:,} bytes ({rec.size:,} bytes up to "
                "the next line break); skipped"
            ],
            "raw": [None],
        },
        schema=QUARANTINE_SCHEMA,
    )
