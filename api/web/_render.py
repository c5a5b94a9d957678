"""Jinja2 environment and the helpers templates use (times, countdowns, lanes, numbers)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.i18n import (
    DRIFT_LABELS,
    LANE_LABELS,
    LOCALE_NAMES,
    SELECTION_LABELS,
    current_locale,
    format_number,
    format_percentage,
    format_when,
    gettext,
    localise_note,
    ngettext,
)
from api.web import _charts
from engine.i18n import localised_column, localised_value
from engine.identity import short_id
from engine.reference import ReferenceData
from models.phrases import PHRASES, words

TEMPLATES = Path(__file__).resolve().parent / "templates"
# "phrase: +0.15" (English) or "phrase — +0,15" (Russian), as models.stage renders them.
_CONTRIBUTION = re.compile(r"^(?P<label>.*)(?:: | — )\+(?P<value>-?[0-9]+(?:[.,][0-9]+)?)$")

_N = str  # marks a message for extraction; translated where it is shown

OUTCOME_LABELS = {
    "seizure": _N("seizure"),
    "irregularity": _N("irregularity"),
    "clean": _N("clean (nothing found)"),
}
STATUS_LABELS = {
    "queued": _N("queued"),
    "running": _N("running"),
    "done": _N("done"),
    "failed": _N("failed"),
    "sent": _N("sent"),
    "delivered": _N("delivered"),
    "acknowledged": _N("acknowledged"),
    "answered": _N("answered"),
    "closed": _N("closed"),
    "expired": _N("expired"),
    "cancelled": _N("cancelled"),
    "decided": _N("decided"),
    "adopted": _N("adopted"),
    "declined": _N("declined"),
    "urgent": _N("urgent"),
    "routine": _N("routine"),
    "query": _N("question"),
    "ack": _N("acknowledgement"),
    "reply": _N("answer"),
    "followup": _N("follow-up"),
    "close": _N("closing"),
    "cancel": _N("withdrawal"),
}
"""Batch, query and case-note statuses, query priorities and thread message kinds as shown
(the value itself where none is listed)."""
MODE_LABELS = {"inline": _N("scored on upload"), "background": _N("scored in the background")}
STAGE_LABELS = {"score": _N("scoring"), "done": _N("finishing")}
SEVERITY_LABELS = {
    "low": _N("low"),
    "medium": _N("medium"),
    "high": _N("high"),
    "critical": _N("critical"),
    "error": _N("error"),
    "warning": _N("warning"),
}
RULE_STATUS_LABELS = {
    "active": _N("active"),
    "experimental": _N("experimental"),
    "retired": _N("retired"),
}


def rule_title(rule: Any) -> str:
    """A rule's title in the reader's language (English where the rule gives none)."""
    titles = getattr(rule, "titles", None) or {}
    return str(titles.get(current_locale(), rule.title))


FINDING_LABELS = {
    "drugs": _N("drugs"),
    "precursors": _N("precursors"),
    "weapons": _N("weapons"),
    "counterfeit": _N("counterfeit goods"),
    "wildlife": _N("wildlife"),
    "tobacco": _N("tobacco"),
    "revenue": _N("revenue (duties)"),
    "currency": _N("currency"),
    "other": _N("other"),
}
TRANSPORT_LABELS = {"sea": _N("sea"), "air": _N("air"), "rail": _N("rail"), "road": _N("road")}
ROLE_LABELS = {
    "shipper": _N("shipper"),
    "consignee": _N("consignee"),
    "notify": _N("notify party"),
    "forwarder": _N("forwarder"),
    "carrier": _N("carrier"),
    "declarant": _N("declarant"),
    "other": _N("other"),
}
PRINCIPAL_ROLES = {
    "viewer": _N("viewer"),
    "analyst": _N("analyst"),
    "rule_author": _N("rule author"),
    "admin": _N("administrator"),
}
ERROR_TITLES = {
    400: _N("The request could not be read"),
    401: _N("Sign-in required"),
    403: _N("Not allowed"),
    404: _N("Not found"),
    409: _N("Conflict"),
    413: _N("Too large"),
    422: _N("Invalid input"),
    429: _N("Too many requests"),
    500: _N("Something went wrong"),
    503: _N("Not available"),
}
"""The heading of an error page per HTTP status; the problem's own title and detail (as the
API sends them) follow it."""


def feature_label(name: str | None) -> str:
    """A model feature's label from the phrase table, in the reader's language."""
    if not name:
        return "—"
    phrase = PHRASES.get(name)
    if phrase is None:
        return words(name)
    return phrase.label.get(current_locale()) or phrase.label.get("en") or words(name)


def label(labels: dict[str, str], value: Any) -> str:
    """``value`` through one of the label tables, translated (the value itself if unlisted)."""
    if value is None or value == "":
        return "—"
    return gettext(labels[value]) if value in labels else str(value)


def status_label(value: str | None) -> str:
    """A status in the reader's language."""
    if not value:
        return "—"
    return gettext(STATUS_LABELS[value]) if value in STATUS_LABELS else value


