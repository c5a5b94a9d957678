"""Ingest: read manifest files in chunks into the canonical frame, quarantining bad records.

Every record read is accounted for: it is either in a chunk's rows or in its quarantine,
with the source file and line (text formats) or record number (binary formats) and the
reason. Formats: CSV (any delimiter, any encoding Python knows), Parquet, Arrow IPC (file
or stream), NDJSON; further readers (industry message formats) register in ``READERS``.
The format is detected from the content, not the file name.
"""

from __future__ import annotations

import codecs
import glob as globlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.ipc as pa_ipc
import pyarrow.parquet as pq

from engine._canonical import QUARANTINE_SCHEMA, empty_quarantine, to_canonical
from engine._scan import (
    BAD_UTF8,
    DEFECTS,
    NUL_BYTE,
    OPEN_QUOTE,
    STRAY_QUOTE,
    gather,
    requote,
    scan_records,
)
from engine.errors import IngestError, Location
from engine.schema import ROW_INDEX
from engine.spec import CsvOptions, DatasetSpec, default_spec, resolve_columns

DEFAULT_CHUNK_ROWS = 250_000
BLOCK_BYTES = 64 << 20
MAX_RECORD_BYTES = 1 << 20
RAW_SNIPPET = 300


@dataclass
class Chunk:
    """One chunk of a batch: canonical rows plus the records quarantined while reading it."""

    rows: pl.DataFrame
    quarantine: pl.DataFrame
    source_file: str
    records_read: int  # rows + quarantined, for the accounting
    present: frozenset[str] = frozenset()  # canonical fields the source provides


@dataclass
class RawChunk:
    """Source columns as read, before mapping to canonical fields."""

    frame: pl.DataFrame
    lines: np.ndarray  # line (text) or record (binary) number of each row, 1-based
    quarantine: pl.DataFrame


@dataclass
class IngestSummary:
    """What ingest saw, for the run record."""

    files: list[dict[str, object]] = field(default_factory=list)
    blank_lines: int = 0


Reader = Callable[[Path, DatasetSpec, int], Iterator[RawChunk]]


# ---------------------------------------------------------------------------------------
# Format detection
# ---------------------------------------------------------------------------------------
def detect_format(path: Path) -> tuple[str, str]:
    """Return (format, why) from the file's first bytes."""
    with path.open("rb") as fh:
        head = fh.read(8192)
    if not head:
        raise IngestError(
            "the file is empty",
            location=Location(file=str(path)),
            hint="export the manifest again; a manifest has a header and rows",
        )
    if head[:4] == b"PAR1":
        return "parquet", "Parquet magic bytes 'PAR1'"
    if head[:6] == b"ARROW1":
        return "ipc", "Arrow IPC file magic 'ARROW1'"
    if head[:4] == b"\xff\xff\xff\xff":
        return "ipc", "Arrow IPC stream continuation marker"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:3] in (b"UNA", b"UNB"):
        return "cuscar", "UN/EDIFACT interchange header (UNA/UNB)"
    from engine.formats.cargoimp import looks_like_cargoimp

    if looks_like_cargoimp(text):
        return "cargoimp", "IATA Cargo-IMP message identifier (FWB/FHL)"
    if text[:1] == b"{":
        first_line = text.split(b"\n", 1)[0].strip()
        try:
            first = json.loads(first_line)
        except ValueError:
            return "dcsa", "a JSON document"
        from engine.formats.dcsa import looks_like_dcsa

        if looks_like_dcsa(first):
            return "dcsa", "DCSA eBL documents, one JSON object per line"
        return "ndjson", "one JSON object per line"
    if text[:1] == b"[":
        return "dcsa", "a JSON array of documents"
    if head.count(b"\x00") > len(head) // 100 + 1:
        raise IngestError(
            "the file looks binary (many NUL bytes) and is not Parquet or Arrow",
            location=Location(file=str(path)),
            hint="pass a CSV, Parquet, Arrow IPC, NDJSON, DCSA eBL, CUSCAR or Cargo-IMP file",
        )
    return "csv", "delimited text"


