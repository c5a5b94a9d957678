"""Prometheus gauges of the federation, read from the store at scrape time.

They go on the API's per-app registry, so ``GET /metrics`` shows overdue and expired
queries, recipients by state, case notes and their decisions, the outbox backlog and inbox
rejections by reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.federation.casenotes.tables import FedCaseNote, FedCaseNoteRecipient
from api.federation.context import Federation
from api.federation.states import AWAITING_ANSWER
from api.federation.tables import FedOutbox, FedQuery, FedRecipient
from api.tables import AuditEvent

log = logging.getLogger("lookout.federation")


def _families() -> dict[str, GaugeMetricFamily]:
    return {
        "queries": GaugeMetricFamily(
            "lookout_federation_queries",
            "Queries by box and summary status",
            labels=["box", "status"],
        ),
        "recipients": GaugeMetricFamily(
            "lookout_federation_recipients",
            "Recipient states of queries, by box",
            labels=["box", "state"],
        ),
        "overdue": GaugeMetricFamily(
            "lookout_federation_queries_overdue",
            "Queries past their deadline still awaiting an answer (or expired)",
            labels=["box"],
        ),
        "pending": GaugeMetricFamily(
            "lookout_federation_outbox_pending",
            "Messages not yet receipted, by recipient",
            labels=["recipient"],
        ),
        "casenotes": GaugeMetricFamily(
            "lookout_federation_casenotes",
            "Case notes by box and summary status",
            labels=["box", "status"],
        ),
        "decisions": GaugeMetricFamily(
            "lookout_federation_casenote_recipients",
            "Recipient states of case notes (sent, delivered, adopted, declined), by box",
            labels=["box", "state"],
        ),
        "rejected": GaugeMetricFamily(
            "lookout_federation_inbox_rejected",
            "Inbound envelopes rejected, by reason (audit log)",
            labels=["reason"],
        ),
    }


class FederationCollector(Collector):
    """Reads the federation tables on every scrape; a failing scrape is logged, not raised."""

    def __init__(self, fed: Federation):
        self.fed = fed

    def describe(self) -> Iterable[GaugeMetricFamily]:
        """The metric families (without samples), so registering does not touch the store."""
        return list(_families().values())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Current values."""
        families = _families()
        try:
            self._fill(families)
        except Exception:  # a scrape must not fail because the store hiccuped
            log.exception("federation metrics could not be read")
            return iter(())
        return iter(families.values())

    def _fill(self, families: dict[str, GaugeMetricFamily]) -> None:
        fed, unit = self.fed, self.fed.unit_id
        now = fed.clock()
        with fed.sessions() as session:
            for box, status, count in session.execute(
                select(FedQuery.box, FedQuery.status, func.count())
                .where(FedQuery.unit_id == unit)
                .group_by(FedQuery.box, FedQuery.status)
            ):
                families["queries"].add_metric([box, status], count)
            recipients = (
                select(FedQuery.box, FedRecipient.state, func.count())
                .join(FedQuery, FedQuery.id == FedRecipient.query_id)
                .where(FedQuery.unit_id == unit)
            )
            for box, state, count in session.execute(
                recipients.group_by(FedQuery.box, FedRecipient.state)
            ):
                families["recipients"].add_metric([box, state], count)
            overdue = (
                select(FedQuery.box, func.count(func.distinct(FedQuery.id)))
                .join(FedRecipient, FedRecipient.query_id == FedQuery.id)
                .where(FedQuery.unit_id == unit, FedQuery.deadline_at < now)
                .where(FedRecipient.state.in_([*AWAITING_ANSWER, "expired"]))
                .group_by(FedQuery.box)
            )
            counts: dict[str, int] = {box: n for box, n in session.execute(overdue)}
            for box in ("inbox", "outbox"):
                families["overdue"].add_metric([box], counts.get(box, 0))
            for recipient, count in session.execute(
                select(FedOutbox.recipient_unit, func.count())
                .where(FedOutbox.unit_id == unit, FedOutbox.status == "pending")
                .group_by(FedOutbox.recipient_unit)
            ):
                families["pending"].add_metric([recipient], count)
            self._fill_casenotes(session, families)
            reasons: dict[str, int] = {}
            for (detail,) in session.execute(
                select(AuditEvent.detail).where(
                    AuditEvent.unit_id == unit, AuditEvent.action == "federation.inbox.reject"
                )
            ):
                reason = str((detail or {}).get("reason", "unknown"))
                reasons[reason] = reasons.get(reason, 0) + 1
            for reason, count in sorted(reasons.items()):
                families["rejected"].add_metric([reason], count)

    def _fill_casenotes(self, session: Session, families: dict[str, GaugeMetricFamily]) -> None:
        unit = self.fed.unit_id
        for box, status, count in session.execute(
            select(FedCaseNote.box, FedCaseNote.status, func.count())
            .where(FedCaseNote.unit_id == unit)
            .group_by(FedCaseNote.box, FedCaseNote.status)
        ):
            families["casenotes"].add_metric([box, status], count)
        for box, state, count in session.execute(
            select(FedCaseNote.box, FedCaseNoteRecipient.state, func.count())
            .join(FedCaseNote, FedCaseNote.id == FedCaseNoteRecipient.casenote_id)
            .where(FedCaseNote.unit_id == unit)
            .group_by(FedCaseNote.box, FedCaseNoteRecipient.state)
        ):
            families["decisions"].add_metric([box, state], count)
