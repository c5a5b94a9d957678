"""Who is signed in, CSRF checks, and errors shown as HTML pages instead of problem+json.

Pages use the API's own ``Principal`` and role ladder, so a page admits exactly who the
matching JSON route admits, and every service call is scoped to the principal's unit.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import Principal, Role, SessionDep, principal_of, use_key_language
from api.i18n import _N, localise, localise_location
from api.problems import ProblemException
from api.tables import ApiKey
from api.web import _session
from api.web._render import render
from engine.errors import LookoutError


class SignInRequired(Exception):
    """No valid session: the page redirects to the sign-in form."""


def secret_of(request: Request) -> str:
    """The service's secret key (signs cookies and CSRF tokens)."""
    return str(request.app.state.lookout.settings.secret_key.get_secret_value())


def principal_of_cookie(request: Request, session: Session) -> Principal | None:
    """The principal of a valid session cookie whose API key is still live, else None."""
    value = request.cookies.get(_session.SESSION_COOKIE)
    if not value:
        return None
    secret = secret_of(request)
    web = _session.WebSession.decode(secret, value)
    if web is None:
        return None
    row = session.get(ApiKey, web.key_id)
    if row is None or row.revoked_at is not None:
        return None
    expected = _session.key_fingerprint(secret, row.key_id, row.secret_sha256)
    if expected != web.fingerprint:
        return None
    request.state.web_session_id = web.session_id
    request.state.web_csrf = _session.csrf_token(secret, web.session_id)
    return principal_of(row)


async def get_web_principal(request: Request, session: SessionDep) -> Principal:
    """The signed-in user, or a redirect to the sign-in page; the page speaks the key's
    default language unless the reader chose one (``api.auth.use_key_language``)."""
    principal = await run_in_threadpool(principal_of_cookie, request, session)
    if principal is None:
        raise SignInRequired
    request.state.web_principal = principal
    request.state.principal = principal
    use_key_language(request, principal)
    return principal


WebUser = Annotated[Principal, Depends(get_web_principal)]


def require_web_role(role: Role) -> Callable[[Principal], Principal]:
    """A page dependency admitting ``role`` and above (an HTML 403 page otherwise)."""

    def _check(principal: WebUser) -> Principal:
        if not principal.has_role(role):
            raise ProblemException(
                403,
                _N("Forbidden"),
                f"this needs the {role} role or above; you are signed in as {principal.role}",
            )
        return principal

    _check.__name__ = f"require_web_{role}"
    return _check


WebViewer = Annotated[Principal, Depends(require_web_role("viewer"))]
WebAnalyst = Annotated[Principal, Depends(require_web_role("analyst"))]
WebRuleAuthor = Annotated[Principal, Depends(require_web_role("rule_author"))]


def check_csrf(
    request: Request,
    principal: WebUser,
    csrf_token: Annotated[str | None, Form()] = None,
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> None:
    """Every POST carries the session's CSRF token (form field, or header from htmx)."""
    session_id = getattr(request.state, "web_session_id", "")
    if not _session.csrf_valid(secret_of(request), session_id, csrf_token or x_csrf_token):
        raise ProblemException(
            403,
            _N("Form expired"),
            "the form's security token is missing or out of date; reload the page and retry",
        )


Csrf = Depends(check_csrf)


def redirect(request: Request, url: str) -> Response:
    """303 to ``url``; for htmx requests an ``HX-Redirect`` so the whole page changes."""
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


class PageRoute(APIRoute):
    """A page route: sign-in redirects and errors rendered as HTML pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except SignInRequired:
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                return redirect(request, f"/web/signin?next={quote(target, safe='')}")
            except ProblemException as err:
                return error_page(
                    request,
                    err.status,
                    localise(err.title) or err.title,
                    localise(err.detail),
                    localise(err.extra.get("hint")),
                )
            except RequestValidationError as err:
                fields = "; ".join(
                    f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}"
                    for e in err.errors()[:5]
                )
                return error_page(request, 422, "Invalid input", fields or "invalid form", None)
            except LookoutError as err:
                status = int(getattr(err, "status", 422))
                where = f"{localise_location(err.location)}: " if err.location else ""
                return error_page(
                    request,
                    status,
                    type(err).__name__,
                    where + (localise(err.message) or ""),
                    localise(err.hint),
                )

        return handler


def error_page(
    request: Request, status: int, title: str, detail: str | None, hint: str | None
) -> Response:
    """An HTML error page with the same title, detail and hint the API would send."""
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "detail": detail, "hint": hint},
        status=status,
    )
