"""The demo generator's error (its own module so every generator module can raise it)."""

from __future__ import annotations

from engine.errors import LookoutError


class GeneratorError(LookoutError):
    """The demo generator was asked for something it cannot make."""
