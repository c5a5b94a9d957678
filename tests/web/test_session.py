"""Signed session cookies and CSRF tokens."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from api.web._session import (
    SESSION_SECONDS,
    WebSession,
    csrf_token,
    csrf_valid,
    key_fingerprint,
    sign,
    unsign,
)

SECRET = "s" * 40


def test_sign_round_trip() -> None:
    value = sign(SECRET, {"k": "abc", "n": 3})
    assert unsign(SECRET, value) == {"k": "abc", "n": 3}


def test_altered_or_foreign_values_are_refused() -> None:
    value = sign(SECRET, {"k": "abc"})
    body, mac = value.split(".")
    forged = sign(SECRET, {"k": "admin"}).split(".")[0] + "." + mac
    assert unsign(SECRET, forged) is None
    assert unsign("another secret of enough length!!", value) is None
    for junk in ("", ".", "abc", "a.b", body + ".", "." + mac, "x" * 5000):
        assert unsign(SECRET, junk) is None


@given(st.text(max_size=300))
def test_unsign_never_raises(value: str) -> None:
    assert unsign(SECRET, value) is None or isinstance(unsign(SECRET, value), dict)


def test_session_expires() -> None:
    web = WebSession.new("key1", "fp", now=1000.0)
    cookie = web.encode(SECRET)
    assert WebSession.decode(SECRET, cookie, now=1000.0 + SESSION_SECONDS - 1) == web
    assert WebSession.decode(SECRET, cookie, now=1000.0 + SESSION_SECONDS + 1) is None


def test_sessions_get_distinct_ids_and_csrf_tokens() -> None:
    a, b = WebSession.new("key1", "fp"), WebSession.new("key1", "fp")
    assert a.session_id != b.session_id
    assert csrf_token(SECRET, a.session_id) != csrf_token(SECRET, b.session_id)


def test_csrf_token_checks() -> None:
    token = csrf_token(SECRET, "sid")
    assert csrf_valid(SECRET, "sid", token)
    assert not csrf_valid(SECRET, "other", token)
    assert not csrf_valid(SECRET, "sid", None)
    assert not csrf_valid(SECRET, "sid", "")
    assert not csrf_valid("x" * 40, "sid", token)


def test_fingerprint_binds_the_stored_key_hash() -> None:
    assert key_fingerprint(SECRET, "k", "aa") == key_fingerprint(SECRET, "k", "aa")
    assert key_fingerprint(SECRET, "k", "aa") != key_fingerprint(SECRET, "k", "ab")
    assert key_fingerprint(SECRET, "k", "aa") != key_fingerprint(SECRET, "j", "aa")