SEPARATORS = (",", "\t", ";", "|")
"""Separators tried when the spec does not name one, in order of preference."""
QUOTES = ('"', "", "'")
"""Quote styles tried (``""``: no quoting), in order of preference."""
SNIFF_BYTES = 1 << 16


def sniff_csv(path: Path, opts: CsvOptions) -> tuple[CsvOptions, dict[str, object]]:
    """The CSV options to read ``path`` with, and what was detected, for the run record.

    A separator other than ``,`` named in the spec is taken as given. Otherwise each
    separator (comma, tab, semicolon, pipe) and quote style (``"``, none, ``'``) is tried on
    the first 64 KiB with the record scanner: the one under which most records have as many
    fields as the header (and at least two) wins; ties go to the more common choice.
    """
    if opts.separator != ",":
        return opts, {"separator": opts.separator, "quote": opts.quote, "detected_by": "spec"}
    with path.open("rb") as fh:
        raw = fh.read(SNIFF_BYTES)
        is_final = not fh.read(1)
    normal = codecs.lookup(opts.encoding).name
    if normal != "utf-8":
        raw = raw.decode(normal, "replace").encode("utf-8")
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    if b"\n" not in raw:
        raw = raw.replace(b"\r", b"\n")
    buf = np.frombuffer(raw, dtype=np.uint8)
    best: tuple[float, int, int] | None = None
    chosen = (opts.separator, opts.quote)
    sampled: dict[str, object] = {}
    for si, sep in enumerate(SEPARATORS):
        for qi, quote in enumerate(QUOTES):
            if quote and quote != opts.quote and opts.quote != '"':
                continue  # a spec that names its quote keeps it
            result = scan_records(buf, sep=sep, quote=quote or None, is_final=is_final)
            if len(result) == 0 or result.fields[0] < 2:
                continue
            ok = (result.fields == result.fields[0]) & ((result.flags & DEFECTS) == 0)
            key = (float(ok.mean()), -si, -qi)
            if best is None or key > best:
                best, chosen = key, (sep, quote)
                sampled = {"records_sampled": len(result), "records_fitting": int(ok.sum())}
    sep, quote = chosen
    detected = {
        "separator": sep,
        "quote": quote,
        "detected_by": "content" if sampled else "default (one column)",
        **sampled,
    }
    return CsvOptions(**{**opts.__dict__, "separator": sep, "quote": quote}), detected


# ---------------------------------------------------------------------------------------
# CSV and NDJSON through the record scanner
# ---------------------------------------------------------------------------------------
def _blocks(path: Path, encoding: str, cr_lines: bool = False) -> Iterator[bytes]:
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


def _records(
    path: Path, encoding: str, sep: str, quote: str | None, cr_lines: bool = False
) -> Iterator[tuple[np.ndarray, object, bool]]:
    """Yield (buffer, ScanResult, is_last) per block; an oversize record yields an
    ``_OversizeRecord`` instead, and reading resumes after its line break."""
    carry = b""
    line = 1
    blocks = _blocks(path, encoding, cr_lines)
    pending = next(blocks, None)
    while pending is not None:
        nxt = next(blocks, None)
        data = carry + pending
        is_final = nxt is None
        buf = np.frombuffer(data, dtype=np.uint8)
        result = scan_records(buf, sep=sep, quote=quote, is_final=is_final, first_line=line)
        if result.consumed == 0 and not is_final and len(data) > MAX_RECORD_BYTES:
            # Longer than any manifest line can be (or a quote never closed): report it and
            # resynchronise at the next raw line break, without holding it all in memory.
            size, rest = _skip_line(data, nxt, blocks)
            yield buf[:0], _OversizeRecord(line, size), False
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
class _OversizeRecord:
    line: int
    size: int


