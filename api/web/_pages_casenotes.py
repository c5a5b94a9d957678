"""Case notes: inbox / outbox, write one (with a proposed rule), read one, and — for rule
authors of the receiving unit — backtest the rule in one click, adopt it in shadow, or decline."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.auth import SessionDep
from api.federation.casenotes import decisions, service, views
from api.federation.casenotes.schemas import CaseNoteCreate, CaseNoteStatus, FindingType
from api.federation.context import Federation
from api.federation.errors import FederationError
from api.problems import ProblemException
from api.state import State
from api.web._auth import Csrf, PageRoute, WebAnalyst, WebRuleAuthor, WebViewer, redirect
from api.web._pages_queries import act_and_wake, federation_of
from api.web._render import render

router = APIRouter(prefix="/web/casenotes", route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 50
PARTY_ROWS = 4
NoteId = Annotated[str, PathParam(min_length=1, max_length=80, pattern=r"^[\w.:-]+$")]
FINDING_TYPES = get_args(FindingType)


@router.get("")
def notes_page(
    request: Request,
    session: SessionDep,
    principal: WebViewer,
    box: Literal["inbox", "outbox"] = "inbox",
    status: Annotated[CaseNoteStatus | Literal[""], Query()] = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Received or sent case notes, newest first, with each recipient's decision."""
    fed = federation_of(request, principal)
    rows, total = views.list_notes(
        session, fed, box=box, status=status or None, offset=offset, limit=PAGE_SIZE
    )
    return render(
        request,
        "casenotes.html",
        {
            "box": box,
            "status": status,
            "rows": rows,
            "total": total,
            "offset": offset,
            "page_size": PAGE_SIZE,
            "fed": fed,
        },
    )


def _form_context(fed: Federation, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"to": [], "mode": "sea", "finding_type": "drugs"}
    values.update(extra.pop("values", {}))
    return {
        "partners": fed.directory.all(),
        "groups": fed.directory.groups(),
        "finding_types": FINDING_TYPES,
        "party_rows": PARTY_ROWS,
        "values": values,
        "error": None,
        "diagnostics": [],
        **extra,
    }


@router.get("/new")
def new_note_page(request: Request, principal: WebAnalyst) -> Response:
    """The form: what was found, where, route, concealment, parties (maskable), rule."""
    fed = federation_of(request, principal)
    return render(request, "casenote_new.html", _form_context(fed))


def _codes(text: str) -> list[str]:
    return [c for c in re.split(r"[\s,;>]+", text.strip().upper()) if c]


