"""Container detail (every appearance, reasons, history, inspections) and recording a result."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi import Path as PathParam
from pydantic import ValidationError

from api.audit import Auditor
from api.auth import SessionDep
from api.i18n import _N
from api.i18n import gettext as _
from api.problems import ProblemException
from api.schemas.containers import Appearance
from api.schemas.inspections import CONTAINER_PATTERN, InspectionCreate
from api.services.containers import PARTY_FIELDS, container_detail, party_history
from api.services.indexing import DISPLAY_FIELDS
from api.services.inspections import normalise_container, record_inspection
from api.state import State
from api.web._auth import Csrf, PageRoute, WebAnalyst, WebViewer, redirect
from api.web._render import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ContainerNo = Annotated[str, PathParam(min_length=1, max_length=40, pattern=CONTAINER_PATTERN)]
OUTCOMES = ("seizure", "irregularity", "clean")
FINDINGS = (
    "drugs",
    "precursors",
    "weapons",
    "counterfeit",
    "wildlife",
    "tobacco",
    "revenue",
    "other",
)
# The manifest part of the fields the index keeps (watchlist matches have their own section).
MANIFEST_FIELDS = tuple(
    f for f in DISPLAY_FIELDS if not f.startswith("watchlist_") and f != "house_bl_number"
)


def _split_fields(appearance: Appearance) -> dict[str, Any]:
    """Manifest fields, data-quality flags that are raised, and watchlist matches."""
    fields = appearance.fields
    manifest = [(k, fields[k]) for k in MANIFEST_FIELDS if fields.get(k) not in (None, "", [])]
    dq = sorted(k.removeprefix("dq_") for k, v in fields.items() if k.startswith("dq_") and v)
    watch = {
        k: v for k, v in fields.items() if k.startswith("watchlist_") and v not in (None, False)
    }
    return {"manifest": manifest, "dq": dq, "watchlist": watch}


@router.get("/web/containers/{container_number}")
def container_page(
    request: Request,
    state: State,
    session: SessionDep,
    principal: WebViewer,
    container_number: ContainerNo,
    batch: str | None = None,
) -> Response:
    """The container's appearances (the chosen batch's first), with everything known."""
    return _container_response(request, state, session, principal, container_number, batch)


def _container_response(
    request: Request,
    state: State,
    session: SessionDep,
    principal: WebViewer,
    container_number: str,
    batch: str | None,
    *,
    form_error: str | None = None,
) -> Response:
    detail = container_detail(state, session, principal, container_number)
    appearances = detail.appearances
    current = next((a for a in appearances if a.batch_id == batch), appearances[0])
    parts = _split_fields(current)
    parties = {
        role: str(current.fields.get(role) or "")
        for role in PARTY_FIELDS
        if current.fields.get(role)
    }
    return render(
        request,
        "container.html",
        {
            "detail": detail,
            "current": current,
            "parts": parts,
            "party_history": party_history(
                session, principal, parties, exclude=detail.container_number
            ),
            "outcomes": OUTCOMES,
            "findings": FINDINGS,
            "federation": getattr(request.app.state, "federation", None),
            "form_error": form_error,
        },
        status=422 if form_error else 200,
    )


@router.post("/web/inspections", dependencies=[Csrf])
def record(
    request: Request,
    state: State,
    session: SessionDep,
    principal: WebAnalyst,
    batch_id: Annotated[str, Form(max_length=40)],
    container_number: Annotated[str, Form(max_length=40)],
    outcome: Annotated[str, Form(max_length=20)] = "",
    record_id: Annotated[str, Form(max_length=200)] = "",
    finding_type: Annotated[str, Form(max_length=40)] = "",
    notes: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    """Record an inspection through the same service as ``POST /v1/inspections``.

    No result is preselected on the form: a submission without one is refused and the page
    shown again with the reason, so one careless click cannot record "clean"."""
    if outcome not in OUTCOMES:
        return _container_response(
            request,
            state,
            session,
            principal,
            normalise_container(container_number),
            batch_id,
            form_error=_(
                "Choose the inspection result (seizure, irregularity or clean) "
                "before recording it: nothing was recorded."
            ),
        )
    try:
        body = InspectionCreate(
            batch_id=batch_id,
            container_number=container_number,
            record_id=record_id or None,
            outcome=outcome,  # type: ignore[arg-type]
            finding_type=finding_type or None,
            notes=notes,
            inspected_at=None,
        )
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise ProblemException(422, _N("Invalid inspection"), problems) from err
    record_inspection(state, session, principal, Auditor(session, principal, request), body)
    number = normalise_container(body.container_number or "")
    return redirect(request, f"/web/containers/{number}?batch={batch_id}&recorded=1#inspections")
