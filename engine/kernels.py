"""Check-digit kernels polars cannot express: ISO 6346 container numbers, IMO ship numbers
and IATA air waybill numbers; the first-occurrence codes of a column's value hashes
(:func:`first_occurrence_codes`, for :func:`engine.reference.distinct_codes`); and the
simplified form of ASCII text (:func:`simplify_ascii`, for :mod:`engine.validate`).

Each kernel runs in numba over a whole column's Arrow buffers (offsets + UTF-8 bytes), so a
million values are checked without a Python loop. Both normalise the same way, inside the
kernel, byte by byte:

- ASCII whitespace and the separators ``-``, ``.``, ``/`` (and ``:`` for IMO) are ignored
  anywhere, so ``MSCU 123456-5`` and ``IMO: 9319466`` are read as ``MSCU1234565`` and
  ``IMO9319466``;
- ASCII ``a``–``z`` count as upper case;
- anything else non-ASCII makes the value invalid (no Unicode case folding: ``ß``, ``ı``
  or full-width letters never turn into a valid-looking number).

A null value gives null (nothing to check); an empty or separator-only string is invalid.
``_ref_iso6346``, ``_ref_imo`` and ``_ref_awb`` are the plain-Python statements of the same
rules; the tests hold the kernels to them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
from numba import njit

import engine._jit  # noqa: F401  (numba's set-up without its BLAS probe: see there)

# ISO 6346 letter values: A=10, then counting up but skipping multiples of 11 (11, 22, 33).
# The one table: the validation kernel reads it, the demo generator computes check digits
# with it, and ``_ref_letter_value`` states the rule independently for the tests.
# fmt: off
ISO6346_LETTER_VALUES = np.array(
    [10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 34,
     35, 36, 37, 38],
    dtype=np.int64,
)
# fmt: on
_CONTAINER_SEPARATORS = " \t\n\r\v\f-./"
_IMO_SEPARATORS = _CONTAINER_SEPARATORS + ":"

# Verdicts the kernels write, one per value. The public functions turn them into booleans
# (blank is invalid); validation reads them directly, since a blank value is missing.
INVALID = 0
VALID = 1
BLANK = 2  # empty or ASCII whitespace only


@njit(cache=True, nogil=True)
def _is_separator(byte: int, allow_colon: bool) -> bool:
    # space, \t \n \v \f \r, '-', '.', '/', and ':' for IMO numbers
    if byte == 32 or 9 <= byte <= 13 or byte == 45 or byte == 46 or byte == 47:
        return True
    return allow_colon and byte == 58


@njit(cache=True, nogil=True)
def _upper(byte: int) -> int:
    return byte - 32 if 97 <= byte <= 122 else byte


@njit(cache=True, nogil=True)
def _gather(
    data: npt.NDArray[np.uint8],
    start: int,
    stop: int,
    allow_colon: bool,
    buf: npt.NDArray[np.int64],
) -> tuple[int, bool, bool]:
    """One value's bytes, separators left out and letters upper-cased, into ``buf``:
    ``(count, fits, blank)``; ``fits`` is false when the value has more than ``len(buf)``
    such bytes, ``blank`` true when it is empty or ASCII whitespace only."""
    n = 0
    fits = True
    blank = True
    for pos in range(start, stop):
        byte = int(data[pos])
        if not (byte == 32 or 9 <= byte <= 13):
            blank = False
        if _is_separator(byte, allow_colon):
            continue
        if n == buf.shape[0]:
            fits = False
            break
        buf[n] = _upper(byte)
        n += 1
    return n, fits, blank


@njit(cache=True, nogil=True)
def _iso6346_kernel(
    offsets: npt.NDArray[np.int64],
    data: npt.NDArray[np.uint8],
    letter_values: npt.NDArray[np.int64],
    out: npt.NDArray[np.int8],
) -> None:
    buf = np.empty(11, dtype=np.int64)
    for row in range(out.shape[0]):
        n, ok, blank = _gather(data, offsets[row], offsets[row + 1], False, buf)
        if blank:
            out[row] = BLANK
            continue
        if not ok or n != 11:
            out[row] = INVALID
            continue
        total = 0
        for i in range(11):
            c = buf[i]
            if i < 4:
                if not 65 <= c <= 90:  # A-Z
                    ok = False
                    break
                if i == 3 and c != 85 and c != 74 and c != 90:  # category U, J or Z
                    ok = False
                    break
                value = letter_values[c - 65]
            else:
                if not 48 <= c <= 57:  # 0-9
                    ok = False
                    break
                value = c - 48
            if i < 10:
                total += value << i  # weight 2**i
        # remainder 10 is written as check digit 0
        out[row] = VALID if ok and (total % 11) % 10 == buf[10] - 48 else INVALID


@njit(cache=True, nogil=True)
def _imo_kernel(
    offsets: npt.NDArray[np.int64], data: npt.NDArray[np.uint8], out: npt.NDArray[np.int8]
) -> None:
    buf = np.empty(10, dtype=np.int64)
    for row in range(out.shape[0]):
        # more than 10 is longer than "IMO" + 7 digits
        n, ok, blank = _gather(data, offsets[row], offsets[row + 1], True, buf)
        start = 0
        if ok and n == 10:
            # the only 10-character form is the "IMO" prefix + 7 digits
            ok = buf[0] == 73 and buf[1] == 77 and buf[2] == 79  # I M O
            start = 3
        if blank:
            out[row] = BLANK
            continue
        if not ok or n - start != 7:
            out[row] = INVALID
            continue
        total = 0
        for i in range(7):
            c = buf[start + i]
            if not 48 <= c <= 57:
                ok = False
                break
            if i < 6:
                total += (c - 48) * (7 - i)
        out[row] = VALID if ok and total % 10 == buf[start + 6] - 48 else INVALID


@njit(cache=True, nogil=True)
def _awb_kernel(
    offsets: npt.NDArray[np.int64], data: npt.NDArray[np.uint8], out: npt.NDArray[np.int8]
) -> None:
    buf = np.empty(11, dtype=np.int64)
    for row in range(out.shape[0]):
        n, ok, blank = _gather(data, offsets[row], offsets[row + 1], False, buf)
        if blank:
            out[row] = BLANK
            continue
        for i in range(n):
            ok = ok and 48 <= buf[i] <= 57  # digits only
            buf[i] -= 48
        if not ok or n != 11:
            out[row] = INVALID
            continue
        serial = 0
        for i in range(3, 10):
            serial = serial * 10 + buf[i]
        out[row] = VALID if serial % 7 == buf[10] else INVALID


def _arrow_buffers(s: pl.Series) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """The value offsets (rebased to the array's own start) and UTF-8 bytes of a column."""
    array = s.rechunk().to_arrow()
    if isinstance(array, pa.ChunkedArray):  # defensive: to_arrow of one chunk is an Array
        array = array.combine_chunks()
    if array.type != pa.large_string():
        array = array.cast(pa.large_string())
    _, offsets_buf, data_buf = array.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[
        array.offset : array.offset + len(array) + 1
    ]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    )
    return offsets, data


