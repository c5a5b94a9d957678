"""Read-only look-ups the pages need beyond what ``api.services`` offers today.

Each is scoped to the principal's unit exactly like the services, and goes through the
services for access checks (``get_batch``) and sort orders (``SORTS``). They belong in
``api.services`` (see api/web/README.md); until then they live here, small and tested.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import JSON, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from api.auth import Principal
from api.db import utcnow
from api.services import batches as batch_service
from api.tables import Batch, RuleHit, ScoredContainer

PARTY_FIELDS = ("shipper_name", "consignee_name", "notify_name")


def _field(session: Session, name: str) -> Any:
    """A manifest field of the indexed ``fields`` JSON text, as SQL text.

    PostgreSQL needs the text cast to JSON; SQLite's ``CAST(x AS JSON)`` would apply numeric
    affinity, so there the text is only *treated* as JSON (``json_extract`` reads text).
    """
    if session.get_bind().dialect.name == "postgresql":
        return cast(ScoredContainer.fields, JSON)[name].as_string()
    return type_coerce(ScoredContainer.fields, JSON)[name].as_string()


def flagged_rows(
    session: Session,
    principal: Principal,
    batch_id: str,
    *,
    lanes: list[str],
    rule: str | None,
    selected: bool | None,
    port: str | None,
    hs_chapter: str | None,
    sort: str,
    offset: int,
    limit: int,
) -> tuple[list[ScoredContainer], int]:
    """``api.services.batches.flagged`` plus filters on port of loading and HS chapter."""
    if not port and not hs_chapter:
        return batch_service.flagged(
            session,
            principal,
            batch_id,
            lanes=lanes,
            rule=rule,
            selected=selected,
            min_score=None,
            sort=sort,
            offset=offset,
            limit=limit,
        )
    batch_service.get_batch(session, principal, batch_id)
    where: list[Any] = [ScoredContainer.batch_id == batch_id, ScoredContainer.flagged.is_(True)]
    if lanes:
        where.append(ScoredContainer.lane.in_(lanes))
    if selected is not None:
        where.append(ScoredContainer.selected.is_(selected))
    if rule:
        where.append(
            ScoredContainer.id.in_(
                select(RuleHit.scored_id).where(
                    RuleHit.batch_id == batch_id, RuleHit.rule_id == rule
                )
            )
        )
    if port:
        where.append(_field(session, "port_of_loading") == port.strip().upper())
    if hs_chapter:
        where.append(_field(session, "hs_chapter") == hs_chapter.strip().zfill(2))
    total = session.scalar(select(func.count()).select_from(ScoredContainer).where(*where)) or 0
    rows = session.scalars(
        select(ScoredContainer)
        .where(*where)
        .order_by(*batch_service.SORTS[sort])
        .offset(offset)
        .limit(limit)
    )
    return list(rows), int(total)


def batch_facets(session: Session, principal: Principal, batch_id: str) -> dict[str, list[str]]:
    """The rule ids, ports of loading and HS chapters present among a batch's flagged rows."""
    batch_service.get_batch(session, principal, batch_id)
    rules = session.scalars(
        select(RuleHit.rule_id)
        .where(RuleHit.batch_id == batch_id, RuleHit.unit_id == principal.unit_id)
        .distinct()
        .order_by(RuleHit.rule_id)
    )
    flagged = [ScoredContainer.batch_id == batch_id, ScoredContainer.flagged.is_(True)]
    # Few distinct values: sorted here (PostgreSQL refuses ORDER BY of an unnamed
    # expression under SELECT DISTINCT).
    ports = session.scalars(select(_field(session, "port_of_loading")).where(*flagged).distinct())
    chapters = session.scalars(select(_field(session, "hs_chapter")).where(*flagged).distinct())
    return {
        "rules": list(rules),
        "ports": sorted(p for p in ports if p),
        "chapters": sorted(c for c in chapters if c),
    }


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
            .where(_field(session, role) == name)
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


def rows_scored_since(session: Session, principal: Principal, days: int) -> int:
    """Rows the unit scored in batches created in the last ``days`` days (rate denominators)."""
    since = utcnow() - timedelta(days=days)
    total = session.scalar(
        select(func.coalesce(func.sum(Batch.rows_scored), 0)).where(
            Batch.unit_id == principal.unit_id, Batch.status == "done", Batch.created_at >= since
        )
    )
    return int(total or 0)
