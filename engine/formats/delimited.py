"""Delimited text (CSV, TSV, …): RFC 4180 quoting, separator and quote detected from content.

A quote opens a quoted field only at the start of a field, in the record scanner
(``engine._scan``) and in the parse alike, so ``12" DIA`` is text; records polars would read
otherwise are re-quoted first (``requote``), and any it still cannot read are quarantined
with their line.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from engine._canonical import empty_quarantine
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
from engine.formats import _text
from engine.formats._base import RawChunk
from engine.i18n import N_
from engine.spec import CsvOptions, DatasetSpec

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
    reasons[too_long] = f"record is longer than {_text.MAX_RECORD_BYTES:,} bytes; skipped"
    return reasons


def read_csv_chunks(path: Path, spec: DatasetSpec, chunk_rows: int) -> Iterator[RawChunk]:
    """CSV → raw chunks; malformed records are quarantined with their line numbers."""
    opts = spec.csv
    sep, quote = opts.separator, opts.quote or None
    header: list[str] | None = None
    records = _text.records(path, opts.encoding, sep, quote, cr_lines=_cr_line_ends(path))
    for buf, result, _last in records:
        if isinstance(result, _text.OversizeRecord):
            if header is None:
                raise _header_too_long(path)
            yield RawChunk(
                pl.DataFrame(), np.empty(0, np.int64), _text.oversize_quarantine(path, result)
            )
            continue
        lines, starts, nexts = result.lines, result.starts, result.nexts  # type: ignore[attr-defined]
        if header is None:
            if len(lines) == 0:
                continue
            if nexts[0] - starts[0] > _text.MAX_RECORD_BYTES:
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
        too_long = (sub.nexts - sub.starts) > _text.MAX_RECORD_BYTES
        good = (fields == len(header)) & ((flags & DEFECTS) == 0) & ~too_long
        quarantine = empty_quarantine()
        if not bool(good.all()):
            bad = ~good
            quarantine = _text.bad_record_quarantine(
                path,
                buf,
                sub,
                bad,
                _csv_reasons(fields[bad], flags[bad], too_long[bad], len(header)),
            )
        good_idx = np.flatnonzero(good)
        for at in range(0, max(len(good_idx), 1), chunk_rows):
            idx = good_idx[at : at + chunk_rows]
            frames, kept, rejected, why = _parse_csvrecords(
                buf, sub, flags, idx, header, sep, quote
            )
            q = [quarantine if at == 0 else empty_quarantine()]
            if len(rejected):
                q.append(
                    _text.bad_record_quarantine(path, buf, sub, rejected, np.array(why, object))
                )
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
        N_(
            "the header line is longer than {limit} bytes",
            limit=f"{_text.MAX_RECORD_BYTES:,}",
        ),
        location=Location(str(path), 1),
        hint=N_(
            "this does not look like a delimited manifest: check that the file is CSV with "
            "one header line, and that its lines end with LF or CRLF"
        ),
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
            what = N_("a carriage return (CR)") if "\r" in name else N_("a line feed (LF)")
            raise IngestError(
                N_(
                    "column {n} of the header ({name}) contains {what}: a line break inside a "
                    "column name",
                    n=i + 1,
                    name=repr(shown),
                    what=what,
                ),
                location=Location(str(path), 1, None, field=shown.replace("\r", " ")),
                hint=N_(
                    "re-export the file so that the header is one line; a lone CR often "
                    "means line ends were mixed when the file was edited"
                ),
            )
        if not name:
            raise IngestError(
                N_("column {n} of the header has no name", n=i + 1),
                location=Location(str(path), 1, None),
                hint=N_("name every column in the header line"),
            )
        if name in seen:
            raise IngestError(
                f"column name '{shown}' appears twice in the header",
                location=Location(str(path), 1),
                hint="rename one of the columns",
            )
        seen.add(name)
    return names


def _parse_csvrecords(
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
    f1, k1, r1, w1 = _parse_csvrecords(buf, sub, flags, idx[:half], header, sep, quote)
    f2, k2, r2, w2 = _parse_csvrecords(buf, sub, flags, idx[half:], header, sep, quote)
    return f1 + f2, np.concatenate([k1, k2]), np.concatenate([r1, r2]), w1 + w2