def _as_string(s: pl.Series) -> pl.Series:
    return s if s.dtype == pl.String else s.cast(pl.String)


def _text_result(
    s: pl.Series,
    out_offsets: npt.NDArray[np.int64],
    out_data: npt.NDArray[np.uint8],
    size: int,
    keep: pl.Series | None = None,
) -> pl.Series:
    """The text a kernel wrote (``out_offsets``, the first ``size`` bytes of ``out_data``),
    named as ``s``; null where ``s`` is null, or ``keep`` is false."""
    array = pa.LargeStringArray.from_buffers(
        len(s), pa.py_buffer(out_offsets), pa.py_buffer(out_data[:size])
    )
    text = pl.Series(s.name, pl.from_arrow(array), dtype=pl.String)
    valid = s.is_not_null() if keep is None else keep & s.is_not_null()
    if valid.all():
        return text
    return pl.select(pl.when(valid).then(text)).to_series().alias(s.name)


@njit(cache=True, nogil=True, inline="always")
def _is_ascii(data: npt.NDArray[np.uint8], start: int, stop: int) -> bool:
    """Whether ``data[start:stop]`` holds ASCII bytes only (a loop: numba compiles no
    generator in ``all``)."""
    for i in range(start, stop):  # noqa: SIM110
        if data[i] >= 128:
            return False
    return True


