"""Urgent queries and case notes between partner units: signed envelopes, outbox delivery,
deadlines, group addresses, audit.

``install(app, state)`` adds the ``/v1/queries``, ``/v1/casenotes`` and ``/v1/federation``
routes to an API app and runs the delivery worker for the app's lifetime. The unit identity
comes from ``lookout unit init``; without it the routes answer 503 and nothing is sent.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from api.federation.config import FederationSettings
from api.federation.context import Federation
from api.federation.directory import Partner, PartnerDirectory, parse_directory
from api.federation.envelope import canonical, make_receipt, receipt_problem, seal, signature_valid
from api.federation.errors import (
    DeliveryError,
    FederationError,
    Forbidden,
    InvalidTransition,
    NotFound,
    RejectedEnvelope,
    UnitConfigError,
)
from api.federation.inbox import receive
from api.federation.keys import UnitIdentity, init_unit, load_unit
from api.federation.states import STATES, TRANSITIONS, can_move, move, summarise
from api.federation.worker import DeliveryWorker, HttpTransport, backoff_seconds, run_once

__all__ = [
    "STATES",
    "TRANSITIONS",
    "DeliveryError",
    "DeliveryWorker",
    "Federation",
    "FederationError",
    "FederationSettings",
    "Forbidden",
    "HttpTransport",
    "InvalidTransition",
    "NotFound",
    "Partner",
    "PartnerDirectory",
    "RejectedEnvelope",
    "UnitConfigError",
    "UnitIdentity",
    "backoff_seconds",
    "can_move",
    "canonical",
    "init_unit",
    "install",
    "load_unit",
    "make_receipt",
    "move",
    "parse_directory",
    "receipt_problem",
    "receive",
    "run_once",
    "seal",
    "signature_valid",
    "summarise",
]

log = logging.getLogger("lookout.federation")


def install(app: FastAPI, state: Any, settings: FederationSettings | None = None) -> None:
    """Mount the federation routes on ``app`` and tie the delivery worker to its lifespan.

    ``state`` is the API's ``AppState`` (settings, sessions, container sections).
    """
    from api.federation import routers, service
    from api.federation.casenotes import routers as casenote_routers

    settings = settings or FederationSettings()
    fed: Federation | None = None
    try:
        fed = Federation.load(settings, state.settings.data_dir, state.sessions)
    except UnitConfigError as err:
        log.warning("federation disabled: %s", err)
        app.state.federation_error = str(err)
    app.state.federation = fed
    unit_setting = getattr(state.settings, "unit_id", None)
    if fed is not None and unit_setting not in (None, fed.unit_id):
        log.warning(
            "LOOKOUT_UNIT_ID is %s but the unit folder is %s; query routes accept only keys of %s",
            unit_setting,
            fed.unit_id,
            fed.unit_id,
        )
    app.include_router(routers.queries)
    app.include_router(routers.federation)
    app.include_router(casenote_routers.router)
    if fed is None:
        return
    metrics = getattr(state, "metrics", None)
    if metrics is not None:
        from api.federation.metrics import FederationCollector

        metrics.registry.register(FederationCollector(fed))
    state.container_sections["queries"] = lambda session, unit_id, number: (
        service.container_queries(session, fed, number) if unit_id == fed.unit_id else []
    )
    if not settings.worker:
        return
    worker = DeliveryWorker(fed)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[Any]:
        async with inner(application) as value:
            worker.start()
            try:
                yield value
            finally:
                worker.stop()

    app.router.lifespan_context = lifespan
