"""Parquet files joined by copying their column chunks, without decoding a value.

A batch too large to hold in memory is scored into scratch parts (:mod:`engine._parts`),
written in the output's own encoding (zstd level 1, column statistics). ``scored`` is
those rows plus a few columns known only once the whole batch is scored (the selection, the
model's reasons, the row's position in the batch). :func:`stitch` makes the output file
from the parts and small files holding those few columns (one row group per part, the same
rows): it copies every file's encoded bytes as they are, then writes one footer naming each
row group's column chunks where they now lie. Encoding the whole batch a second time is
what this saves (at 10M rows, tens of CPU seconds).

The footer is Thrift's compact encoding (the Parquet format's ``FileMetaData``). It is
decoded into a generic tree that keeps every field as read (:func:`decode`), so encoding it
again gives the same bytes (:func:`encode`, checked for every source); only the byte offsets
of the copied chunks, and the row groups' totals, are changed. The schema, the Arrow schema
entry and the column orders are those polars writes for the output's schema (an empty frame
written the classic way), and every copied column's schema elements must equal them: a
source that differs in any way makes :func:`stitch` return False, and the caller writes the
file the usual way.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from engine._footer import MAGIC, footer_bytes, read_footer_bytes

# Thrift compact protocol type ids
_TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)

# Parquet FileMetaData field ids used here (parquet.thrift)
_FMD_NUM_ROWS, _FMD_ROW_GROUPS, _FMD_SCHEMA = 3, 4, 2
_RG_COLUMNS, _RG_TOTAL_BYTE_SIZE, _RG_NUM_ROWS = 1, 2, 3
_RG_FILE_OFFSET, _RG_TOTAL_COMPRESSED, _RG_ORDINAL = 5, 6, 7
_CC_META = 3
_CC_OFFSETS = (2, 4, 6)  # file_offset, offset_index_offset, column_index_offset
_CMD_PATH, _CMD_UNCOMPRESSED, _CMD_COMPRESSED = 3, 6, 7
_CMD_DATA_PAGE, _CMD_DICT_PAGE = 9, 11
_CMD_OFFSETS = (9, 10, 11, 14)  # data, index, dictionary page; bloom filter
_SE_NAME, _SE_NUM_CHILDREN = 4, 5


class FooterError(ValueError):
    """A Parquet footer this module does not read (the caller writes the file instead)."""


@dataclass
class Struct:
    """A Thrift struct as read: its fields in order, each ``[field id, type, value]``
    (a boolean's value is its type)."""

    fields: list[list[object]] = field(default_factory=list)

    def get(self, fid: int, default: object = None) -> object:
        for f in self.fields:
            if f[0] == fid:
                return f[2]
        return default

    def set(self, fid: int, kind: int, value: object) -> None:
        """Set field ``fid``, keeping the fields in id order (as writers emit them)."""
        for f in self.fields:
            if f[0] == fid:
                f[1], f[2] = kind, value
                return
        self.fields.append([fid, kind, value])
        self.fields.sort(key=lambda f: f[0])  # type: ignore[arg-type,return-value]


@dataclass
class List:
    """A Thrift list (or set: the field's type says which): its element type and elements."""

    kind: int
    items: list[object]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise FooterError("footer ends inside a value")
        b = self.data[self.at]
        self.at += 1
        return b

    def varint(self) -> int:
        value = shift = 0
        while True:
            b = self.byte()
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
            if shift > 70:
                raise FooterError("varint too long")

    def zigzag(self) -> int:
        v = self.varint()
        return (v >> 1) ^ -(v & 1)

    def value(self, kind: int, depth: int) -> object:
        if depth > 64:
            raise FooterError("footer nested too deep")
        if kind == _BYTE:
            b = self.byte()
            return b - 256 if b > 127 else b
        if kind in (_I16, _I32, _I64):
            return self.zigzag()
        if kind == _DOUBLE:
            if self.at + 8 > len(self.data):
                raise FooterError("footer ends inside a value")
            (v,) = struct.unpack_from("<d", self.data, self.at)
            self.at += 8
            return v
        if kind == _BINARY:
            n = self.varint()
            if self.at + n > len(self.data):
                raise FooterError("footer ends inside a value")
            v = self.data[self.at : self.at + n]
            self.at += n
            return v
        if kind in (_LIST, _SET):
            header = self.byte()
            size, elem = header >> 4, header & 0x0F
            if size == 15:
                size = self.varint()
            if elem in (_TRUE, _FALSE):  # booleans in a list: one byte each, kept as read
                items: list[object] = [self.byte() for _ in range(size)]
            else:
                items = [self.value(elem, depth + 1) for _ in range(size)]
            return List(elem, items)
        if kind == _STRUCT:
            return self.struct(depth + 1)
        raise FooterError(f"Thrift type {kind} not read here")

    def struct(self, depth: int = 0) -> Struct:
        if depth > 64:
            raise FooterError("footer nested too deep")
        out = Struct()
        last = 0
        while True:
            header = self.byte()
            if header == 0:
                return out
            delta, kind = header >> 4, header & 0x0F
            fid = last + delta if delta else self.zigzag()
            value = None if kind in (_TRUE, _FALSE) else self.value(kind, depth)
            out.fields.append([fid, kind, value])
            last = fid


def decode(footer: bytes) -> Struct:
    """The Thrift struct of a Parquet footer (``FileMetaData``); FooterError if it is not
    one this module reads, or has bytes left over."""
    reader = _Reader(footer)
    try:
        meta = reader.struct()
    except IndexError as exc:  # pragma: no cover - every read is bounds-checked
        raise FooterError("footer ends inside a value") from exc
    if reader.at != len(footer):
        raise FooterError("bytes after the footer's struct")
    return meta


def _varint(out: bytearray, v: int) -> None:
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return


def _zigzag(out: bytearray, v: int) -> None:
    _varint(out, (v << 1) ^ (v >> 63) if v < 0 else v << 1)


def _value(out: bytearray, kind: int, value: object) -> None:
    if kind == _BYTE:
        out.append(int(value) & 0xFF)  # type: ignore[call-overload]
    elif kind in (_I16, _I32, _I64):
        _zigzag(out, int(value))  # type: ignore[call-overload]
    elif kind == _DOUBLE:
        out += struct.pack("<d", value)
    elif kind == _BINARY:
        assert isinstance(value, bytes)
        _varint(out, len(value))
        out += value
    elif kind in (_LIST, _SET):
        assert isinstance(value, List)
        size = len(value.items)
        if size < 15:
            out.append(size << 4 | value.kind)
        else:
            out.append(0xF0 | value.kind)
            _varint(out, size)
        for item in value.items:
            if value.kind in (_TRUE, _FALSE):
                out.append(int(item))  # type: ignore[call-overload]
            else:
                _value(out, value.kind, item)
    elif kind == _STRUCT:
        assert isinstance(value, Struct)
        _struct(out, value)
    else:
        raise FooterError(f"Thrift type {kind} not written here")


def _struct(out: bytearray, value: Struct) -> None:
    last = 0
    for fid, kind, v in value.fields:
        assert isinstance(fid, int) and isinstance(kind, int)
        delta = fid - last
        if 0 < delta <= 15:
            out.append(delta << 4 | kind)
        else:
            out.append(kind)
            _zigzag(out, fid)
        if kind not in (_TRUE, _FALSE):
            _value(out, kind, v)
        last = fid
    out.append(0)


def encode(meta: Struct) -> bytes:
    """The compact encoding of ``meta`` (the inverse of :func:`decode`)."""
    out = bytearray()
    _struct(out, meta)
    return bytes(out)


@dataclass
class _Source:
    """One Parquet file to copy: its path, its data's length and its decoded footer."""

    path: Path
    data_end: int  # the footer starts here; the data is bytes [4, data_end)
    meta: Struct


def read_footer(path: Path) -> _Source:
    """The decoded footer of the Parquet file ``path``; FooterError if it is not a plain
    Parquet file whose footer this module reads back to the same bytes."""
    with path.open("rb") as fh:
        found = read_footer_bytes(fh)
    if found is None:
        raise FooterError(f"{path}: not a Parquet file (or an encrypted one)")
    start, footer = found
    return _Source(path, start, _decoded(footer, str(path)))


def footer_of(data: bytes) -> Struct:
    """The decoded footer of a whole Parquet file held in memory."""
    footer = footer_bytes(data)
    if not footer:
        raise FooterError("not Parquet")
    return _decoded(footer, "a file in memory")


def _decoded(footer: bytes, where: str) -> Struct:
    """``footer`` decoded, refused unless it encodes back to the same bytes."""
    meta = decode(footer)
    if encode(meta) != footer:
        raise FooterError(f"{where}: footer not read back to the same bytes")
    return meta


def _as_struct(value: object) -> Struct:
    if not isinstance(value, Struct):
        raise FooterError("expected a struct")
    return value


def _as_int(value: object) -> int:
    if not isinstance(value, int):
        raise FooterError("expected an integer")
    return value


def _items(value: object) -> list[object]:
    if not isinstance(value, List):
        raise FooterError("expected a list")
    return value.items


def _columns(schema: list[object]) -> list[tuple[str, list[str], bytes]]:
    """Per top-level column of a flat ``SchemaElement`` list (root first): its name, the
    paths of its leaves, and the encoded elements of its subtree (for comparison)."""
    if not schema or not isinstance(schema[0], Struct):
        raise FooterError("empty schema")
    out: list[tuple[str, list[str], bytes]] = []
    at = 1

    def walk(prefix: list[str]) -> tuple[list[list[str]], bytearray]:
        nonlocal at
        if at >= len(schema):
            raise FooterError("schema ends inside a group")
        element = _as_struct(schema[at])
        at += 1
        name = element.get(_SE_NAME)
        if not isinstance(name, bytes):
            raise FooterError("schema element without a name")
        path = [*prefix, name.decode("utf-8", "replace")]
        encoded = bytearray()
        _struct(encoded, element)
        children = _as_int(element.get(_SE_NUM_CHILDREN) or 0)
        if not children:
            return [path], encoded
        leaves: list[list[str]] = []
        for _ in range(children):
            sub_leaves, sub = walk(path)
            leaves += sub_leaves
            encoded += sub
        return leaves, encoded

    root = _as_struct(schema[0])
    for _ in range(_as_int(root.get(_SE_NUM_CHILDREN) or 0)):
        leaves, encoded = walk([])
        out.append((leaves[0][0], [".".join(p) for p in leaves], bytes(encoded)))
    if at != len(schema):
        raise FooterError("schema elements left over")
    return out


def _path(chunk: Struct) -> str:
    meta = chunk.get(_CC_META)
    if not isinstance(meta, Struct):
        raise FooterError("column chunk without its metadata (in another file?)")
    parts = _items(meta.get(_CMD_PATH))
    return ".".join(p.decode("utf-8", "replace") for p in parts if isinstance(p, bytes))


def _shifted(chunk: Struct, delta: int) -> Struct:
    """A copy of the column chunk with every byte offset moved by ``delta``."""
    meta = _as_struct(chunk.get(_CC_META))
    if chunk.get(1) is not None:  # file_path: the chunk lies in another file
        raise FooterError("column chunk stored in another file")
    new_meta = Struct(
        [[f, k, _moved(v, delta) if f in _CMD_OFFSETS else v] for f, k, v in meta.fields]
    )
    return Struct(
        [
            [f, k, new_meta if f == _CC_META else (_moved(v, delta) if f in _CC_OFFSETS else v)]
            for f, k, v in chunk.fields
        ]
    )


def stitch(pieces: list[list[Path]], target: Path, template: Struct) -> bool:
    """Write ``target``: for each piece (in order), the row groups of its files side by
    side — row group *i* of every file of a piece holds the same rows, and together the
    files hold every column of ``template`` (the footer polars writes for the output's
    schema); where two files of a piece hold the same column, the later one's is taken.

    Returns False, having written nothing, when a source cannot be stitched (a footer not
    read here, row groups that differ in rows, a column missing or not stored exactly as
    the template's schema says); the caller then writes the file the usual way."""
    try:
        sources = [[read_footer(p) for p in piece] for piece in pieces]
        wanted = _columns(_items(template.get(_FMD_SCHEMA)))
        wanted_leaves = [leaf for _, leaves, _ in wanted for leaf in leaves]
        plan: list[list[tuple[int, int]]] = []  # per piece: (file, leaf's chunk no) per leaf
        for piece in sources:
            # top-level column -> (file, its leaves, its encoded schema, leaf -> chunk no)
            owner: dict[str, tuple[int, list[str], bytes, dict[str, int]]] = {}
            for number, src in enumerate(piece):
                columns = _columns(_items(src.meta.get(_FMD_SCHEMA)))
                leaf_at = {
                    leaf: at for at, leaf in enumerate(x for _, ls, _ in columns for x in ls)
                }
                for name, leaves, encoded in columns:
                    owner[name] = (number, leaves, encoded, leaf_at)
            groups = [_items(src.meta.get(_FMD_ROW_GROUPS)) for src in piece]
            if len({len(g) for g in groups}) != 1:
                return False
            for at_group in range(len(groups[0])):
                if len({_as_struct(g[at_group]).get(_RG_NUM_ROWS) for g in groups}) != 1:
                    return False
            choice: list[tuple[int, int]] = []
            for name, leaves, encoded in wanted:
                found = owner.get(name)
                if found is None or found[1] != leaves or found[2] != encoded:
                    return False
                choice += [(found[0], found[3][leaf]) for leaf in leaves]
            plan.append(choice)

        # The footer first, from where each file's data will lie (they are copied one after
        # the other, after the magic number): nothing is written unless all of it holds.
        row_groups: list[object] = []
        num_rows = 0
        at = len(MAGIC)
        for piece, choice in zip(sources, plan, strict=True):
            deltas = []
            for src in piece:
                deltas.append(at - len(MAGIC))
                at += src.data_end - len(MAGIC)
            groups = [_items(src.meta.get(_FMD_ROW_GROUPS)) for src in piece]
            for at_group in range(len(groups[0])):
                chunks: list[Struct] = []
                for (number, leaf_no), leaf in zip(choice, wanted_leaves, strict=True):
                    group = _as_struct(groups[number][at_group])
                    chunk = _as_struct(_items(group.get(_RG_COLUMNS))[leaf_no])
                    if _path(chunk) != leaf:
                        return False
                    chunks.append(_shifted(chunk, deltas[number]))
                rows = _as_int(_as_struct(groups[0][at_group]).get(_RG_NUM_ROWS))
                row_groups.append(_row_group(chunks, rows, len(row_groups)))
                num_rows += rows
        meta = Struct([list(f) for f in template.fields])
        meta.set(_FMD_NUM_ROWS, _I64, num_rows)
        meta.set(_FMD_ROW_GROUPS, _LIST, List(_STRUCT, row_groups))
        footer = encode(meta)
    except (FooterError, IndexError):
        return False

    tmp = target.with_name(target.name + ".stitching")
    try:
        with tmp.open("wb") as out:
            out.write(MAGIC)
            for piece in sources:
                for src in piece:
                    _copy(src.path, out, src.data_end)
            if out.tell() != at:
                raise OSError(f"{target}: the copied data is not the length the footer says")
            out.write(footer)
            out.write(len(footer).to_bytes(4, "little"))
            out.write(MAGIC)
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return True


def _row_group(chunks: list[Struct], rows: int, ordinal: int) -> Struct:
    metas = [_as_struct(c.get(_CC_META)) for c in chunks]
    starts = [_as_int(m.get(_CMD_DICT_PAGE) or m.get(_CMD_DATA_PAGE)) for m in metas]
    return Struct(
        [
            [_RG_COLUMNS, _LIST, List(_STRUCT, list(chunks))],
            [_RG_TOTAL_BYTE_SIZE, _I64, sum(_as_int(m.get(_CMD_UNCOMPRESSED)) for m in metas)],
            [_RG_NUM_ROWS, _I64, rows],
            [_RG_FILE_OFFSET, _I64, min(starts)],
            [_RG_TOTAL_COMPRESSED, _I64, sum(_as_int(m.get(_CMD_COMPRESSED)) for m in metas)],
            [_RG_ORDINAL, _I16, ordinal],
        ]
    )


def _moved(value: object, delta: int) -> object:
    """A byte offset moved by ``delta`` (an offset of 0 means none, and stays 0)."""
    return value + delta if isinstance(value, int) and value else value


def _copy(path: Path, out: io.BufferedWriter, end: int) -> None:
    """Bytes [4, end) of ``path`` appended to ``out`` (in the kernel where it can)."""
    out.flush()
    with path.open("rb") as src:
        left, at = end - 4, 4
        try:
            while left > 0:
                n = os.copy_file_range(src.fileno(), out.fileno(), left, at)
                if n <= 0:
                    break
                at += n
                left -= n
        except OSError:
            pass  # not supported here: copied through Python below
        if left > 0:
            src.seek(at)
            while left > 0:
                block = src.read(min(left, 1 << 24))
                if not block:
                    raise OSError(f"{path} ended early")
                out.write(block)
                left -= len(block)
    out.seek(0, io.SEEK_END)