def _verdict(s: pl.Series, out: npt.NDArray[np.int8]) -> pl.Series:
    result = pl.Series(s.name, out, dtype=pl.Int8)
    if s.null_count():
        result = pl.select(pl.when(s.is_not_null()).then(result)).to_series().alias(s.name)
    return result


def container_number_verdict(s: pl.Series) -> pl.Series:
    """Per value: ``VALID`` (1), ``INVALID`` (0), ``BLANK`` (2) or null, as Int8."""
    s = _as_string(s)
    offsets, data = _arrow_buffers(s)
    out = np.zeros(len(s), dtype=np.int8)
    _iso6346_kernel(offsets, data, ISO6346_LETTER_VALUES, out)
    return _verdict(s, out)


def imo_number_verdict(s: pl.Series) -> pl.Series:
    """Per value: ``VALID`` (1), ``INVALID`` (0), ``BLANK`` (2) or null, as Int8."""
    s = _as_string(s)
    offsets, data = _arrow_buffers(s)
    out = np.zeros(len(s), dtype=np.int8)
    _imo_kernel(offsets, data, out)
    return _verdict(s, out)


def awb_number_verdict(s: pl.Series) -> pl.Series:
    """Per value: ``VALID`` (1), ``INVALID`` (0), ``BLANK`` (2) or null, as Int8."""
    s = _as_string(s)
    offsets, data = _arrow_buffers(s)
    out = np.zeros(len(s), dtype=np.int8)
    _awb_kernel(offsets, data, out)
    return _verdict(s, out)


def container_number_valid(s: pl.Series) -> pl.Series:
    """ISO 6346 validity of each container number: format and check digit; null stays null.

    Valid means 3 owner letters, a category letter U, J or Z, 6 serial digits and the check
    digit, after ignoring whitespace and ``- . /`` and upper-casing ASCII letters.

    >>> container_number_valid(pl.Series(["CSQU3054383", "csqu 305438-3", "X", None])).to_list()
    [True, True, False, None]
    """
    return container_number_verdict(s) == VALID


def imo_number_valid(s: pl.Series) -> pl.Series:
    """IMO ship number validity: 7 digits, optional ``IMO`` prefix, check digit; null stays null.

    The check digit is ``sum(d_i * (7 - i) for the first six digits) % 10``. Company and
    registered-owner numbers use another scheme and are not ship numbers.

    >>> imo_number_valid(pl.Series(["IMO 9319466", "9319466", "8814274", None])).to_list()
    [True, True, False, None]
    """
    return imo_number_verdict(s) == VALID


def awb_number_valid(s: pl.Series) -> pl.Series:
    """IATA air waybill number validity: 11 digits, check digit = 7-digit serial mod 7.

    An AWB number is the 3-digit airline prefix, a 7-digit serial number and its check
    digit, the serial's remainder on division by 7 (so never 7, 8 or 9). Separators
    (whitespace, ``- . /``) are ignored: ``176-12345675`` reads as ``17612345675``.

    >>> awb = pl.Series(["176-12345675", "020 8114 0743", "17612345674", None])
    >>> awb_number_valid(awb).to_list()
    [True, True, False, None]
    """
    return awb_number_verdict(s) == VALID


# --------------------------------------------------------------------------------------
# Plain-Python statements of the same rules, for the tests only.
# --------------------------------------------------------------------------------------
def _normalise(value: str, separators: str) -> str:
    kept = (c for c in value if c not in separators)
    return "".join(chr(ord(c) - 32) if "a" <= c <= "z" else c for c in kept)


def _ref_letter_value(letter: str) -> int:
    """A=10, B=12, ...: count up from 10 over the alphabet, skipping multiples of 11."""
    value = 10
    for _ in range(ord(letter) - ord("A")):
        value += 1
        if value % 11 == 0:
            value += 1
    return value


def _ref_iso6346(value: str) -> bool:
    """Reference ISO 6346 check (see module docstring for the normalisation)."""
    code = _normalise(value, _CONTAINER_SEPARATORS)
    if len(code) != 11 or not code.isascii():
        return False
    letters, digits = code[:4], code[4:]
    if not (letters.isalpha() and letters.isupper() and digits.isdigit()):
        return False
    if letters[3] not in "UJZ":
        return False
    values = [_ref_letter_value(c) for c in letters]
    values += [int(d) for d in digits[:6]]
    total = sum(v << i for i, v in enumerate(values))
    return total % 11 % 10 == int(digits[6])