@router.post("", dependencies=[Csrf])
def send_note(
    request: Request,
    session: SessionDep,
    principal: WebAnalyst,
    title: Annotated[str, Form(max_length=200)],
    finding_type: Annotated[str, Form(max_length=40)],
    finding: Annotated[str, Form(max_length=2000)],
    location: Annotated[str, Form(max_length=8)],
    found_on: Annotated[str, Form(max_length=10)],
    to: Annotated[list[str] | None, Form(max_length=20)] = None,
    mode: Annotated[str, Form(max_length=8)] = "sea",
    location_name: Annotated[str, Form(max_length=200)] = "",
    route: Annotated[str, Form(max_length=400)] = "",
    concealment: Annotated[str, Form(max_length=5000)] = "",
    containers: Annotated[str, Form(max_length=2000)] = "",
    party_role: Annotated[list[str] | None, Form(max_length=20)] = None,
    party_name: Annotated[list[str] | None, Form(max_length=20)] = None,
    party_country: Annotated[list[str] | None, Form(max_length=20)] = None,
    party_mask: Annotated[list[str] | None, Form(max_length=20)] = None,
    narrative: Annotated[str, Form(max_length=20_000)] = "",
    rule_yaml: Annotated[str, Form(max_length=64 * 1024)] = "",
    rule_file: Annotated[str, Form(max_length=120)] = "proposed-rule.yaml",
) -> Response:
    """Send through the same service as ``POST /v1/casenotes``; a problem (a rule that does
    not load, an unknown group) shows beside the form, which keeps what was typed."""
    fed = federation_of(request, principal)
    masked = set(party_mask or [])
    parties = [
        {
            "role": role,
            "name": name.strip(),
            "country": (country or "").strip().upper() or None,
            "mask": str(i) in masked,
        }
        for i, (role, name, country) in enumerate(
            zip(party_role or [], party_name or [], party_country or [], strict=False)
        )
        if name.strip()
    ]
    values: dict[str, Any] = {
        "to": to or [],
        "title": title,
        "finding_type": finding_type,
        "finding": finding,
        "location": location.strip().upper(),
        "location_name": location_name,
        "found_on": found_on,
        "mode": mode,
        "route": _codes(route),
        "concealment": concealment,
        "containers": _codes(containers),
        "parties": parties,
        "narrative": narrative,
    }
    if rule_yaml.strip():
        values["rule"] = {"file": rule_file.strip() or "proposed-rule.yaml", "yaml": rule_yaml}

    def again(status: int, **extra: Any) -> Response:
        shown = values | {"route": route, "containers": containers, "rule_yaml": rule_yaml}
        shown["rule_file"] = rule_file
        return render(
            request, "casenote_new.html", _form_context(fed, values=shown, **extra), status=status
        )

    try:
        body = CaseNoteCreate.model_validate(values)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        return again(422, error=problems)
    try:
        note = act_and_wake(
            fed, session, lambda: service.send(session, fed, actor=principal.key_id, body=body)
        )
    except ProblemException as err:
        return again(err.status, error=err.detail, diagnostics=err.extra.get("diagnostics", []))
    except FederationError as err:
        return again(err.status, error=f"{err.message}" + (f" — {err.hint}" if err.hint else ""))
    return redirect(request, f"/web/casenotes/{note.id}")


@router.get("/{note_id}")
def note_page(
    request: Request, session: SessionDep, principal: WebViewer, note_id: NoteId
) -> Response:
    """The note, the rule with this unit's check of it, recipients, backtests, actions."""
    fed = federation_of(request, principal)
    note = views.detail(session, fed, service.get_note(session, fed, note_id))
    mine = next((r for r in note.recipients if r.unit_id == fed.unit_id), None)
    undecided = note.box == "inbox" and mine is not None and mine.state == "delivered"
    return render(
        request,
        "casenote.html",
        {
            "n": note,
            "fed": fed,
            "mine": mine,
            "can_decide": undecided and note.has_rule,
            "can_adopt": undecided and bool(note.rule_valid),
            "backtest": note.backtests[0] if note.backtests else None,
        },
    )


@router.post("/{note_id}/backtest", dependencies=[Csrf])
async def backtest(
    request: Request,
    state: State,
    session: SessionDep,
    principal: WebRuleAuthor,
    note_id: NoteId,
) -> Response:
    """One click: the rule as it would be adopted, over this unit's own history."""
    fed = federation_of(request, principal)
    await run_in_threadpool(
        act_and_wake,
        fed,
        session,
        lambda: decisions.backtest(state, session, fed, principal, note_id),
    )
    return redirect(request, f"/web/casenotes/{note_id}#backtest-h")


@router.post("/{note_id}/adopt", dependencies=[Csrf])
def adopt(
    request: Request,
    state: State,
    session: SessionDep,
    principal: WebRuleAuthor,
    note_id: NoteId,
    note: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    """Adopt in shadow (experimental) into a new version of the unit's pack."""
    fed = federation_of(request, principal)
    act_and_wake(
        fed,
        session,
        lambda: decisions.adopt(state, session, fed, principal, note_id, note_text=note),
    )
    return redirect(request, f"/web/casenotes/{note_id}")


@router.post("/{note_id}/decline", dependencies=[Csrf])
def decline(
    request: Request,
    session: SessionDep,
    principal: WebRuleAuthor,
    note_id: NoteId,
    note: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    """Decline the rule; the sending unit is told why."""
    fed = federation_of(request, principal)
    act_and_wake(
        fed,
        session,
        lambda: decisions.decline(session, fed, principal, note_id, note_text=note),
    )
    return redirect(request, f"/web/casenotes/{note_id}")
