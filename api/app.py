"""The app factory: ``create_app(settings)`` builds one self-contained service instance."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.db import make_engine, make_sessionmaker, migrate
from api.jobs import JobRunner, fail_interrupted
from api.metrics import Metrics, ServiceMiddleware
from api.problems import install_problem_handlers, install_problem_openapi
from api.routers import batches, containers, health, inspections, model, rules
from api.schemas.batches import BatchRowsCreate
from api.services._engine import ScorerCache
from api.settings import Settings
from api.state import AppState

log = logging.getLogger("lookout.api")

ROUTERS = (
    health.router,
    batches.router,
    containers.router,
    inspections.router,
    rules.router,
    model.router,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """A FastAPI app over the store and engine described by ``settings``.

    Migrations run here, so the store is at head before the first request. Other resources
    plug in with ``app.include_router(...)`` and their tables on ``api.db.Base``.
    """
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.sqlalchemy_url)
    migrate(settings.sqlalchemy_url, engine)
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        metrics=Metrics(),
        scorers=ScorerCache(settings),
        jobs=JobRunner(settings.workers),
    )
    interrupted = fail_interrupted(state.sessions)
    if interrupted:
        log.warning("marked %d interrupted batch(es) as failed", interrupted)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.warm_scorer:
            threading.Thread(target=_warm, args=(state,), daemon=True).start()
        else:
            state.scorer_ready = True
        yield
        state.jobs.shutdown()
        engine.dispose()

    app = FastAPI(
        title="Lookout API",
        version="1.0.0",
        summary="Container risk targeting for customs Port Control Units",
        description="Upload manifests, read flagged containers with reasons, record "
        "inspection results, manage rule packs. Errors are RFC 9457 problem details.",
        lifespan=lifespan,
    )
    app.state.lookout = state
    app.add_middleware(
        ServiceMiddleware, metrics=state.metrics, max_body_bytes=settings.max_upload_bytes
    )
    install_problem_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    __import__("api.federation").federation.install(app, state)  # urgent queries + worker
    install_problem_openapi(app, extra_models=(BatchRowsCreate,))
    return app


def _warm(state: AppState) -> None:
    try:
        state.scorers.get(None)
        state.scorer_ready = True
    except Exception as err:  # reported by /readyz, and logged with its traceback
        log.exception("building the scorer failed")
        state.scorer_error = f"{type(err).__name__}: {err}"
