"""Web pages for PCU analysts, served by the API process with the API's auth and services.

``install(app)`` mounts the page routes under ``/web`` and the vendored static files under
``/web/static``. Pages call the same service functions as the JSON routes, so a page shows
exactly what the API would return to the same key; no scoring or query logic lives here.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.web._auth import PageRoute, WebUser, get_web_principal
from api.web._charts import grouped_hbar_chart, hbar_chart, line_chart
from api.web._session import WebSession, csrf_token, csrf_valid, sign, unsign

STATIC_DIR = Path(__file__).resolve().parent / "static"

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
