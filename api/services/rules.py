"""Rule packs: validate, upload, activate (audited), statistics and backtests."""

from __future__ import annotations

import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import polars as pl
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from api.audit import Auditor
from api.auth import Principal
from api.db import utcnow
from api.i18n import _N
from api.problems import ProblemException
from api.schemas.rules import (
    BacktestReport,
    BacktestRequest,
    DiagnosticPublic,
    RulePackFiles,
    RulePackPublic,
    RulePublic,
    RulesOverview,
    RuleStats,
    ValidationReport,
)
from api.services.batches import batch_dir
from api.state import AppState
from api.tables import Batch, Inspection, RuleHit, RulePack, ScoredContainer
from engine.identity import fingerprint

POSITIVE = ("seizure", "irregularity")
MAX_BACKTEST_BATCHES = 1000


def _safe_name(name: str) -> str:
    clean = Path(name).name
    if not clean or clean in (".", "..") or not clean.endswith((".yaml", ".yml")):
        raise ProblemException(
            422,
            _N("Invalid file name"),
            f"rule pack file {name!r} must be a plain name ending .yaml",
        )
    return clean


def _write_pack(files: dict[str, str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / _safe_name(name)).write_text(text, encoding="utf-8")


def validate_files(body: RulePackFiles) -> ValidationReport:
    """Check a pack given as text: every diagnostic, as `lookout rules check` reports it."""
    from rules import check_pack, load_pack

    with tempfile.TemporaryDirectory(prefix="lookout-pack-") as tmp:
        root = Path(tmp)
        _write_pack(body.files, root)
        prefix = str(root) + "/"
        found = check_pack(root)
        diagnostics = [
            DiagnosticPublic(
                file=d.file.removeprefix(prefix),
                line=d.line,
                col=d.col,
                severity=d.severity,
                message=d.message,
                hint=d.hint,
                rendered=d.render().replace(prefix, ""),
            )
            for d in found
        ]
        errors = sum(d.is_error for d in found)
        rule_count = len(load_pack(root).rules) if errors == 0 else 0
    return ValidationReport(
        valid=errors == 0,
        errors=errors,
        warnings=len(found) - errors,
        rule_count=rule_count,
        diagnostics=diagnostics,
    )


def content_hash(files: dict[str, str]) -> str:
    """A hash of the pack's file names and texts (the storage key of an upload)."""
    return fingerprint(*(f"{_safe_name(name)}\0{files[name]}\0" for name in sorted(files)))


def upload_pack(
    state: AppState, session: Session, principal: Principal, audit: Auditor, body: RulePackFiles
) -> RulePackPublic:
    """Store a valid pack as a new inactive version of the unit's rules (422 if invalid)."""
    report = validate_files(body)
    if not report.valid:
        raise ProblemException(
            422,
            _N("Invalid rule pack"),
            f"the pack has {report.errors} error(s); first: {report.diagnostics[0].rendered}"
            if report.diagnostics
            else "the pack has errors",
            diagnostics=[d.model_dump() for d in report.diagnostics],
        )
    pack = store_pack_version(
        state,
        session,
        unit_id=principal.unit_id,
        uploaded_by=principal.key_id,
        name=body.name,
        files=body.files,
        rule_count=report.rule_count,
    )
    audit("rule_pack.upload", str(pack.id), name=body.name, content_hash=pack.content_hash)
    session.commit()
    return pack_public(pack)


def store_pack_version(
    state: AppState,
    session: Session,
    *,
    unit_id: str,
    uploaded_by: str,
    name: str,
    files: dict[str, str],
    rule_count: int,
) -> RulePack:
    """Write a (validated) pack under its content hash and add it as an inactive version;
    the caller audits and commits."""
    digest = content_hash(files)
    folder = state.settings.packs_dir / digest
    if not folder.exists():
        tmp = folder.with_name(f".{digest}.{uploaded_by}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        _write_pack(files, tmp)
        tmp.replace(folder)
    pack = RulePack(
        unit_id=unit_id,
        content_hash=digest,
        name=name[:200],
        files=sorted(_safe_name(n) for n in files),
        rule_count=rule_count,
        active=False,
        uploaded_by=uploaded_by[:32],
        uploaded_at=utcnow(),
    )
    session.add(pack)
    session.flush()
    return pack


def make_active(session: Session, unit_id: str, pack: RulePack) -> int | None:
    """Make ``pack`` the unit's active version; the previously active pack's id. The caller
    audits and commits."""
    previous = session.scalar(
        select(RulePack.id).where(RulePack.unit_id == unit_id, RulePack.active.is_(True))
    )
    session.execute(update(RulePack).where(RulePack.unit_id == unit_id).values(active=False))
    pack.active, pack.activated_at = True, utcnow()
    return previous


def activate_pack(
    state: AppState, session: Session, principal: Principal, audit: Auditor, pack_id: int
) -> RulePackPublic:
    """Make an uploaded pack the unit's active one; later batches score with it."""
    pack = session.get(RulePack, pack_id)
    if pack is None or pack.unit_id != principal.unit_id:
        raise ProblemException(
            404, _N("Rule pack not found"), f"no rule pack {pack_id} in your unit"
        )
    previous = make_active(session, principal.unit_id, pack)
    audit(
        "rule_pack.activate",
        str(pack.id),
        content_hash=pack.content_hash,
        previous_pack_id=previous,
    )
    session.commit()
    return pack_public(pack)


def pack_public(pack: RulePack) -> RulePackPublic:
    """The API view of an uploaded pack."""
    return RulePackPublic(
        id=pack.id,
        name=pack.name,
        content_hash=pack.content_hash,
        files=list(pack.files),
        rule_count=pack.rule_count,
        active=pack.active,
        uploaded_by=pack.uploaded_by,
        uploaded_at=pack.uploaded_at,
        activated_at=pack.activated_at,
    )


def rule_stats(session: Session, unit_id: str) -> dict[str, RuleStats]:
    """Per-rule hits (all time, 30 and 90 days) and inspection outcomes, in SQL."""
    now = utcnow()
    hits = session.execute(
        select(
            RuleHit.rule_id,
            func.count(),
            func.sum(case((RuleHit.created_at >= now - timedelta(days=30), 1), else_=0)),
            func.sum(case((RuleHit.created_at >= now - timedelta(days=90), 1), else_=0)),
        )
        .where(RuleHit.unit_id == unit_id)
        .group_by(RuleHit.rule_id)
    ).all()
    outcomes = session.execute(
        select(
            RuleHit.rule_id,
            func.count(func.distinct(RuleHit.scored_id)),
            func.count(func.distinct(case((Inspection.outcome.in_(POSITIVE), RuleHit.scored_id)))),
        )
        .join(Inspection, Inspection.scored_id == RuleHit.scored_id)
        .where(RuleHit.unit_id == unit_id)
        .group_by(RuleHit.rule_id)
    ).all()
    inspected = {rule_id: (int(n), int(p)) for rule_id, n, p in outcomes}
    stats: dict[str, RuleStats] = {}
    for rule_id, total, d30, d90 in hits:
        n, p = inspected.get(rule_id, (0, 0))
        stats[rule_id] = RuleStats(
            hits=int(total),
            hits_30d=int(d30 or 0),
            hits_90d=int(d90 or 0),
            inspected=n,
            positives=p,
            hit_rate=(p / n) if n else None,
        )
    return stats


def overview(state: AppState, session: Session, principal: Principal) -> RulesOverview:
    """The active pack (uploaded or shipped), its rules with statistics, all versions."""
    from rules import DEFAULT_PACK, load_pack

    versions = list(
        session.scalars(
            select(RulePack)
            .where(RulePack.unit_id == principal.unit_id)
            .order_by(RulePack.uploaded_at.desc(), RulePack.id.desc())
        )
    )
    active_row = next((p for p in versions if p.active), None)
    if active_row is not None:
        path = state.settings.packs_dir / active_row.content_hash
    else:
        path = state.settings.rules_dir or DEFAULT_PACK
    pack = load_pack(path)
    if active_row is not None:
        active = pack_public(active_row)
    else:
        active = RulePackPublic(
            id=None,
            name="configured" if state.settings.rules_dir else "shipped default",
            content_hash=pack.pack_hash,
            files=[Path(f).name for f in pack.files],
            rule_count=len(pack.rules),
            active=True,
            uploaded_by=None,
            uploaded_at=None,
            activated_at=None,
        )
    stats = rule_stats(session, principal.unit_id)
    empty = RuleStats(hits=0, hits_30d=0, hits_90d=0, inspected=0, positives=0, hit_rate=None)
    rules = [
        RulePublic(
            id=r.id,
            title=r.title,
            titles={loc: title for loc, title, _ in r.translations},
            status=r.status,
            severity=r.severity,
            weight=r.weight,
            owner=r.owner,
            version=r.version,
            stats=stats.get(r.id, empty),
            provenance=dict(r.provenance) or None,
        )
        for r in pack.rules
    ]
    return RulesOverview(active=active, rules=rules, versions=[pack_public(p) for p in versions])


def history_frame(
    state: AppState, session: Session, principal: Principal, batch_ids: list[str] | None
) -> pl.DataFrame:
    """The unit's scored rows with inspection labels (``inspected``, ``inspection_result``,
    ``finding_type``): the history a backtest or the history store reads."""
    query = select(Batch.id).where(Batch.unit_id == principal.unit_id, Batch.status == "done")
    if batch_ids is not None:
        query = query.where(Batch.id.in_(batch_ids))
    ids = list(session.scalars(query.order_by(Batch.created_at).limit(MAX_BACKTEST_BATCHES)))
    if batch_ids is not None and len(set(batch_ids)) != len(ids):
        missing = sorted(set(batch_ids) - set(ids))
        raise ProblemException(
            404, _N("Batch not found"), f"no scored batch {', '.join(missing[:5])} in your unit"
        )
    if not ids:
        raise ProblemException(
            409, _N("No history"), "your unit has no scored batch to backtest on; upload one first"
        )
    labels = pl.DataFrame(
        session.execute(
            select(
                ScoredContainer.batch_id,
                ScoredContainer.row_index,
                Inspection.outcome,
                Inspection.finding_type,
            )
            .join(Inspection, Inspection.scored_id == ScoredContainer.id)
            .where(ScoredContainer.unit_id == principal.unit_id)
            .where(ScoredContainer.batch_id.in_(ids))
            .order_by(Inspection.inspected_at)
        ).all(),
        schema={
            "batch_id": pl.String,
            "row_index": pl.Int64,
            "inspection_result": pl.String,
            "finding_type": pl.String,
        },
        orient="row",
    ).unique(["batch_id", "row_index"], keep="last")
    frames = [
        pl.scan_parquet(batch_dir(state, b) / "out" / "scored.parquet").with_columns(
            pl.lit(b).alias("batch_id")
        )
        for b in ids
    ]
    scored = pl.concat(frames, how="diagonal_relaxed").collect()
    labelled = scored.drop(
        [c for c in ("inspected", "inspection_result", "finding_type") if c in scored.columns]
    ).join(labels, on=["batch_id", "row_index"], how="left")
    return labelled.with_columns(pl.col("inspection_result").is_not_null().alias("inspected"))


def backtest(
    state: AppState, session: Session, principal: Principal, body: BacktestRequest
) -> BacktestReport:
    """Evaluate a pack over the unit's history: per-rule hits, precision and overlap."""
    from rules import load_pack
    from rules._backtest import backtest as run_backtest

    history = history_frame(state, session, principal, body.batch_ids)
    session.rollback()  # only read: end the transaction before other sessions open
    with tempfile.TemporaryDirectory(prefix="lookout-backtest-") as tmp:
        if body.pack is not None:
            report = validate_files(body.pack)
            if not report.valid:
                raise ProblemException(
                    422,
                    _N("Invalid rule pack"),
                    f"the pack has {report.errors} error(s)",
                    diagnostics=[d.model_dump() for d in report.diagnostics],
                )
            _write_pack(body.pack.files, Path(tmp))
            path: Path | None = Path(tmp)
        else:
            path = state.active_rules_dir(principal.unit_id) or state.settings.rules_dir
        pack = load_pack(path) if path is not None else load_pack()
        # Stored rows already carry every derived field; only the old rule outputs go.
        outputs = ("rule_score", "rule_hits", "rule_reasons", "rule_shadow_hits")
        frame = history.drop([c for c in outputs if c in history.columns])
        result = run_backtest(pack, frame, prepare=False)
    return BacktestReport(
        rows=int(result.totals["rows"]),
        inspected=int(result.totals["inspected"]),
        positives=int(result.totals["positives"]),
        rules=result.rules.to_dicts(),
        totals=result.totals,
        overlap=result.overlap,
        skipped=result.skipped,
        notes=result.notes,
    )
