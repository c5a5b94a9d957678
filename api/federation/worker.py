"""The delivery worker: sends outbox rows as signed envelopes until a signed receipt returns.

Per recipient, messages go strictly in outbox order (a close never overtakes its query).
Each attempt is signed afresh (new timestamp, same message id), so a retry after a long
outage is inside the receiver's clock window and a replayed old envelope is not. Failures
back off exponentially with jitter. All state is in the database: a restarted server picks
up exactly where the previous one stopped, and the receiver's message-id idempotency turns a
resend after a crash into a ``duplicate`` receipt, not a second effect.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from api.federation import envelope as env
from api.federation import service
from api.federation.casenotes import service as casenotes
from api.federation.context import Federation
from api.federation.directory import Partner
from api.federation.errors import DeliveryError
from api.federation.tables import FedOutbox, FedQuery, FedRecipient

log = logging.getLogger("lookout.federation")

Transport = Callable[[Partner, dict[str, Any]], Any]
"""Posts an envelope to a partner and returns the decoded response (the receipt)."""


class HttpTransport:
    """POST ``<base_url>/v1/federation/inbox`` over HTTP(S)."""

    def __init__(self, timeout: float):
        self.client = httpx.Client(timeout=timeout, follow_redirects=False)

    def __call__(self, partner: Partner, envelope: dict[str, Any]) -> Any:
        url = f"{partner.base_url}/v1/federation/inbox"
        try:
            response = self.client.post(url, json=envelope)
        except httpx.HTTPError as err:
            raise DeliveryError(
                f"{partner.unit_id} unreachable: {type(err).__name__}: {err}"
            ) from err
        if response.status_code != 200:
            detail = response.text[:300]
            raise DeliveryError(f"{partner.unit_id} answered {response.status_code}: {detail}")
        try:
            return response.json()
        except ValueError as err:
            raise DeliveryError(f"{partner.unit_id} answered with non-JSON") from err

    def close(self) -> None:
        """Release the connection pool."""
        self.client.close()


def backoff_seconds(attempts: int, base: float, cap: float, rng: random.Random) -> float:
    """Delay before the next attempt: ``min(cap, base·2^(n-1))``, jittered into its upper half."""
    delay = min(cap, base * 2.0 ** max(0, attempts - 1))
    return delay / 2 + rng.uniform(0, delay / 2)


def due_heads(fed: Federation) -> list[FedOutbox]:
    """The oldest pending row per recipient, if its next attempt is due."""
    now = fed.clock()
    with fed.sessions() as session:
        rows = session.scalars(
            select(FedOutbox)
            .where(FedOutbox.unit_id == fed.unit_id, FedOutbox.status == "pending")
            .order_by(FedOutbox.id)
            .limit(1000)
        )
        heads: dict[str, FedOutbox] = {}
        for row in rows:
            heads.setdefault(row.recipient_unit, row)
    return [row for row in heads.values() if row.next_attempt_at <= now]


def attempt(fed: Federation, row: FedOutbox, transport: Transport, rng: random.Random) -> bool:
    """One delivery attempt of ``row``; True if a valid receipt came back and was recorded."""
    partner = fed.directory.get(row.recipient_unit)
    try:
        if partner is None:
            raise DeliveryError(f"{row.recipient_unit} is no longer in the partner directory")
        envelope = env.seal(
            fed.identity,
            message_id=row.message_id,
            recipient=row.recipient_unit,
            kind=row.kind,
            payload=row.payload,
            now=fed.clock(),
        )
        receipt = transport(partner, envelope)
        problem = env.receipt_problem(receipt, envelope, partner.public_key)
        if problem:
            raise DeliveryError(f"bad receipt from {partner.unit_id}: {problem}")
    except DeliveryError as err:
        _failed(fed, row.id, str(err), rng)
        return False
    _delivered(fed, row.id, receipt)
    return True


def _failed(fed: Federation, row_id: int, error: str, rng: random.Random) -> None:
    with fed.sessions() as session:
        row = session.get(FedOutbox, row_id)
        if row is None or row.status != "pending":
            return
        row.attempts += 1
        delay = backoff_seconds(
            row.attempts, fed.settings.retry_base_seconds, fed.settings.retry_max_seconds, rng
        )
        row.next_attempt_at = fed.clock() + timedelta(seconds=delay)
        row.last_error = error[:1000]
        session.commit()
    log.info("delivery of %s failed (%s); retry in %.1fs", row_id, error, delay)


def _delivered(fed: Federation, row_id: int, receipt: dict[str, Any]) -> None:
    with fed.sessions() as session:
        row = session.get(FedOutbox, row_id)
        if row is None or row.status != "pending":
            return
        now = fed.clock()
        row.status, row.receipt, row.delivered_at, row.last_error = "delivered", receipt, now, None
        service.audit(
            session,
            fed,
            "system:outbox",
            "federation.outbox.delivered",
            row.query_id,
            message_id=row.message_id,
            kind=row.kind,
            recipient=row.recipient_unit,
            attempts=row.attempts + 1,
            receipt_status=receipt["status"],
        )
        if row.kind == casenotes.KIND_NOTE:
            casenotes.delivered(session, fed, row)
        elif row.kind == "query":
            query = session.get(FedQuery, row.query_id)
            recipient = session.scalar(
                select(FedRecipient).where(
                    FedRecipient.query_id == row.query_id,
                    FedRecipient.recipient_unit == row.recipient_unit,
                )
            )
            if query is not None and recipient is not None:
                if recipient.state == "sent":
                    service.set_state(
                        session, fed, query, recipient, "delivered", actor="system:outbox"
                    )
                elif recipient.delivered_at is None:
                    recipient.delivered_at = now
        session.commit()


def _next_pending(fed: Federation, recipient: str) -> FedOutbox | None:
    with fed.sessions() as session:
        return session.scalar(
            select(FedOutbox)
            .where(FedOutbox.unit_id == fed.unit_id, FedOutbox.status == "pending")
            .where(FedOutbox.recipient_unit == recipient)
            .order_by(FedOutbox.id)
            .limit(1)
        )


def run_once(
    fed: Federation, transport: Transport, rng: random.Random, *, per_recipient: int = 100
) -> int:
    """Expire overdue queries, then drain each due recipient's queue in order, stopping at
    its first failure (or after ``per_recipient`` messages); the number delivered."""
    with fed.sessions() as session:
        if service.sweep_expired(session, fed):
            session.commit()
    delivered = 0
    for head in due_heads(fed):
        row: FedOutbox | None = head
        for _ in range(per_recipient):
            if row is None or not attempt(fed, row, transport, rng):
                break
            delivered += 1
            row = _next_pending(fed, head.recipient_unit)
    return delivered


class DeliveryWorker:
    """A background thread running ``run_once`` on wake-ups and every ``poll_seconds``."""

    def __init__(self, fed: Federation, transport: Transport | None = None):
        self.fed = fed
        self._own_transport = transport is None
        self.transport: Transport = transport or HttpTransport(fed.settings.request_timeout_seconds)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rng = random.Random()

    def start(self) -> None:
        """Start the thread (idempotent)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, name="lookout-federation", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread and wait for the current attempt to finish."""
        self._stop.set()
        self.fed.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._own_transport and isinstance(self.transport, HttpTransport):
            self.transport.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.fed.wake.clear()
            try:
                run_once(self.fed, self.transport, self._rng)
            except Exception:  # keep delivering; the error is logged with its traceback
                log.exception("federation delivery round failed")
            self.fed.wake.wait(self.fed.settings.poll_seconds)
