"""Signed session cookies and CSRF tokens (stdlib ``hmac``; no server-side session table).

The cookie carries the API key *id* (never its secret), a fingerprint binding it to the key's
stored hash, a random session id and an expiry, signed with HMAC-SHA256 under a key derived
from ``Settings.secret_key``. Revoking the API key ends every session signed in with it.
CSRF tokens are HMACs of the session id, so they need no storage either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

SESSION_COOKIE = "lookout_session"
SIGNIN_COOKIE = "lookout_signin"
SESSION_SECONDS = 12 * 3600
SIGNIN_SECONDS = 15 * 60


def _derive(secret: str, purpose: str) -> bytes:
    # A separate key per purpose, so a value signed for one use is never valid for another.
    return hmac.new(secret.encode(), f"lookout-web:{purpose}".encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: str, payload: dict[str, object]) -> str:
    """``payload`` as ``<base64 json>.<base64 hmac>``."""
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(_derive(secret, "cookie"), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def unsign(secret: str, value: str) -> dict[str, object] | None:
    """The payload of a value made by ``sign``, or None if it was altered or is malformed."""
    body, dot, mac = value.partition(".")
    if not dot or not body or not mac or len(value) > 4096:
        return None
    expected = hmac.new(_derive(secret, "cookie"), body.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(mac), expected):
            return None
        data = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def key_fingerprint(secret: str, key_id: str, secret_sha256: str) -> str:
    """Binds a session to one API key as stored now (a re-issued key id would not match)."""
    text = f"{key_id}|{secret_sha256}".encode()
    return _b64(hmac.new(_derive(secret, "key"), text, hashlib.sha256).digest()[:18])


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser: which key, which session id, until when."""

    key_id: str
    fingerprint: str
    session_id: str
    expires_at: float

    def encode(self, secret: str) -> str:
        """The cookie value."""
        return sign(
            secret,
            {"k": self.key_id, "f": self.fingerprint, "s": self.session_id, "e": self.expires_at},
        )

    @classmethod
    def new(cls, key_id: str, fingerprint: str, *, now: float | None = None) -> WebSession:
        """A fresh session (new random id, so a new CSRF token) for ``key_id``."""
        now = time.time() if now is None else now
        return cls(key_id, fingerprint, secrets.token_urlsafe(18), now + SESSION_SECONDS)

    @classmethod
    def decode(cls, secret: str, value: str, *, now: float | None = None) -> WebSession | None:
        """The session in a cookie value, or None if forged, malformed or expired."""
        data = unsign(secret, value)
        if data is None:
            return None
        key_id, fingerprint, session_id, expires = (
            data.get("k"),
            data.get("f"),
            data.get("s"),
            data.get("e"),
        )
        if not (
            isinstance(key_id, str)
            and isinstance(fingerprint, str)
            and isinstance(session_id, str)
            and isinstance(expires, int | float)
        ):
            return None
        if expires < (time.time() if now is None else now):
            return None
        return cls(key_id, fingerprint, session_id, float(expires))


def csrf_token(secret: str, session_id: str) -> str:
    """The CSRF token of a session (or of a sign-in nonce)."""
    return _b64(hmac.new(_derive(secret, "csrf"), session_id.encode(), hashlib.sha256).digest())


def csrf_valid(secret: str, session_id: str, token: str | None) -> bool:
    """True if ``token`` is the CSRF token of ``session_id`` (constant-time)."""
    if not token:
        return False
    return hmac.compare_digest(csrf_token(secret, session_id), token)


def new_nonce() -> str:
    """A random value for the pre-sign-in cookie."""
    return secrets.token_urlsafe(18)
