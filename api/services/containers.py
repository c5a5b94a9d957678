"""Container look-up: every scored appearance in the caller's unit, with inspections."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.i18n import _N
from api.problems import ProblemException
from api.schemas.batches import localised_reasons
from api.schemas.containers import Appearance, ContainerDetail
from api.schemas.inspections import InspectionPublic
from api.services.batches import indexed_field
from api.services.inspections import inspection_public, normalise_container
from api.state import AppState
from api.tables import Batch, Inspection, ScoredContainer

MAX_APPEARANCES = 500


def container_detail(
    state: AppState, session: Session, principal: Principal, container_number: str
) -> ContainerDetail:
    """Appearances newest first; 404 if the unit never scored this container."""
    number = normalise_container(container_number)
    rows = session.execute(
        select(ScoredContainer, Batch.created_at)
        .join(Batch, Batch.id == ScoredContainer.batch_id)
        .where(ScoredContainer.unit_id == principal.unit_id)
        .where(ScoredContainer.container_number == number)
        .order_by(Batch.created_at.desc(), ScoredContainer.id.desc())
        .limit(MAX_APPEARANCES)
    ).all()
    if not rows:
        raise ProblemException(
            404, _N("Container not found"), f"container {number} was never scored in your unit"
        )
    by_row: dict[int, list[InspectionPublic]] = defaultdict(list)
    record_ids = {scored.id: scored.record_id for scored, _ in rows}
    for inspection in session.scalars(
        select(Inspection)
        .where(Inspection.unit_id == principal.unit_id)
        .where(Inspection.scored_id.in_(list(record_ids)))
        .order_by(Inspection.inspected_at.desc(), Inspection.id.desc())
    ):
        by_row[inspection.scored_id].append(
            inspection_public(inspection, record_ids[inspection.scored_id])
        )
    appearances = []
    for scored, created_at in rows:
        reasons = json.loads(scored.reasons)
        appearances.append(
            Appearance(
                batch_id=scored.batch_id,
                batch_created_at=created_at,
                record_id=scored.record_id,
                bl_number=scored.bl_number,
                lane=scored.lane,
                risk_score=scored.risk_score,
                rule_score=scored.rule_score,
                model_probability=scored.model_probability,
                selected=scored.selected,
                selection_reason=scored.selection_reason,
                flagged=scored.flagged,
                rule_hits=reasons.get("rule_hits") or [],
                rule_reasons=reasons.get("rule_reasons") or [],
                model_reasons=reasons.get("model_reasons") or [],
                localised=localised_reasons(reasons),
                fields=json.loads(scored.fields),
                inspections=by_row.get(scored.id, []),
            )
        )
    queries_section = state.container_sections.get("queries")
    queries = queries_section(session, principal.unit_id, number) if queries_section else []
    return ContainerDetail(container_number=number, appearances=appearances, queries=queries)


PARTY_FIELDS = ("shipper_name", "consignee_name", "notify_name")


def party_history(
    session: Session,
    principal: Principal,
    parties: dict[str, str],
    *,
    exclude: str,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Flagged rows of the unit naming the same shipper / consignee / notify party.

    Only flagged rows keep their manifest fields in the index, so this is the flagged
    history of the parties (what an analyst wants first), not every shipment.
    """
    out: list[dict[str, Any]] = []
    for role, name in parties.items():
        if not name or role not in PARTY_FIELDS:
            continue
        rows = session.execute(
            select(ScoredContainer, Batch.created_at)
            .join(Batch, Batch.id == ScoredContainer.batch_id)
            .where(ScoredContainer.unit_id == principal.unit_id)
            .where(ScoredContainer.flagged.is_(True))
            .where(indexed_field(session, role) == name)
            .where(ScoredContainer.container_number != exclude)
            .order_by(Batch.created_at.desc(), ScoredContainer.id.desc())
            .limit(limit)
        ).all()
        out.extend(
            {
                "role": role.removesuffix("_name"),
                "party": name,
                "container_number": row.container_number,
                "batch_id": row.batch_id,
                "batch_created_at": created_at,
                "lane": row.lane,
                "risk_score": row.risk_score,
                "bl_number": row.bl_number,
            }
            for row, created_at in rows
        )
    return out
