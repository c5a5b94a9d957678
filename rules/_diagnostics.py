"""Diagnostics of a rule pack: the engine's document diagnostics and the pack's error."""

from __future__ import annotations

from collections.abc import Iterable

from engine.documents import Collector, Diagnostic, Severity, did_you_mean
from engine.errors import LookoutError

__all__ = ["Collector", "Diagnostic", "RulePackError", "Severity", "did_you_mean"]


class RulePackError(LookoutError):
    """A rule pack cannot be loaded or compiled; carries every diagnostic found."""

    def __init__(self, diagnostics: Iterable[Diagnostic], *, summary: str | None = None):
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        errors = [d for d in self.diagnostics if d.is_error]
        first = errors[0] if errors else (self.diagnostics[0] if self.diagnostics else None)
        message = summary or f"rule pack has {len(errors)} error(s)"
        super().__init__(
            message,
            location=first.location() if first else None,
            hint="run `lookout rules check` on the pack to see every problem",
        )

    def __str__(self) -> str:
        body = "\n".join(d.render() for d in self.diagnostics)
        return f"{self.message}\n{body}" if body else self.message