FIELD_LABELS: dict[str, str] = {
    "transport_mode": _N("Transport mode"),
    "awb_number": _N("Air waybill (AWB)"),
    "house_awb_number": _N("House AWB"),
    "airport_of_origin": _N("Airport of departure"),
    "transfer_airports": _N("Transfer airports"),
    "airport_of_destination": _N("Airport of destination"),
    "flights": _N("Flights"),
    "volume_m3": _N("Volume (m³)"),
    "special_handling_codes": _N("Special handling codes"),
    "house_bl_number": _N("House B/L"),
    "shipper_name": _N("Shipper"),
    "shipper_country": _N("Shipper's country"),
    "consignee_name": _N("Consignee"),
    "consignee_country": _N("Consignee's country"),
    "notify_name": _N("Notify party"),
    "hs_code": _N("HS code"),
    "hs_chapter": _N("HS chapter"),
    "goods_description": _N("Goods description"),
    "packages": _N("Packages"),
    "package_type": _N("Package type"),
    "gross_weight_kg": _N("Gross weight (kg)"),
    "declared_value": _N("Declared value"),
    "currency": _N("Currency"),
    "origin_country": _N("Country of origin"),
    "place_of_receipt": _N("Place of receipt"),
    "port_of_loading": _N("Port of loading"),
    "transshipment_ports": _N("Transshipment ports"),
    "port_of_discharge": _N("Port of discharge"),
    "place_of_delivery": _N("Place of delivery"),
    "vessel_imo": _N("Vessel IMO number"),
    "vessel_name": _N("Vessel"),
    "voyage": _N("Voyage"),
    "carrier_scac": _N("Carrier SCAC"),
    "iso_type": _N("ISO type"),
    "filed_at": _N("Filed"),
    "departed_at": _N("Departed"),
    "arrival_eta": _N("Expected arrival"),
    "watchlist_party_score": _N("Party match score"),
    "watchlist_party_role": _N("Matched party"),
    "watchlist_entry": _N("Watchlist entry"),
    "watchlist_party_match": _N("How the name matched"),
    "watchlist_vessel_hit": _N("Vessel on a watchlist"),
    "watchlist_vessel_name_hit": _N("Vessel name on a watchlist"),
    "watchlist_vessel_entry": _N("Vessel entry"),
    "watchlist_container_hit": _N("Container on a watchlist"),
    "watchlist_container_entry": _N("Container entry"),
}
"""Manifest field labels as an officer reads them (never the raw field name)."""
PORT_FIELDS = ("place_of_receipt", "port_of_loading", "port_of_discharge", "place_of_delivery")
AIRPORT_FIELDS = ("airport_of_origin", "airport_of_destination")


@cache
def _places(table: str, code_column: str) -> dict[str, str]:
    """Code → ``"Poti, GE"`` from one shipped reference table (``seaports`` by UN/LOCODE,
    ``airports`` by IATA code)."""
    frame = getattr(ReferenceData.load(), table)
    return {
        code: f"{name}, {country}"
        for code, name, country in frame.select(code_column, "name", "country").iter_rows()
    }


def _with_place(code: str | None, places: dict[str, str]) -> str:
    if not code:
        return "—"
    place = places.get(str(code).upper())
    return f"{code} {place}" if place else str(code)


