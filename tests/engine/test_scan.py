"""The record scanner agrees with Python's csv module on record bounds and field counts."""

from __future__ import annotations

import csv
import io

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

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

CELL = st.text(
    alphabet=st.sampled_from(list('ab ,"\n;é')), max_size=6
)  # a lone CR is data here, a line end for Python's csv


def _scan(data: bytes, **kw: object):  # type: ignore[no-untyped-def]
    return scan_records(np.frombuffer(data, dtype=np.uint8), **kw)  # type: ignore[arg-type]


def test_lines_fields_and_quoted_newlines() -> None:
    r = _scan(b'a,b\n"x\ny",2\n\n1,"q""w"\n3,4,5\n5" pipe,2\r\nlast,1')
    assert r.lines.tolist() == [1, 2, 5, 6, 7, 8]
    assert r.fields.tolist() == [2, 2, 2, 3, 2, 2]
    assert r.blanks == 1
    assert (r.flags & DEFECTS == 0).all()
    assert r.flags[4] == STRAY_QUOTE  # '5" pipe': text, which polars needs re-quoted


def test_defects_are_flagged() -> None:
    r = _scan(b'ok,1\n\xff\xfe,1\nnul\x00,1\n"open,1')
    assert r.flags.tolist() == [0, BAD_UTF8, NUL_BYTE, OPEN_QUOTE]


def test_valid_multibyte_utf8_is_not_flagged() -> None:
    r = _scan("Ташкент,東京,🚢\n".encode())
    assert r.flags.tolist() == [0]
    assert r.fields.tolist() == [3]


def test_truncated_multibyte_sequence_is_flagged() -> None:
    r = _scan("é".encode()[:1] + b",x\n")
    assert r.flags.tolist() == [BAD_UTF8]


def test_incomplete_record_is_left_for_the_next_block() -> None:
    data = b'a,b\n"x\ny'
    r = _scan(data, is_final=False)
    assert len(r) == 1
    assert r.consumed == 4
    assert r.lines_seen == 1


def test_gather_keeps_only_chosen_records() -> None:
    data = b"h\n1\n2\n3"
    buf = np.frombuffer(data, dtype=np.uint8)
    r = scan_records(buf)
    keep = np.array([0, 2, 3])
    assert bytes(gather(buf, r.starts[keep], r.nexts[keep])) == b"h\n2\n3\n"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(min_size=1, max_size=5), min_size=1, max_size=12),
    st.data(),
)
def test_gather_is_the_kept_records_in_order(records: list[bytes], data: st.DataObject) -> None:
    # Records as the scanner gives them (disjoint, in order, blank lines between some);
    # any subset kept, in any order: the kept bytes in the buffer's order, with a final
    # line break.
    text, starts, nexts = b"", [], []
    for record in records:
        text += b"\n" * data.draw(st.integers(0, 2))
        starts.append(len(text))
        text += record + b"\n"
        nexts.append(len(text))
    text = text[:-1] if data.draw(st.booleans()) else text  # the last line break may be missing
    nexts[-1] = min(nexts[-1], len(text))
    buf = np.frombuffer(text, dtype=np.uint8)
    keep = data.draw(st.lists(st.integers(0, len(records) - 1), unique=True))
    expected = b"".join(text[starts[i] : nexts[i]] for i in sorted(keep))
    if expected and not expected.endswith(b"\n"):
        expected += b"\n"
    got = gather(buf, np.array(starts, np.int64)[keep], np.array(nexts, np.int64)[keep])
    assert bytes(got) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(CELL, min_size=1, max_size=4), min_size=1, max_size=8))
def test_agrees_with_python_csv(rows: list[list[str]]) -> None:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    data = text.getvalue().encode()
    expected = list(csv.reader(io.StringIO(text.getvalue(), newline="")))
    expected = [row for row in expected if row]  # the scanner skips blank lines, as csv does
    r = _scan(data)
    got: list[list[str]] = []
    for start, nxt in zip(r.starts.tolist(), r.nexts.tolist(), strict=True):
        got.extend(csv.reader(io.StringIO(data[start:nxt].decode(), newline="")))
    assert r.fields.tolist() == [len(row) for row in expected]
    assert got == expected


RAW_CELL = st.text(alphabet=st.sampled_from(list('ab ,"x;é')), max_size=7)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(RAW_CELL, min_size=1, max_size=4), min_size=1, max_size=6))
def test_requoted_records_read_by_polars_as_python_csv_reads_them(rows: list[list[str]]) -> None:
    """Hand-written (not csv-escaped) lines with stray quotes: scanner + requote + polars
    give the fields Python's csv module gives, for every record the scanner accepts."""
    lines = [",".join(cells) for cells in rows]
    data = ("\n".join(lines) + "\n").encode()
    r = _scan(data)
    for start, nxt, flag, nfields in zip(
        r.starts.tolist(), r.nexts.tolist(), r.flags.tolist(), r.fields.tolist(), strict=True
    ):
        record = data[start:nxt]
        if flag & DEFECTS:
            continue
        expected = next(csv.reader(io.StringIO(record.decode(), newline="")))
        assert len(expected) == nfields
        fixed = requote(np.frombuffer(record, dtype=np.uint8), sep=",", quote='"')
        got = pl.read_csv(io.BytesIO(fixed.tobytes()), has_header=False, infer_schema=False)
        assert [v or "" for v in got.row(0)] == expected, (record, bytes(fixed))
