"""One error root for the engine, each error carrying where it happened and what to do."""

from __future__ import annotations

import errno
from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file, and optionally line/column, record number and field."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    record: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        return self.describe()

    def describe(self, record: str = "record {n}", field: str = "field '{name}'") -> str:
        """``file:line:col, record 7, field 'x'``; ``record`` and ``field`` are the words
        around the record number and the field name (another language's, say)."""
        parts: list[str] = []
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            parts.append(where)
        if self.record is not None:
            parts.append(record.format(n=self.record))
        if self.field:
            parts.append(field.format(name=self.field))
        return ", ".join(parts)


class LookoutError(Exception):
    """Root of every error Lookout reports to a user.

    The message says what is wrong; ``location`` says where; ``hint`` says what to do.
    ``str(err)`` renders all three on one or two lines, ready for a terminal.
    """

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class SpecError(LookoutError):
    """A dataset spec is malformed or does not fit the data."""


class IngestError(LookoutError):
    """An input file cannot be read at all (no rows could be scored)."""


class ReferenceDataError(LookoutError):
    """Shipped or user-supplied reference data is missing or malformed."""


class PipelineError(LookoutError):
    """A scoring run cannot proceed (e.g. the data lacks what a stage needs)."""


_FILE_ERRNOS = frozenset(
    {
        errno.ENOSPC,  # no space left on the device
        errno.EDQUOT,  # over the disk quota
        errno.EROFS,  # a read-only file system
        errno.EACCES,
        errno.EPERM,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.ENOENT,
        errno.EEXIST,
        errno.ENAMETOOLONG,
        errno.EMFILE,  # too many open files
        errno.EIO,
    }
)


def refused_file(err: OSError) -> bool:
    """Whether ``err`` is the system refusing a file or folder (a full disk, an output
    folder under a file or without write permission), not a connection or a timeout: an
    error to report with its path, not a bug."""
    if isinstance(err, (ConnectionError, TimeoutError)):
        return False
    return err.filename is not None or err.errno in _FILE_ERRNOS


def refused_path(err: OSError) -> str | None:
    """The file or folder ``err`` names (``a -> b`` for a rename), None if it names none."""
    if err.filename is None:
        return None
    return str(err.filename) + (f" -> {err.filename2}" if err.filename2 else "")
