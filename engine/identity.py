"""Content identity: the one place Lookout turns content into ids.

Every id is a SHA-256, written as 64 lowercase hex digits, never truncated when stored:

- **file id** (:func:`file_id`): the sha256 of a file's bytes. Name, folder and time stamps
  do not count — the same bytes anywhere are the same file.
- **batch id** (:func:`batch_identity`): the id of the input files scored, added to the
  history or trained on as one batch. For one file it is that file's id; for several, the
  sha256 of the line ``lookout batch`` followed by the sorted file ids, one a line. So the
  order the files are given in and their paths do not matter; their contents and how many
  copies of each do. ``lookout score``, ``lookout history add``, ``lookout model
  train/evaluate`` and the API all take it from here: the same files are the same batch
  whichever command reads them, and the history store holds each batch once.
- **fingerprint** (:func:`fingerprint`, :func:`json_fingerprint`): the sha256 of a config
  document or other content — rule pack and rule versions, scoring policy, dataset spec,
  model, reference tables, watchlists, training frame, history snapshot — recorded in run
  records and model cards so a run says exactly what it used.
- **short id** (:func:`short_id`): the first 12 hex digits, for people to read. Only shown,
  never stored or compared.

Ids written by earlier versions stay readable. Before this module a multi-file batch was the
sha256 of its files' bytes concatenated in order, ``lookout history add`` wrote
``sha256:`` + the sha256 of the files' raw digests, and model cards kept 16-digit data hashes;
:attr:`BatchIdentity.legacy` holds those ids of a batch, so stores, run records and cards
written then still match it. Policy, spec, model and training-data fingerprints were stored
as their first 16 hex digits: :func:`same_fingerprint` accepts such a prefix.

Not identity, and not here: API key secrets (``api/auth.py``), web session and CSRF MACs
(``api/web/_session.py``) and partner-message digests and signatures (``api/federation/``)
hash for security, each with its own fixed scheme.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

DISPLAY_CHARS = 12
"""Hex digits of a short id (display only)."""
LEGACY_FINGERPRINT_CHARS = 16
"""Length of the truncated fingerprints stored before this module (still accepted)."""
_BATCH_HEADER = "lookout batch\n"
_BLOCK = 1 << 20


def fingerprint(*parts: str | bytes) -> str:
    """The sha256 of ``parts`` concatenated (text as UTF-8), as 64 hex digits.

    >>> fingerprint("abc")
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    """
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8") if isinstance(part, str) else part)
    return digest.hexdigest()


def canonical_json(value: Any) -> str:
    """Stable JSON text of ``value`` (sorted keys, no spaces, dates as ISO text)."""
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"), ensure_ascii=False)


def json_fingerprint(value: Any) -> str:
    """The fingerprint of ``value``'s :func:`canonical_json` text."""
    return fingerprint(canonical_json(value))


def frame_fingerprint(frame: pl.DataFrame) -> str:
    """A fingerprint of a frame's column names and row values (polars' row hashes).

    Stable for one polars version; use file or batch ids where the data came from files.
    """
    return fingerprint(",".join(frame.columns), frame.hash_rows(seed=0).to_numpy().tobytes())


def file_id(path: Path) -> str:
    """The sha256 of a file's bytes, read in 1 MiB blocks (constant memory)."""
    with Path(path).open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def batch_id(file_ids: Sequence[str]) -> str:
    """The batch id of files with these ids (see the module docstring)."""
    if not file_ids:
        raise ValueError("a batch has at least one file")
    if len(file_ids) == 1:
        return file_ids[0]
    return fingerprint(_BATCH_HEADER, *(f"{f}\n" for f in sorted(file_ids)))


@dataclass(frozen=True)
class BatchIdentity:
    """Who a batch of input files is: its id, its files' ids and its ids of old.

    ``bytes_sha256`` is the sha256 of the files' bytes concatenated in the order given (the
    batch id before this module; equal to ``id`` for one file), kept in run records for the
    readers of older ones.
    """

    id: str
    file_ids: tuple[str, ...]
    bytes_sha256: str

    @property
    def legacy(self) -> frozenset[str]:
        """Ids earlier versions gave the same files, which stores and cards may still hold."""
        ids = {self.bytes_sha256}
        if self.file_ids:
            raw = b"".join(bytes.fromhex(f) for f in self.file_ids)
            ids.add("sha256:" + fingerprint(raw))  # `lookout history add`
            ids.add(fingerprint(*self.file_ids)[:LEGACY_FINGERPRINT_CHARS])  # model data hash
        return frozenset(ids - {self.id})

    @property
    def ids(self) -> frozenset[str]:
        """The id and every legacy id: what a stored batch id is matched against."""
        return self.legacy | {self.id}

    def short(self) -> str:
        """The id for people to read."""
        return short_id(self.id)

    def to_record(self) -> dict[str, Any]:
        """The run record's ``input`` fields for this batch."""
        return {
            "batch_id": self.id,
            "file_sha256": list(self.file_ids),
            "sha256": self.bytes_sha256,
        }

    @classmethod
    def from_record(cls, fields: Mapping[str, Any]) -> BatchIdentity:
        """The identity a run record's ``input`` section describes, old records included.

        A record written before batch ids had only ``sha256`` — the batch id of its time.
        """
        if "batch_id" not in fields:
            legacy = str(fields["sha256"])
            return cls(id=legacy, file_ids=(), bytes_sha256=legacy)
        return cls(
            id=str(fields["batch_id"]),
            file_ids=tuple(str(f) for f in fields.get("file_sha256", ())),
            bytes_sha256=str(fields.get("sha256", fields["batch_id"])),
        )


def batch_identity(paths: Sequence[Path]) -> BatchIdentity:
    """The identity of the batch made of ``paths``, reading each file once."""
    if not paths:
        raise ValueError("a batch has at least one file")
    stream = hashlib.sha256() if len(paths) > 1 else None
    file_ids: list[str] = []
    for path in paths:
        digest = hashlib.sha256()
        with Path(path).open("rb") as fh:
            while block := fh.read(_BLOCK):
                digest.update(block)
                if stream is not None:
                    stream.update(block)
        file_ids.append(digest.hexdigest())
    return BatchIdentity(
        id=batch_id(file_ids),
        file_ids=tuple(file_ids),
        bytes_sha256=file_ids[0] if stream is None else stream.hexdigest(),
    )


def short_id(value: str) -> str:
    """The first :data:`DISPLAY_CHARS` hex digits of an id (a ``sha256:`` prefix dropped).

    Not a hex id (a batch name such as ``2025-03-01``) is shown whole.
    """
    text = value.removeprefix("sha256:")
    if len(text) > DISPLAY_CHARS and all(c in "0123456789abcdef" for c in text):
        return text[:DISPLAY_CHARS]
    return value


def same_fingerprint(stored: str, current: str) -> bool:
    """Whether a stored fingerprint names the same content as ``current`` (64 hex digits).

    A stored value may be a legacy 16-digit prefix (policy, spec, model and training-data
    hashes written before fingerprints were kept whole).
    """
    if len(stored) == LEGACY_FINGERPRINT_CHARS:
        return current.startswith(stored)
    return stored == current


__all__ = [
    "DISPLAY_CHARS",
    "LEGACY_FINGERPRINT_CHARS",
    "BatchIdentity",
    "batch_id",
    "batch_identity",
    "canonical_json",
    "file_id",
    "fingerprint",
    "frame_fingerprint",
    "json_fingerprint",
    "same_fingerprint",
    "short_id",
]
