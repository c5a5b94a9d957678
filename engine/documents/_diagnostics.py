"""Diagnostics: every problem in a document, with where it is and what to do about it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from engine.errors import Location

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Diagnostic:
    """One finding of a document check (YAML, shape, or the owner's own checks).

    ``line`` and ``col`` are 1-based. ``render()`` gives the compiler-style text:
    ``file:line:col: error: message``, the offending source line, a caret and the hint.
    """

    file: str
    line: int
    col: int
    severity: Severity
    message: str
    hint: str | None = None
    source_line: str | None = field(default=None, compare=False)

    @property
    def is_error(self) -> bool:
        """True for errors (warnings do not stop a document from loading)."""
        return self.severity == "error"

    def location(self) -> Location:
        """The engine's Location for this diagnostic."""
        return Location(file=self.file, line=self.line, column=self.col)

    def render(self) -> str:
        """Compiler-style text: position, severity, message, source line, caret, hint."""
        text = f"{self.file}:{self.line}:{self.col}: {self.severity}: {self.message}"
        source = (
            self.source_line if self.source_line is not None else _source_line(self.file, self.line)
        )
        if source is not None:
            text += f"\n    {source}\n    {' ' * max(self.col - 1, 0)}^"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.render()


@lru_cache(maxsize=64)
def _file_lines(file: str) -> tuple[str, ...]:
    try:
        return tuple(Path(file).read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        return ()


def _source_line(file: str, line: int) -> str | None:
    lines = _file_lines(file)
    if 1 <= line <= len(lines):
        return lines[line - 1].rstrip()
    return None


class Collector:
    """Accumulates diagnostics so that a check reports every problem, not only the first."""

    def __init__(self, lines_by_file: dict[str, list[str]] | None = None) -> None:
        self.items: list[Diagnostic] = []
        self._lines = lines_by_file if lines_by_file is not None else {}

    def add_source(self, file: str, text: str) -> None:
        """Remember a file's text so diagnostics can quote it without re-reading."""
        self._lines[file] = text.splitlines()

    def _line(self, file: str, line: int) -> str | None:
        lines = self._lines.get(file)
        if lines is None:
            return _source_line(file, line)
        return lines[line - 1].rstrip() if 1 <= line <= len(lines) else None

    def error(self, file: str, line: int, col: int, message: str, hint: str | None = None) -> None:
        """Record an error (the document will not load)."""
        self.items.append(
            Diagnostic(file, line, col, "error", message, hint, self._line(file, line))
        )

    def warning(
        self, file: str, line: int, col: int, message: str, hint: str | None = None
    ) -> None:
        """Record a warning (reported, the document still loads)."""
        self.items.append(
            Diagnostic(file, line, col, "warning", message, hint, self._line(file, line))
        )

    @property
    def errors(self) -> list[Diagnostic]:
        """The errors recorded so far."""
        return [d for d in self.items if d.is_error]


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A 'did you mean ...?' hint for a misspelt name, or None when nothing is close."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not close:
        return None
    if len(close) == 1:
        return f"did you mean '{close[0]}'?"
    return "did you mean one of: " + ", ".join(f"'{c}'" for c in close) + "?"
