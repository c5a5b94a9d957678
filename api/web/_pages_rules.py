"""Rules (active pack, per-rule hits and hit rates, pack validation) and the model card
(with drift over the last 30/90 days)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, Response, UploadFile
from pydantic import ValidationError

from api.auth import SessionDep
from api.problems import ProblemException
from api.routers.model import get_model
from api.schemas.drift import ModelDrift
from api.schemas.rules import RulePackFiles
from api.services import rules as rules_service
from api.services.batches import rows_scored_since
from api.services.drift import drift_since
from api.state import State
from api.web._auth import Csrf, PageRoute, WebViewer
from api.web._render import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
MAX_PACK_FILE_BYTES = 1024 * 1024


def _rules_context(
    state: Any, session: Any, principal: Any, report: Any = None, error: str | None = None
) -> dict[str, Any]:
    overview = rules_service.overview(state, session, principal)
    rows_30 = rows_scored_since(session, principal, 30)
    rows_90 = rows_scored_since(session, principal, 90)
    # Chart the rules that hit in the last 90 days, most hits first; the table lists all.
    rules = sorted(
        (r for r in overview.rules if r.stats.hits_90d > 0),
        key=lambda r: (-r.stats.hits_90d, r.id),
    )
    return {
        "overview": overview,
        "rows_30": rows_30,
        "rows_90": rows_90,
        "silent": len(overview.rules) - len(rules),
        "labels": [r.id for r in rules],
        "hits_30": [float(r.stats.hits_30d) for r in rules],
        "hits_90": [float(r.stats.hits_90d) for r in rules],
        # Share of the rows scored in the window that the rule hit (0 when nothing scored).
        "rate_30": [100 * r.stats.hits_30d / rows_30 if rows_30 else 0.0 for r in rules],
        "rate_90": [100 * r.stats.hits_90d / rows_90 if rows_90 else 0.0 for r in rules],
        "report": report,
        "error": error,
    }


@router.get("/web/rules")
def rules_page(
    request: Request, state: State, session: SessionDep, principal: WebViewer
) -> Response:
    """The active pack with per-rule hits and hit rates over the last 30 and 90 days."""
    return render(request, "rules.html", _rules_context(state, session, principal))


@router.post("/web/rules/validate", dependencies=[Csrf])
async def validate_pack(
    request: Request,
    state: State,
    session: SessionDep,
    principal: WebViewer,
    files: Annotated[list[UploadFile], File()],
) -> Response:
    """Check uploaded YAML files like `lookout rules check`: every file:line:col diagnostic."""
    texts: dict[str, str] = {}
    error = None
    for upload in files:
        raw = await upload.read(MAX_PACK_FILE_BYTES + 1)
        name = upload.filename or "rules.yaml"
        if len(raw) > MAX_PACK_FILE_BYTES:
            error = f"{name} is larger than {MAX_PACK_FILE_BYTES // 1024} KiB"
            break
        try:
            texts[name] = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            error = f"{name}: not UTF-8 text (byte {err.start}); save the file as UTF-8"
            break
    report = None
    if error is None:
        try:
            report = rules_service.validate_files(RulePackFiles(name="uploaded", files=texts))
        except ValidationError as err:
            error = "; ".join(e["msg"] for e in err.errors())
        except ProblemException as err:
            error = err.detail or err.title
    context = _rules_context(state, session, principal, report=report, error=error)
    return render(request, "rules.html", context, status=200 if error is None else 422)


@router.get("/web/model")
def model_page(request: Request, state: State, principal: WebViewer, days: int = 30) -> Response:
    """The model card: data, windows, features, the precision-at-capacity curve, and drift
    over the last 30 or 90 days."""
    days = 90 if days == 90 else 30
    with state.read_sessions() as session:
        drift = drift_since(session, principal.unit_id, days)
    try:
        card: dict[str, Any] | None = get_model(state, principal)
        missing = None
    except ProblemException as err:
        if err.status != 404:
            raise
        card, missing = None, err.detail
    metrics = (card or {}).get("metrics") or {}
    curve = metrics.get("curve") or []
    return render(
        request,
        "model.html",
        {
            "card": card,
            "missing": missing,
            "metrics": metrics,
            "curve": curve,
            **_drift_chart(drift),
            "rates": [100 * float(p["rate"]) for p in curve],
            "precision": [float(p["precision"]) for p in curve],
            "recall": [float(p["recall"]) for p in curve],
            "headline": [
                (
                    k.removeprefix("precision_at_").replace("pct", "%"),
                    metrics[k],
                    metrics.get(k.replace("precision", "recall")),
                )
                for k in (
                    "precision_at_1pct",
                    "precision_at_2pct",
                    "precision_at_5pct",
                    "precision_at_10pct",
                )
                if k in metrics
            ],
        },
    )


def _drift_chart(drift: ModelDrift) -> dict[str, Any]:
    """The model page's drift series: one point per finished batch, oldest first."""
    points = drift.points
    feature = [p.drift.max_psi or 0.0 for p in points]
    score = [p.drift.score_psi or 0.0 for p in points]
    unseen = [p.drift.unseen_share or 0.0 for p in points]
    top = max([*feature, *score, *unseen, 0.5])
    return {
        "drift": drift,
        "drift_x": [float(i + 1) for i in range(len(points))],
        "drift_series": [
            ("largest feature PSI", feature),
            ("score PSI", score),
            ("unseen share", unseen),
        ],
        "drift_y_max": float(min(top * 1.1, 10.0)),
    }
