"""Per-unit API keys and role checks.

A key reads ``lk_<key_id>_<secret>``. The database keeps the key id and the SHA-256 of the
secret only (the secret has 256 bits of entropy, so a slow hash adds nothing); comparison is
constant-time. Roles are ordered: viewer < analyst < rule_author < admin, and a route that
requires a role admits that role and every higher one.

Routes declare what they need as nouns::

    def list_batches(principal: CurrentKey, session: SessionDep) -> ...
    def record(principal: Annotated[Principal, Depends(require_role("analyst"))]) -> ...
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal, get_args

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.db import utcnow
from api.i18n import LOCALES, gettext, set_locale
from api.problems import ProblemException
from api.tables import ApiKey

Role = Literal["viewer", "analyst", "rule_author", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
_RANK: dict[str, int] = {role: rank for rank, role in enumerate(ROLES)}
KEY_PREFIX = "lk_"
_TOUCH_EVERY = timedelta(minutes=5)
log = logging.getLogger("lookout.api.auth")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key, its unit and its role."""

    key_id: str
    unit_id: str
    role: Role
    name: str = ""
    language: str | None = None
    """The key's default language (``en``, ``ru``), used when a request does not choose."""

    def has_role(self, role: Role) -> bool:
        """True if this principal's role is ``role`` or above."""
        return _RANK[self.role] >= _RANK[role]


def get_session(request: Request) -> Iterator[Session]:
    """A database session for one request; routes and services commit explicitly."""
    with request.app.state.lookout.sessions() as session:
        yield session


def get_read_session(request: Request) -> Iterator[Session]:
    """A session for routes that only read (on SQLite a deferred transaction, which in WAL
    mode neither waits for writers nor blocks them). Never write through it."""
    with request.app.state.lookout.read_sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
"""The request's session for routes that write."""
ReadSessionDep = Annotated[Session, Depends(get_read_session)]
"""The request's session for routes that only read."""


def hash_secret(secret: str) -> str:
    """The stored form of a key secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_key(token: str) -> tuple[str, str] | None:
    """Split ``lk_<key_id>_<secret>`` into its parts, or None if it is not shaped so."""
    if not token.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = token[len(KEY_PREFIX) :].partition("_")
    if not sep or not key_id or not secret or len(key_id) > 32:
        return None
    return key_id, secret


def create_key(
    session: Session, *, unit_id: str, role: Role, name: str = "", language: str | None = None
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the plaintext key, which is shown once only.

    ``language`` is the key's default language for pages and API messages (none: the
    browser's)."""
    if role not in _RANK:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if language is not None and language not in LOCALES:
        raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LOCALES)}")
    if not unit_id.strip():
        raise ValueError("unit id must not be empty")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiKey(
        key_id=key_id,
        secret_sha256=hash_secret(secret),
        unit_id=unit_id,
        role=role,
        name=name,
        created_at=utcnow(),
        language=language,
    )
    session.add(row)
    session.flush()
    return row, f"{KEY_PREFIX}{key_id}_{secret}"


def revoke_key(session: Session, *, key_id: str) -> ApiKey | None:
    """Revoke a key (idempotent); None if there is no such key."""
    row = session.get(ApiKey, key_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def list_keys(session: Session, *, unit_id: str | None = None) -> list[ApiKey]:
    """Every key, optionally of one unit, oldest first."""
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.key_id)
    if unit_id is not None:
        query = query.where(ApiKey.unit_id == unit_id)
    return list(session.scalars(query))


def principal_of(row: ApiKey) -> Principal:
    """The principal of a live key's row."""
    return Principal(
        key_id=row.key_id,
        unit_id=row.unit_id,
        role=row.role,  # type: ignore[arg-type]
        name=row.name,
        language=row.language if row.language in LOCALES else None,
    )


LANGUAGE_CHOSEN = "lookout_language_chosen"
"""``request.state`` flag: the request chose its language (``?lang=`` or the cookie)."""


def use_key_language(request: Request, principal: Principal) -> None:
    """Speak the key's default language in this request unless the request chose one.

    Precedence, first that applies: ``?lang=``, the language cookie (the page switch), the
    key's default language, the browser's ``Accept-Language``, English. Called from an
    ``async`` dependency, so that the choice holds for the route and its error handlers."""
    if principal.language and not getattr(request.state, LANGUAGE_CHOSEN, False):
        set_locale(principal.language)


def authenticate(
    session: Session, token: str, *, touch: sessionmaker[Session] | None = None
) -> Principal | None:
    """The principal a presented key stands for, or None if it is unknown or revoked.

    ``touch`` is a write-session factory used to record when the key was last used (at most
    every few minutes); without it ``session`` itself is written.
    """
    parts = parse_key(token)
    if parts is None:
        return None
    key_id, secret = parts
    row = session.get(ApiKey, key_id)
    # Hash and compare even for unknown ids so timing does not reveal which ids exist.
    expected = row.secret_sha256 if row is not None else "0" * 64
    matches = hmac.compare_digest(hash_secret(secret), expected)
    if row is None or not matches or row.revoked_at is not None:
        return None
    principal = principal_of(row)
    now = utcnow()
    stale = row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY
    # End the look-up's transaction: the route starts fresh and holds no lock meanwhile.
    session.rollback()
    if stale:
        _touch(touch, session, key_id, now)
    return principal


def _touch(
    factory: sessionmaker[Session] | None, session: Session, key_id: str, now: datetime
) -> None:
    try:
        if factory is None:
            session.execute(update(ApiKey).where(ApiKey.key_id == key_id).values(last_used_at=now))
            session.commit()
            return
        with factory() as writer:
            writer.execute(update(ApiKey).where(ApiKey.key_id == key_id).values(last_used_at=now))
            writer.commit()
    except OperationalError:
        # Only a usage hint; a busy database must not fail the request for it.
        log.warning("could not record the use of key %s", key_id)


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="A unit API key: `Authorization: Bearer lk_<id>_<secret>` "
    "(create one with `lookout keys create`).",
)


async def get_principal(
    request: Request,
    session: ReadSessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated caller; 401 problem if the key is missing, unknown or revoked.

    ``async`` (the look-up runs in the thread pool) so that the key's default language,
    set here, holds for the route and its error handlers."""
    if credentials is None:
        raise ProblemException(
            401,
            gettext("Not authenticated"),
            gettext("send a unit API key as `Authorization: Bearer lk_<id>_<secret>`"),
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = await run_in_threadpool(
        authenticate, session, credentials.credentials, touch=request.app.state.lookout.sessions
    )
    if principal is None:
        raise ProblemException(
            401,
            gettext("Invalid API key"),
            gettext(
                "the API key is unknown or revoked; ask an admin for a new one "
                "(`lookout keys create`)"
            ),
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.principal = principal
    use_key_language(request, principal)
    return principal


CurrentKey = Annotated[Principal, Depends(get_principal)]
"""The authenticated caller, any role."""


def require_role(role: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting callers whose role is ``role`` or above (403 otherwise)."""

    def _check(principal: CurrentKey) -> Principal:
        if not principal.has_role(role):
            raise ProblemException(
                403,
                gettext("Forbidden"),
                gettext("this action needs the {role} role or above; your key has {held}").format(
                    role=role, held=principal.role
                ),
            )
        return principal

    _check.__name__ = f"require_{role}"
    return _check


Viewer = Annotated[Principal, Depends(require_role("viewer"))]
Analyst = Annotated[Principal, Depends(require_role("analyst"))]
RuleAuthor = Annotated[Principal, Depends(require_role("rule_author"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]
