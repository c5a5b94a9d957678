"""Errors of the federation package; each maps to an HTTP status for the API."""

from __future__ import annotations

from engine.errors import Location, LookoutError


class FederationError(LookoutError):
    """Root of federation errors; ``status`` is the HTTP status the API answers with."""

    status = 400

    def __init__(
        self, message: str, *, location: Location | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, location=location, hint=hint)


class UnitConfigError(FederationError):
    """The unit identity, key files or partner directory are missing or malformed."""

    status = 503


class NotFound(FederationError):
    """No such query (in this unit)."""

    status = 404


class Forbidden(FederationError):
    """The caller may not do this to this query."""

    status = 403


class InvalidAddress(FederationError):
    """A recipient address names no known group, or expands to nobody or too many units."""

    status = 422


class InvalidTransition(FederationError):
    """A state change the state machine does not allow."""

    status = 409


class RejectedEnvelope(FederationError):
    """An inbound envelope failed verification; ``reason`` is a short machine code."""

    def __init__(self, reason: str, message: str, *, status: int, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.reason = reason
        self.status = status


class DeliveryError(FederationError):
    """A delivery attempt failed (network error, refusal, or a bad receipt)."""

    status = 502
