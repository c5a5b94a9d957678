"""Jinja2 environment and the helpers templates use (times, countdowns, lanes, numbers)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.web import _charts
from engine.identity import short_id

TEMPLATES = Path(__file__).resolve().parent / "templates"
# "phrase: +0.15" (English) or "phrase — +0,15" (Russian), as models.stage renders them.
_CONTRIBUTION = re.compile(r"^(?P<label>.*)(?:: | — )\+(?P<value>-?[0-9]+(?:[.,][0-9]+)?)$")

LANE_LABELS = {"red": "Red", "yellow": "Yellow", "green": "Green"}
SELECTION_LABELS = {
    "forced": "forced (mandatory rule)",
    "risk": "top risk within capacity",
    "control": "random control",
    "explore": "exploration (little-known data)",
}


def when(value: datetime | str | None) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM UTC`` (officers in several countries read it)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    assert isinstance(value, datetime)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float) -> str:
    """``3 h 05 min`` / ``12 min`` / ``2 d 4 h`` for a positive number of seconds."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins:02d} min"
    return f"{mins} min"


def countdown(deadline: datetime, now: datetime | None = None) -> dict[str, Any]:
    """What a deadline cell shows: text, whether it is overdue, and the ISO time for the JS."""
    now = now or datetime.now(UTC)
    left = (deadline - now).total_seconds()
    text = f"due in {duration(left)}" if left >= 0 else f"overdue by {duration(left)}"
    return {"text": text, "overdue": left < 0, "iso": deadline.astimezone(UTC).isoformat()}


def contributions(model_reasons: list[str]) -> list[tuple[str, float]]:
    """``(feature text, contribution)`` pairs parsed from the model's rendered reasons."""
    out = []
    for reason in model_reasons:
        match = _CONTRIBUTION.match(reason)
        if match:
            out.append((match["label"], float(match["value"].replace(",", "."))))
    return out


def number(value: float | int | None, digits: int = 0) -> str:
    """A number with thousands separators, or an em dash."""
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def percent(value: float | None, digits: int = 1) -> str:
    """A share as a percentage, or an em dash."""
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=when, number=number, percent=percent, duration=duration, short_id=short_id
    )
    env.globals.update(
        countdown=countdown,
        contributions=contributions,
        lane_labels=LANE_LABELS,
        selection_labels=SELECTION_LABELS,
        hbar_chart=_charts.hbar_chart,
        grouped_hbar_chart=_charts.grouped_hbar_chart,
        line_chart=_charts.line_chart,
    )
    return env


ENV = _env()


def render(
    request: Request, template: str, context: dict[str, Any], *, status: int = 200
) -> HTMLResponse:
    """Render ``template`` with the signed-in user, CSRF token and nav in the context."""
    principal = getattr(request.state, "web_principal", None)
    base = {
        "request": request,
        "principal": principal,
        "csrf": getattr(request.state, "web_csrf", ""),
        "path": request.url.path,
        "drift_banner": _drift_banner(request, principal),
    }
    html = ENV.get_template(template).render({**base, **context})
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _drift_banner(request: Request, principal: Any) -> Any:
    """The unit's latest batch's drift, when it raised a warning (shown on every page)."""
    state = getattr(request.app.state, "lookout", None)
    if principal is None or state is None:
        return None
    from api.services.drift import latest_drift

    with state.read_sessions() as session:
        latest = latest_drift(session, principal.unit_id)
    return latest if latest is not None and latest.drift.alarms else None


SECURITY_HEADERS = {
    # Everything is served by this process; inline styles are used by the SVG charts only.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
