"""Sign-in with a unit API key, sign-out, and the landing redirect."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from api.audit import record_audit
from api.auth import SessionDep, authenticate
from api.i18n import gettext as _
from api.tables import ApiKey
from api.web import _session
from api.web._auth import Csrf, PageRoute, principal_of_cookie, secret_of
from api.web._render import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an attacker's link must not bounce a signed-in user elsewhere.
    if target and target.startswith("/web/") and not target.startswith("//"):
        return target
    return "/web/batches"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _signin_form(
    request: Request, next_url: str, *, error: str | None = None, status: int = 200
) -> Response:
    nonce = _session.new_nonce()
    response = render(
        request,
        "signin.html",
        {
            "next": next_url,
            "signin_csrf": _session.csrf_token(secret_of(request), "signin|" + nonce),
            "error": error,
        },
        status=status,
    )
    response.set_cookie(
        _session.SIGNIN_COOKIE,
        nonce,
        max_age=_session.SIGNIN_SECONDS,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/web/signin",
    )
    return response


@router.get("/")
def home() -> Response:
    """The pages live under /web."""
    return RedirectResponse("/web/batches", status_code=303)


@router.get("/web")
@router.get("/web/")
def web_home() -> Response:
    """The batches page is the analyst's start page."""
    return RedirectResponse("/web/batches", status_code=303)


@router.get("/web/signin")
def signin_form(request: Request, session: SessionDep, next: str | None = None) -> Response:
    """The sign-in form (or straight on, if already signed in)."""
    if principal_of_cookie(request, session) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _signin_form(request, _safe_next(next))


@router.post("/web/signin")
def signin(
    request: Request,
    session: SessionDep,
    api_key: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "/web/batches",
) -> Response:
    """Check the key like the API does, then set the signed session cookie."""
    secret = secret_of(request)
    nonce = request.cookies.get(_session.SIGNIN_COOKIE, "")
    if not nonce or not _session.csrf_valid(secret, "signin|" + nonce, csrf_token):
        return _signin_form(
            request,
            _safe_next(next),
            error=_("The form expired; please sign in again."),
            status=403,
        )
    principal = authenticate(session, api_key.strip())
    client = request.client.host if request.client else None
    if principal is None:
        return _signin_form(
            request,
            _safe_next(next),
            error=_("That API key is unknown or revoked. Ask your administrator for an API key."),
            status=401,
        )
    row = session.get(ApiKey, principal.key_id)
    assert row is not None  # authenticate just read it
    web = _session.WebSession.new(
        principal.key_id, _session.key_fingerprint(secret, row.key_id, row.secret_sha256)
    )
    record_audit(
        session,
        unit_id=principal.unit_id,
        actor=principal.key_id,
        role=principal.role,
        action="web.signin",
        target=principal.key_id,
        client=client,
        request_id=getattr(request.state, "request_id", None),
    )
    session.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        _session.SESSION_COOKIE,
        web.encode(secret),
        max_age=_session.SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(_session.SIGNIN_COOKIE, path="/web/signin")
    return response


@router.post("/web/signout", dependencies=[Csrf])
def signout(request: Request) -> Response:
    """Forget the session cookie."""
    response = RedirectResponse("/web/signin", status_code=303)
    response.delete_cookie(_session.SESSION_COOKIE, path="/")
    return response