def port(code: str | None) -> str:
    """A UN/LOCODE with its place: ``GEPTI Poti, GE`` (the code alone when unknown)."""
    return _with_place(code, _places("seaports", "locode"))


def airport(code: str | None) -> str:
    """An IATA airport code with its name: ``IST Istanbul Airport, TR`` (the code alone when
    unknown)."""
    return _with_place(code, _places("airports", "iata"))


def field_label(name: str) -> str:
    """The officer's label of a manifest field, translated."""
    return gettext(FIELD_LABELS.get(name, name.replace("_", " ").capitalize()))


def field_value(name: str, value: Any) -> str:
    """A manifest value as shown: ports with their place, lists joined, times, flags."""
    if value is None or value == "":
        return "—"
    if name in PORT_FIELDS:
        return port(str(value))
    if name == "transshipment_ports" and isinstance(value, list):
        return ", ".join(port(v) for v in value)
    if name in AIRPORT_FIELDS:
        return airport(str(value))
    if name == "transfer_airports" and isinstance(value, list):
        return ", ".join(airport(v) for v in value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if name.endswith("_at") or name == "arrival_eta":
        return when(value)
    if isinstance(value, float):
        return number(value, 0 if value == int(value) else 2)
    return localised_value(name, str(value), current_locale())


def reasons(row: Any, kind: str) -> list[str]:
    """A row's rule or model reasons in the reader's locale (English where a batch scored
    before that locale existed has none)."""
    column = localised_column(kind, current_locale())
    if isinstance(row, dict):  # a query's risk explanation, as the sending unit wrote it
        english, localised = list(row.get(kind) or []), row.get(column)
    else:
        english = list(getattr(row, kind, None) or [])
        localised = (getattr(row, "localised", None) or {}).get(column)
    return list(localised) if localised and len(localised) == len(english) else english


def when(value: datetime | str | None) -> str:
    """A timestamp in UTC (officers in several countries read it), in the reader's locale."""
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
    return format_when(value.astimezone(UTC).replace(tzinfo=None))


def duration(seconds: float) -> str:
    """``3 h 05 min`` / ``12 min`` / ``2 d 4 h`` for a positive number of seconds."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return gettext("{days} d {hours} h").format(days=days, hours=hours)
    if hours:
        return gettext("{hours} h {minutes} min").format(hours=hours, minutes=f"{mins:02d}")
    return gettext("{minutes} min").format(minutes=mins)


def countdown(deadline: datetime, now: datetime | None = None) -> dict[str, Any]:
    """What a deadline cell shows: text, whether it is overdue, and the ISO time for the JS."""
    now = now or datetime.now(UTC)
    left = (deadline - now).total_seconds()
    text = (
        gettext("due in {time}").format(time=duration(left))
        if left >= 0
        else gettext("overdue by {time}").format(time=duration(left))
    )
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
    """A number with the locale's thousands separator and decimal mark, or an em dash."""
    return format_number(value, digits)


def percent(value: float | None, digits: int = 1) -> str:
    """A share as a percentage in the locale's form, or an em dash."""
    return format_percentage(value, digits)


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # Translations follow the request's locale (a context variable), not a fixed catalogue.
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        when=when,
        number=number,
        percent=percent,
        duration=duration,
        short_id=short_id,
        note=localise_note,
    )
    env.globals.update(
        countdown=countdown,
        contributions=contributions,
        lane_labels=LANE_LABELS,
        selection_labels=SELECTION_LABELS,
        outcome_labels=OUTCOME_LABELS,
        status_label=status_label,
        principal_roles=PRINCIPAL_ROLES,
        feature_label=feature_label,
        finding_labels=FINDING_LABELS,
        transport_labels=TRANSPORT_LABELS,
        role_labels=ROLE_LABELS,
        label=label,
        error_titles=ERROR_TITLES,
        severity_labels=SEVERITY_LABELS,
        rule_status_labels=RULE_STATUS_LABELS,
        rule_title=rule_title,
        mode_labels=MODE_LABELS,
        stage_labels=STAGE_LABELS,
        drift_labels=DRIFT_LABELS,
        field_label=field_label,
        field_value=field_value,
        port=port,
        airport=airport,
        reasons=reasons,
        locales=LOCALE_NAMES,
        current_locale=current_locale,
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
