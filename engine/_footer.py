"""Parquet outputs encoded from polars' string views, stored with the classic Arrow schema.

polars holds strings as views. Told that a file's strings are ``large_string`` (the Arrow
schema every reader understands, polars' default), its Parquet writer first copies every
string column into offsets and bytes; told they are string views (``arrow_schema=`` at
polars' newest compat level), it encodes the views as they are: the same Parquet column
types, the same values, ~12 % less CPU for a day's ``scored.parquet``. But the Arrow schema
the file stores (its ``ARROW:schema`` footer entry) then names string views, which pyarrow
before 15 cannot read at all.

:func:`sink_parquet` takes the fast way and then stores the classic schema: the two
schemas differ only in the type ids of their string fields, so their serialised forms are
the same length and one replaces the other in place, in the footer, without moving a byte
of the data or of the footer's offsets. Both forms are taken from what polars itself writes
for the frame's schema (an empty frame written each way), and the swap is checked: if the
entry is not found exactly once where the footer keeps it, the file is written again the
classic way instead. The file then reads, in every reader, exactly as the classic write.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

MAGIC = b"PAR1"
"""The bytes that open and close a Parquet file."""
_KEY = b"ARROW:schema"


def sink_parquet(frame: pl.LazyFrame, target: Path, **options: Any) -> None:
    """``frame.sink_parquet(target, **options)``, with the same stored schema and values,
    encoded from string views when the classic schema can be swapped in afterwards."""
    empty = pl.DataFrame(schema=frame.collect_schema())
    views = view_schema(empty)
    fast, classic = _stored_schema(empty, views), _stored_schema(empty, None)
    # Not swappable (lengths differ), or no string anywhere (nothing to gain): as it was.
    if fast is None or classic is None or len(fast) != len(classic) or fast == classic:
        frame.sink_parquet(target, **options)
        return
    frame.sink_parquet(target, arrow_schema=views, **options)
    if not swap_stored_schema(target, fast, classic):
        # Not where it was expected (a writer that stores it differently): write it again
        # the classic way, from the file just written (the same values).
        again = target.with_name(target.name + ".classic")
        pl.scan_parquet(target).sink_parquet(again, **options)
        again.replace(target)


def view_schema(frame: pl.DataFrame) -> Any:
    """The Arrow schema of ``frame`` with its strings as polars holds them (string views):
    given to a Parquet writer as ``arrow_schema``, it encodes them without a copy."""
    return frame.head(0).to_arrow(compat_level=pl.CompatLevel.newest()).schema


def _stored_schema(empty: pl.DataFrame, arrow_schema: Any) -> bytes | None:
    """The ``ARROW:schema`` footer entry polars writes for ``empty``'s schema."""
    buffer = io.BytesIO()
    empty.write_parquet(buffer, arrow_schema=arrow_schema)
    found = _footer_entry(footer_bytes(buffer.getvalue()))
    return None if found is None else found[1]


def footer_bytes(data: bytes) -> bytes:
    """The footer of a whole Parquet file held in memory (``b""`` when it is not one)."""
    if len(data) < 12 or data[:4] != MAGIC or data[-4:] != MAGIC:
        return b""
    size = int.from_bytes(data[-8:-4], "little")
    if size > len(data) - 12:
        return b""
    return data[len(data) - 8 - size : len(data) - 8]


def read_footer_bytes(fh: BinaryIO) -> tuple[int, bytes] | None:
    """(where the footer starts, its bytes) of the open Parquet file ``fh``; None when it
    is not one."""
    end = fh.seek(0, io.SEEK_END)
    if end < 12:
        return None
    fh.seek(0)
    head = fh.read(4)
    fh.seek(end - 8)
    tail = fh.read(8)
    if head != MAGIC or tail[4:] != MAGIC:
        return None
    size = int.from_bytes(tail[:4], "little")
    start = end - 8 - size
    if start < 4:
        return None
    fh.seek(start)
    return start, fh.read(size)


def _footer_entry(footer: bytes) -> tuple[int, bytes] | None:
    """(offset in ``footer``, value) of the ``ARROW:schema`` key-value entry.

    The footer is Thrift's compact encoding: a key-value entry is the key's bytes, then the
    value's field header (one byte), its length (a varint) and its bytes (base64 text)."""
    key_at = footer.find(_KEY)
    if key_at < 0 or footer.find(_KEY, key_at + 1) >= 0:
        return None
    at = key_at + len(_KEY)
    if at >= len(footer) or footer[at] & 0x0F != 0x08:  # a binary field follows the key
        return None
    at += 1
    length = shift = 0
    while at < len(footer):
        byte = footer[at]
        at += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    else:
        return None
    if at + length > len(footer):
        return None
    return at, footer[at : at + length]


def swap_stored_schema(path: Path, old: bytes, new: bytes) -> bool:
    """Replace the ``ARROW:schema`` entry ``old`` of the Parquet file ``path`` with ``new``
    (the same length) in place; False, leaving the file as it was, when the file's entry is
    not ``old``."""
    if len(old) != len(new):
        return False
    with path.open("r+b") as fh:
        footer = read_footer_bytes(fh)
        if footer is None:
            return False
        start, data = footer
        found = _footer_entry(data)
        if found is None or found[1] != old:
            return False
        fh.seek(start + found[0])
        fh.write(new)
    return True