def _ref_imo(value: str) -> bool:
    """Reference IMO ship-number check (see module docstring for the normalisation)."""
    code = _normalise(value, _IMO_SEPARATORS)
    if code.startswith("IMO"):
        code = code[3:]
    if len(code) != 7 or not code.isascii() or not code.isdigit():
        return False
    return sum(int(d) * (7 - i) for i, d in enumerate(code[:6])) % 10 == int(code[6])


def _ref_awb(value: str) -> bool:
    """Reference IATA air waybill check (see :func:`awb_number_valid`)."""
    code = _normalise(value, _CONTAINER_SEPARATORS)
    if len(code) != 11 or not code.isascii() or not code.isdigit():
        return False
    return int(code[3:10]) % 7 == int(code[10])


@njit(cache=True, nogil=True)
def _first_occurrence_kernel(
    hashes: npt.NDArray[np.uint64], bits: int
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    # open addressing with linear probing; a slot holds a distinct hash and its number. The
    # table starts small and doubles when half full, so it stays near the distinct count
    # (a chunk that mostly repeats a few thousand values keeps its table in cache).
    mask = (1 << bits) - 1
    slot_hash = np.empty(1 << bits, dtype=np.uint64)
    slot_code = np.full(1 << bits, -1, dtype=np.int64)
    codes = np.empty(hashes.shape[0], dtype=np.uint32)
    first = np.empty(hashes.shape[0], dtype=np.int64)
    n = 0
    for row in range(hashes.shape[0]):
        h = hashes[row]
        slot = np.int64(h & np.uint64(mask))
        while True:
            code = slot_code[slot]
            if code == -1:
                slot_hash[slot] = h
                slot_code[slot] = n
                first[n] = row
                codes[row] = n
                n += 1
                break
            if slot_hash[slot] == h:
                codes[row] = code
                break
            slot = (slot + 1) & mask
        if 2 * n > mask:
            mask = 2 * mask + 1
            slot_hash = np.empty(mask + 1, dtype=np.uint64)
            slot_code = np.full(mask + 1, -1, dtype=np.int64)
            for code in range(n):
                h = hashes[first[code]]
                slot = np.int64(h & np.uint64(mask))
                while slot_code[slot] != -1:
                    slot = (slot + 1) & mask
                slot_hash[slot] = h
                slot_code[slot] = code
    return codes, first[:n]


def first_occurrence_codes(
    hashes: npt.NDArray[np.uint64],
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """Number the distinct hashes in order of first appearance.

    Returns each row's number (``codes``) and the row where each number first appears
    (``first``), so ``hashes[first][codes] == hashes``. Equal hashes get one number: the
    caller checks that the values behind them are equal too.
    """
    bits = max(4, min(2 * hashes.shape[0], 1 << 16).bit_length())
    return _first_occurrence_kernel(np.ascontiguousarray(hashes, dtype=np.uint64), bits)


@njit(cache=True, nogil=True)
def _simplify_ascii_kernel(
    offsets: npt.NDArray[np.int64],
    data: npt.NDArray[np.uint8],
    out_offsets: npt.NDArray[np.int64],
    out_data: npt.NDArray[np.uint8],
    ascii_only: npt.NDArray[np.bool_],
) -> int:
    pos = 0
    for row in range(offsets.shape[0] - 1):
        start = offsets[row]
        stop = offsets[row + 1]
        out_offsets[row] = pos
        ascii = _is_ascii(data, start, stop)
        ascii_only[row] = ascii
        if not ascii:
            continue
        row_start = pos
        gap = False
        for i in range(start, stop):
            byte = data[i]
            if 65 <= byte <= 90:  # A-Z
                byte += 32
            elif not (97 <= byte <= 122 or 48 <= byte <= 57):  # neither a-z nor 0-9
                gap = True
                continue
            if gap and pos > row_start:
                out_data[pos] = 32
                pos += 1
            gap = False
            out_data[pos] = byte
            pos += 1
    out_offsets[offsets.shape[0] - 1] = pos
    return pos


def simplify_ascii(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Lower case, each run of characters other than ``a-z``/``0-9`` -> one space, trimmed.

    For ASCII text that is what ``to_lowercase()``, ``replace_all(r"[^\\p{L}\\p{N}]+", " ")``
    and ``strip_chars()`` give (the only ASCII letters and digits are ``A-Za-z0-9``), in
    one pass without a regular expression. Returns the simplified text (null where ``s`` is
    null, and "" where a value holds a non-ASCII byte) and whether each value is ASCII.
    """
    s = _as_string(s)
    offsets, data = _arrow_buffers(s)
    out_offsets = np.empty(len(s) + 1, dtype=np.int64)
    out_data = np.empty(max(len(data), 1), dtype=np.uint8)
    ascii_only = np.empty(len(s), dtype=np.bool_)
    size = _simplify_ascii_kernel(offsets, data, out_offsets, out_data, ascii_only)
    simple = _text_result(s, out_offsets, out_data, size)
    return simple, pl.Series(s.name, ascii_only, dtype=pl.Boolean)


def sorted_token_keys(values: pl.Series, drop: Iterable[str]) -> pl.Series:
    """Per value: its words (split at each space) other than those in ``drop`` — all of them
    when every word is in ``drop`` — without repeats, sorted by their UTF-8 bytes and joined
    by one space; null stays null.

    What ``str.split(" ")``, a ``list.filter`` of the words not in ``drop`` (the whole list
    when none is left), ``list.unique()``, ``list.sort()`` and ``list.join(" ")`` give, in one
    pass over the bytes instead of five list operations (the party key of every new name).
    """
    s = _as_string(values)
    offsets, data = _arrow_buffers(s)
    words = sorted({w.encode("utf-8") for w in drop})
    drop_offsets = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum([len(w) for w in words], out=drop_offsets[1:])
    drop_data = np.frombuffer(b"".join(words), dtype=np.uint8) if words else np.empty(0, np.uint8)
    out_offsets = np.empty(len(s) + 1, dtype=np.int64)
    out_data = np.empty(max(len(data), 1), dtype=np.uint8)
    size = _sorted_tokens_kernel(offsets, data, drop_offsets, drop_data, out_offsets, out_data)
    return _text_result(s, out_offsets, out_data, size)


@njit(cache=True, nogil=True, inline="always")
def _bytes_less(data: npt.NDArray[np.uint8], a0: int, a1: int, b0: int, b1: int) -> int:
    """-1, 0 or 1 as ``data[a0:a1]`` sorts before, with or after ``data[b0:b1]``."""
    n = min(a1 - a0, b1 - b0)
    for k in range(n):
        x = data[a0 + k]
        y = data[b0 + k]
        if x != y:
            return -1 if x < y else 1
    if a1 - a0 == b1 - b0:
        return 0
    return -1 if a1 - a0 < b1 - b0 else 1


@njit(cache=True, nogil=True)
def _sorted_tokens_kernel(
    offsets: npt.NDArray[np.int64],
    data: npt.NDArray[np.uint8],
    drop_offsets: npt.NDArray[np.int64],
    drop_data: npt.NDArray[np.uint8],
    out_offsets: npt.NDArray[np.int64],
    out_data: npt.NDArray[np.uint8],
) -> int:
    n_rows = offsets.shape[0] - 1
    n_drop = drop_offsets.shape[0] - 1
    start = np.empty(16, dtype=np.int64)
    stop = np.empty(16, dtype=np.int64)
    chosen = np.empty(16, dtype=np.int64)
    pos = 0
    for row in range(n_rows):
        a = offsets[row]
        b = offsets[row + 1]
        out_offsets[row] = pos
        # words: the pieces between spaces (an empty piece where two spaces meet)
        n = 0
        i = a
        while True:
            j = i
            while j < b and data[j] != 32:
                j += 1
            if n == start.shape[0]:
                start = np.concatenate((start, np.empty(n, dtype=np.int64)))
                stop = np.concatenate((stop, np.empty(n, dtype=np.int64)))
                chosen = np.concatenate((chosen, np.empty(n, dtype=np.int64)))
            start[n] = i
            stop[n] = j
            n += 1
            if j >= b:
                break
            i = j + 1
        kept = 0
        for t in range(n):
            dropped = False
            for w in range(n_drop):
                w0 = drop_offsets[w]
                w1 = drop_offsets[w + 1]
                if w1 - w0 == stop[t] - start[t]:
                    same = True
                    for k in range(w1 - w0):
                        if drop_data[w0 + k] != data[start[t] + k]:
                            same = False
                            break
                    if same:
                        dropped = True
                        break
            if not dropped:
                chosen[kept] = t
                kept += 1
        if kept == 0:  # only dropped words: keep them all
            for t in range(n):
                chosen[t] = t
            kept = n
        # insertion sort of the chosen words by their bytes
        for x in range(1, kept):
            word = chosen[x]
            y = x - 1
            while (
                y >= 0
                and _bytes_less(data, start[word], stop[word], start[chosen[y]], stop[chosen[y]])
                < 0
            ):
                chosen[y + 1] = chosen[y]
                y -= 1
            chosen[y + 1] = word
        first = True
        previous = -1
        for x in range(kept):
            word = chosen[x]
            if previous >= 0 and (
                _bytes_less(data, start[word], stop[word], start[previous], stop[previous]) == 0
            ):
                continue  # a repeat
            if not first:
                out_data[pos] = 32
                pos += 1
            for k in range(start[word], stop[word]):
                out_data[pos] = data[k]
                pos += 1
            first = False
            previous = word
    out_offsets[n_rows] = pos
    return pos


def normalise_ascii_names(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """For ASCII text, what :func:`engine.parties.normalise_name` gives, in one pass: upper
    case, ``&`` as the word ``AND``, ``.``, ``'`` and the backtick dropped, every other run of
    characters but letters and digits one space, trimmed; null where nothing is left.

    (The name's normalisation form, mark removal and Cyrillic transliteration do nothing to
    ASCII text.) Returns the normalised text (null where ``values`` is null, and also where a
    value holds a non-ASCII byte) and whether each value is ASCII.
    """
    s = _as_string(values)
    offsets, data = _arrow_buffers(s)
    out_offsets = np.empty(len(s) + 1, dtype=np.int64)
    # "&" becomes " AND " (5 bytes for 1): room for the worst case
    out_data = np.empty(max(5 * len(data), 1), dtype=np.uint8)
    ascii_only = np.empty(len(s), dtype=np.bool_)
    empty = np.empty(len(s), dtype=np.bool_)
    size = _normalise_ascii_kernel(offsets, data, out_offsets, out_data, ascii_only, empty)
    normal = _text_result(s, out_offsets, out_data, size, keep=pl.Series(ascii_only & ~empty))
    return normal, pl.Series(s.name, ascii_only, dtype=pl.Boolean)


@njit(cache=True, nogil=True)
def _normalise_ascii_kernel(
    offsets: npt.NDArray[np.int64],
    data: npt.NDArray[np.uint8],
    out_offsets: npt.NDArray[np.int64],
    out_data: npt.NDArray[np.uint8],
    ascii_only: npt.NDArray[np.bool_],
    empty: npt.NDArray[np.bool_],
) -> int:
    pos = 0
    for row in range(offsets.shape[0] - 1):
        start = offsets[row]
        stop = offsets[row + 1]
        out_offsets[row] = pos
        ascii = _is_ascii(data, start, stop)
        ascii_only[row] = ascii
        empty[row] = True
        if not ascii:
            continue
        row_start = pos
        gap = False
        for i in range(start, stop):
            byte = data[i]
            if byte == 46 or byte == 39 or byte == 96:  # . ' ` are dropped
                continue
            if byte == 38:  # & reads as the word AND
                if pos > row_start:
                    out_data[pos] = 32
                    pos += 1
                out_data[pos] = 65
                out_data[pos + 1] = 78
                out_data[pos + 2] = 68
                pos += 3
                gap = True
                continue
            if 97 <= byte <= 122:  # a-z
                byte -= 32
            elif not (65 <= byte <= 90 or 48 <= byte <= 57):  # neither A-Z nor 0-9
                gap = True
                continue
            if gap and pos > row_start:
                out_data[pos] = 32
                pos += 1
            gap = False
            out_data[pos] = byte
            pos += 1
        empty[row] = pos == row_start
    out_offsets[offsets.shape[0] - 1] = pos
    return pos
