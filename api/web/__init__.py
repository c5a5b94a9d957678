"""Web pages for PCU analysts, served by the API process with the API's auth and services.

``install(app)`` mounts the page routes under ``/web`` and the vendored static files under
``/web/static``. Pages call the same service functions as the JSON routes, so a page shows
exactly what the API would return to the same key; no scoring or query logic lives here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.auth import LANGUAGE_CHOSEN
from api.i18n import DEFAULT_LOCALE, LOCALES, negotiate, set_locale
from api.web._auth import PageRoute, WebUser, get_web_principal
from api.web._charts import grouped_hbar_chart, hbar_chart, line_chart
from api.web._session import WebSession, csrf_token, csrf_valid, sign, unsign

STATIC_DIR = Path(__file__).resolve().parent / "static"
LOCALE_COOKIE = "lookout_lang"

__all__ = [
    "STATIC_DIR",
    "PageRoute",
    "WebSession",
    "WebUser",
    "csrf_token",
    "csrf_valid",
    "get_web_principal",
    "grouped_hbar_chart",
    "hbar_chart",
    "install",
    "line_chart",
    "sign",
    "unsign",
]


def install(app: FastAPI) -> None:
    """Mount the pages and their static assets on ``app`` (an ``api.app.create_app`` app)."""
    from api.web import (
        _pages_batches,
        _pages_casenotes,
        _pages_containers,
        _pages_queries,
        _pages_rules,
        _pages_signin,
    )

    for module in (
        _pages_signin,
        _pages_batches,
        _pages_containers,
        _pages_queries,
        _pages_casenotes,
        _pages_rules,
    ):
        app.include_router(module.router)
    app.mount("/web/static", StaticFiles(directory=STATIC_DIR), name="web-static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        """The browser's tab icon (an SVG shipped with the pages)."""
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    @app.middleware("http")
    async def web_locale(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """The reader's language for the pages and API messages: ``?lang=`` (kept in a
        cookie), the cookie, then the key's default language (set once the key is known, by
        ``api.auth.use_key_language``), then the browser's ``Accept-Language``; English
        otherwise."""
        asked = request.query_params.get("lang")
        kept = request.cookies.get(LOCALE_COOKIE)
        explicit = asked if asked in LOCALES else kept if kept in LOCALES else None
        setattr(request.state, LANGUAGE_CHOSEN, explicit is not None)
        set_locale(explicit or negotiate(request.headers.get("accept-language")) or DEFAULT_LOCALE)
        response = await call_next(request)
        if asked in LOCALES:
            response.set_cookie(
                LOCALE_COOKIE, asked, max_age=365 * 86400, samesite="lax", httponly=True
            )
        return response