def _skip_line(data: bytes, nxt: bytes | None, blocks: Iterator[bytes]) -> tuple[int, bytes | None]:
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


def _bad_record_quarantine(
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


def _csv_reasons(
    fields: np.ndarray, flags: np.ndarray, too_long: np.ndarray, expected: int
) -> np.ndarray:
    reasons = np.full(fields.shape[0], "", dtype=object)
    wrong = fields != expected
    reasons[wrong] = np.char.add(
        np.char.add(
            f"wrong number of fields: expected {expected}, found ", fields[wrong].astype(str)
        ),
        " (a separator or quote inside a value?)",
    )
    reasons[(flags & OPEN_QUOTE) != 0] = "unterminated quoted value at end of file"
    reasons[(flags & NUL_BYTE) != 0] = "binary data (NUL byte) in the record"
    reasons[(flags & BAD_UTF8) != 0] = (
        "bytes that are not valid UTF-8 (set csv.encoding in the spec)"
    )
    reasons[too_long] = f"record is longer than {MAX_RECORD_BYTES:,} bytes; skipped"
    return reasons


def read_csv_chunks(path: Path, spec: DatasetSpec, chunk_rows: int) -> Iterator[RawChunk]:
    """CSV → raw chunks; malformed records are quarantined with their line numbers."""
    opts = spec.csv
    sep, quote = opts.separator, opts.quote or None
    header: list[str] | None = None
    records = _records(path, opts.encoding, sep, quote, cr_lines=_cr_line_ends(path))
    for buf, result, _last in records:
        if isinstance(result, _OversizeRecord):
            if header is None:
                raise _header_too_long(path)
            yield RawChunk(pl.DataFrame(), np.empty(0, np.int64), _oversize(path, result))
            continue
        lines, starts, nexts = result.lines, result.starts, result.nexts  # type: ignore[attr-defined]
        if header is None:
            if len(lines) == 0:
                continue
            if nexts[0] - starts[0] > MAX_RECORD_BYTES:
                raise _header_too_long(path)
            if result.flags[0] & DEFECTS:  # type: ignore[attr-defined]
                raise IngestError(
                    "the header line is not readable text",
                    location=Location(str(path), 1),
                    hint="check the file's encoding (csv.encoding in the spec)",
                )
            header = _header(path, bytes(buf[starts[0] : nexts[0]]), sep, quote)
            keep_from = 1
        else:
            keep_from = 0
        fields = result.fields[keep_from:]  # type: ignore[attr-defined]
        flags = result.flags[keep_from:]  # type: ignore[attr-defined]
        sub = _Sub(starts[keep_from:], nexts[keep_from:], lines[keep_from:])
        too_long = (sub.nexts - sub.starts) > MAX_RECORD_BYTES
        good = (fields == len(header)) & ((flags & DEFECTS) == 0) & ~too_long
        quarantine = empty_quarantine()
        if not bool(good.all()):
            bad = ~good
            quarantine = _bad_record_quarantine(
                path,
                buf,
                sub,
                bad,
                _csv_reasons(fields[bad], flags[bad], too_long[bad], len(header)),
            )
        good_idx = np.flatnonzero(good)
        for at in range(0, max(len(good_idx), 1), chunk_rows):
            idx = good_idx[at : at + chunk_rows]
            frames, kept, rejected, why = _parse_csv_records(
                buf, sub, flags, idx, header, sep, quote
            )
            q = [quarantine if at == 0 else empty_quarantine()]
            if len(rejected):
                q.append(_bad_record_quarantine(path, buf, sub, rejected, np.array(why, object)))
            frame = (
                pl.concat(frames)
                if frames
                else pl.DataFrame(schema={name: pl.String for name in header})
            )
            yield RawChunk(frame, sub.lines[kept], pl.concat(q) if len(q) > 1 else q[0])
    if header is None:
        raise IngestError(
            "the file has no header line and no rows",
            location=Location(file=str(path)),
            hint="a CSV manifest starts with a header line naming its columns",
        )


@dataclass
class _Sub:
    starts: np.ndarray
    nexts: np.ndarray
    lines: np.ndarray


def _cr_line_ends(path: Path) -> bool:
    """True for a file whose lines end with a lone CR (classic Mac OS exports)."""
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    return b"\n" not in head and b"\r" in head


def _header_too_long(path: Path) -> IngestError:
    return IngestError(
        f"the header line is longer than {MAX_RECORD_BYTES:,} bytes",
        location=Location(str(path), 1),
        hint="this does not look like a delimited manifest: check that the file is CSV with "
        "one header line, and that its lines end with LF or CRLF",
    )


def _oversize(path: Path, rec: _OversizeRecord) -> pl.DataFrame:
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


def split_fields(text: str, sep: str, quote: str | None) -> list[str]:
    """One record's fields by RFC 4180, the scanner's rule: a quote opens a quoted field only
    at the start of a field (``""`` inside is one quote); anywhere else it is text, and text
    after a closing quote joins the field (as Python's csv module reads it)."""
    fields: list[str] = []
    at, n = 0, len(text)
    while True:
        value = ""
        if quote and text.startswith(quote, at):
            at += 1
            while True:
                close = text.find(quote, at)
                if close < 0:
                    value += text[at:]
                    at = n
                    break
                value += text[at:close]
                if text.startswith(quote, close + 1):
                    value += quote
                    at = close + 2
                    continue
                at = close + 1
                break
        end = text.find(sep, at)
        end = n if end < 0 else end
        fields.append(value + text[at:end])
        if end >= n:
            return fields
        at = end + len(sep)


def _header(path: Path, line: bytes, sep: str, quote: str | None) -> list[str]:
    text = line.decode("utf-8", "replace")
    text = text[:-1] if text.endswith("\n") else text
    text = text[:-1] if text.endswith("\r") else text
    names = [n.strip() for n in split_fields(text, sep, quote)]
    seen: set[str] = set()
    for i, name in enumerate(names):
        shown = name if len(name) <= 60 else name[:57] + "..."
        if "\r" in name or "\n" in name:
            what = "a carriage return (CR)" if "\r" in name else "a line feed (LF)"
            raise IngestError(
                f"column {i + 1} of the header ({shown!r}) contains {what}: a line break "
                "inside a column name",
                location=Location(str(path), 1, None, field=shown.replace("\r", " ")),
                hint="re-export the file so that the header is one line; a lone CR often "
                "means line ends were mixed when the file was edited",
            )
        if not name:
            raise IngestError(
                f"column {i + 1} of the header has no name",
                location=Location(str(path), 1, None),
                hint="name every column in the header line",
            )
        if name in seen:
            raise IngestError(
                f"column name '{shown}' appears twice in the header",
                location=Location(str(path), 1),
                hint="rename one of the columns",
            )
        seen.add(name)
    return names


def _parse_csv_records(
    buf: np.ndarray,
    sub: _Sub,
    flags: np.ndarray,
    idx: np.ndarray,
    header: list[str],
    sep: str,
    quote: str | None,
) -> tuple[list[pl.DataFrame], np.ndarray, np.ndarray, list[str]]:
    """Parse records ``idx`` with polars: (frames, kept, rejected, reason per rejected).

    The scanner has already checked every record's field count, so polars agrees record
    for record; should it not (a byte sequence it reads otherwise), the records are
    bisected so that only the ones it cannot read are quarantined, each with the reason.
    """
    if len(idx) == 0:
        return [], idx, idx, []
    data = gather(buf, sub.starts[idx], sub.nexts[idx])
    if quote and bool((flags[idx] & STRAY_QUOTE).any()):
        data = requote(data, sep=sep, quote=quote)
    why = ""
    try:
        frame = pl.read_csv(
            io.BytesIO(data.tobytes()),
            has_header=False,
            new_columns=header,
            separator=sep,
            quote_char=quote,
            infer_schema=False,
            empty_string_is_null=False,
            raise_if_empty=False,
            truncate_ragged_lines=False,
        )
        if frame.height == len(idx) and frame.width == len(header):
            return [frame], idx, idx[:0], []
        why = f"read as {frame.height} records"
    except pl.exceptions.PolarsError as err:
        why = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if len(idx) == 1:
        return (
            [],
            idx[:0],
            idx,
            [f"the record could not be parsed as CSV ({why}); check its quoting"],
        )
    half = len(idx) // 2
    f1, k1, r1, w1 = _parse_csv_records(buf, sub, flags, idx[:half], header, sep, quote)
    f2, k2, r2, w2 = _parse_csv_records(buf, sub, flags, idx[half:], header, sep, quote)
    return f1 + f2, np.concatenate([k1, k2]), np.concatenate([r1, r2]), w1 + w2


def read_ndjson_chunks(path: Path, spec: DatasetSpec, chunk_rows: int) -> Iterator[RawChunk]:
    """NDJSON → raw chunks; lines that are not JSON objects are quarantined."""
    for buf, result, _last in _records(path, spec.csv.encoding, "\x00", None):
        if isinstance(result, _OversizeRecord):
            yield RawChunk(pl.DataFrame(), np.empty(0, np.int64), _oversize(path, result))
            continue
        flags = result.flags  # type: ignore[attr-defined]
        good = (flags & (BAD_UTF8 | NUL_BYTE)) == 0
        starts, nexts, lines = result.starts, result.nexts, result.lines  # type: ignore[attr-defined]
        quarantine = empty_quarantine()
        if not bool(good.all()):
            reasons = np.where(
                (flags[~good] & NUL_BYTE) != 0,
                "binary data (NUL byte) in the record",
                "bytes that are not valid UTF-8",
            ).astype(object)
            quarantine = _bad_record_quarantine(path, buf, result, ~good, reasons)
        good_idx = np.flatnonzero(good)
        for at in range(0, len(good_idx), chunk_rows):
            idx = good_idx[at : at + chunk_rows]
            frames, kept, rejected = _parse_json_lines(buf, starts, nexts, idx)
            q = [quarantine if at == 0 else empty_quarantine()]
            if len(rejected):
                q.append(
                    _bad_record_quarantine(
                        path,
                        buf,
                        result,
                        rejected,
                        np.full(len(rejected), "not a JSON object", dtype=object),
                    )
                )
            frame = _stack_json_frames(frames, spec.list_separator)
            yield RawChunk(frame, lines[kept], pl.concat(q))


def _stack_json_frames(frames: list[pl.DataFrame], list_separator: str) -> pl.DataFrame:
    """Stack per-part frames; a field whose JSON type differs between parts becomes text
    (lists joined with the spec's list separator), so canonicalisation parses it as it does
    CSV text instead of failing on the mix."""
    if not frames:
        return pl.DataFrame()
    try:
        return pl.concat(frames, how="diagonal_relaxed")
    except (
        pl.exceptions.SchemaError,
        pl.exceptions.ComputeError,
        pl.exceptions.InvalidOperationError,
    ):
        pass
    seen: dict[str, set[str]] = {}
    for frame in frames:
        for name, dtype in frame.schema.items():
            seen.setdefault(name, set()).add(str(dtype))
    mixed = {name for name, kinds in seen.items() if len(kinds) > 1}

    def as_text(name: str, dtype: pl.DataType) -> pl.Expr:
        col = pl.col(name)
        if isinstance(dtype, pl.List):
            return col.list.eval(pl.element().cast(pl.String)).list.join(list_separator)
        if isinstance(dtype, pl.Struct):
            return col.struct.json_encode()
        return col.cast(pl.String)

    texted = [
        f.with_columns(as_text(n, d).alias(n) for n, d in f.schema.items() if n in mixed)
        for f in frames
    ]
    return pl.concat(texted, how="diagonal_relaxed")


def _parse_json_lines(
    buf: np.ndarray, starts: np.ndarray, nexts: np.ndarray, idx: np.ndarray
) -> tuple[list[pl.DataFrame], np.ndarray, np.ndarray]:
    """Parse lines ``idx`` with polars; on failure, bisect to isolate the bad lines."""
    try:
        frame = pl.read_ndjson(
            io.BytesIO(gather(buf, starts[idx], nexts[idx]).tobytes()), infer_schema_length=None
        )
        if frame.height == len(idx):
            return [frame], idx, np.empty(0, np.int64)
    except Exception:
        pass
    if len(idx) == 1:
        return [], np.empty(0, np.int64), idx
    half = len(idx) // 2
    f1, k1, r1 = _parse_json_lines(buf, starts, nexts, idx[:half])
    f2, k2, r2 = _parse_json_lines(buf, starts, nexts, idx[half:])
    return f1 + f2, np.concatenate([k1, k2]), np.concatenate([r1, r2])


# ---------------------------------------------------------------------------------------
# Columnar formats
# ---------------------------------------------------------------------------------------
def read_parquet_chunks(path: Path, spec: DatasetSpec, chunk_rows: int) -> Iterator[RawChunk]:
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise IngestError(
            f"not a readable Parquet file: {err}",
            location=Location(file=str(path)),
            hint="the file may be truncated; export it again",
        ) from None
    offset = 0
    for batch in pf.iter_batches(batch_size=chunk_rows):
        yield _arrow_chunk(batch, offset)
        offset += batch.num_rows


def read_ipc_chunks(path: Path, spec: DatasetSpec, chunk_rows: int) -> Iterator[RawChunk]:
    try:
        try:
            reader = pa_ipc.open_file(path)
            batches: Iterator[pa.RecordBatch] = (
                reader.get_batch(i) for i in range(reader.num_record_batches)
            )
        except pa.ArrowInvalid:
            batches = iter(pa_ipc.open_stream(path.open("rb")))
        offset = 0
        for batch in batches:
            for at in range(0, batch.num_rows, chunk_rows):
                piece = batch.slice(at, chunk_rows)
                yield _arrow_chunk(piece, offset)
                offset += piece.num_rows
    except (pa.ArrowInvalid, OSError) as err:
        raise IngestError(
            f"not a readable Arrow IPC file: {err}",
            location=Location(file=str(path)),
            hint="the file may be truncated; export it again",
        ) from None


def _arrow_chunk(batch: pa.RecordBatch, offset: int) -> RawChunk:
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    lines = np.arange(offset + 1, offset + frame.height + 1, dtype=np.int64)
    return RawChunk(frame, lines, empty_quarantine())


def read_dcsa_chunks(path: Path, spec: DatasetSpec, chunk_rows: int) -> Iterator[RawChunk]:
    from engine.formats.dcsa import read_dcsa_chunks as read

    return read(path, spec, chunk_rows)


def read_cuscar_chunks(path: Path, spec: DatasetSpec, chunk_rows: int) -> Iterator[RawChunk]:
    from engine.formats.cuscar import read_cuscar_chunks as read

    return read(path, spec, chunk_rows)


def read_cargoimp_chunks(path: Path, spec: DatasetSpec, chunk_rows: int) -> Iterator[RawChunk]:
    from engine.formats.cargoimp import read_cargoimp_chunks as read

    return read(path, spec, chunk_rows)


READERS: dict[str, Reader] = {
    "csv": read_csv_chunks,
    "ndjson": read_ndjson_chunks,
    "parquet": read_parquet_chunks,
    "ipc": read_ipc_chunks,
    "dcsa": read_dcsa_chunks,
    "cuscar": read_cuscar_chunks,
    "cargoimp": read_cargoimp_chunks,
}
"""Format name → chunk reader. Industry formats register here as well."""


# ---------------------------------------------------------------------------------------
# The public entry points
# ---------------------------------------------------------------------------------------
def expand_inputs(source: Path | str) -> list[Path]:
    """A file, or a glob pattern naming several files scored as one batch."""
    text = str(source)
    if any(ch in text for ch in "*?["):
        paths = sorted(Path(p) for p in globlib.glob(text) if Path(p).is_file())
        if not paths:
            raise IngestError(f"no files match '{text}'", hint="check the pattern and the folder")
        return paths
    path = Path(text)
    if path.is_dir():
        raise IngestError(
            f"'{path}' is a directory, not a file",
            location=Location(file=str(path)),
            hint=f"pass one file, or a pattern such as '{path}/*.csv'",
        )
    if not path.exists():
        raise IngestError(f"no such file: '{path}'", hint="check the path")
    return [path]


def read_chunks(
    source: Path | str,
    spec: DatasetSpec | None = None,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    summary: IngestSummary | None = None,
) -> Iterator[Chunk]:
    """Read one file or glob into canonical chunks, each with its quarantine.

    ``row_index`` numbers the kept rows across all chunks and files of the batch.
    """
    spec = spec or default_spec()
    summary = summary if summary is not None else IngestSummary()
    row_offset = 0
    for path in expand_inputs(source):
        fmt, why = (spec.format, "named in the spec") if spec.format else detect_format(path)
        reader = READERS.get(fmt)
        if reader is None:
            raise IngestError(
                f"no reader for format '{fmt}' ({why})",
                location=Location(file=str(path)),
                hint="supported: " + ", ".join(sorted(READERS)),
            )
        entry: dict[str, object] = {
            "path": str(path),
            "format": fmt,
            "detected_by": why,
            "bytes": path.stat().st_size,
        }
        file_spec = spec
        if fmt == "csv":
            opts, entry["csv"] = sniff_csv(path, spec.csv)
            file_spec = DatasetSpec(**{**spec.__dict__, "csv": opts})
        summary.files.append(entry)
        bound: DatasetSpec | None = None
        for raw in reader(path, file_spec, chunk_rows):
            if raw.frame.width == 0 and raw.frame.height == 0:
                yield Chunk(_empty_rows(), raw.quarantine, str(path), raw.quarantine.height)
                continue
            if bound is None:
                bound = resolve_columns(file_spec, raw.frame.columns, str(path))
            rows, missing = to_canonical(
                raw.frame, bound, source_file=str(path), source_lines=pl.Series(raw.lines)
            )
            rows = rows.with_columns(
                pl.int_range(row_offset, row_offset + rows.height, dtype=pl.Int64).alias(ROW_INDEX)
            )
            row_offset += rows.height
            quarantine = pl.concat([raw.quarantine, missing]) if missing.height else raw.quarantine
            yield Chunk(
                rows,
                quarantine,
                str(path),
                raw.frame.height + raw.quarantine.height,
                frozenset(bound.columns),
            )


def _empty_rows() -> pl.DataFrame:
    return pl.DataFrame()


def read_frame(
    source: Path | str, spec: DatasetSpec | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read a whole (small enough) input into one canonical frame and its quarantine."""
    rows, quarantine = [], []
    for chunk in read_chunks(source, spec):
        if chunk.rows.height or chunk.rows.width:
            rows.append(chunk.rows)
        quarantine.append(chunk.quarantine)
    if not rows:
        raise IngestError(
            "no rows could be read",
            location=Location(file=str(source)),
            hint="see the quarantine for why each record was rejected",
        )
    return pl.concat(rows, how="vertical_relaxed"), pl.concat(quarantine)
