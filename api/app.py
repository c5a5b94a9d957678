"""The app factory: ``create_app(settings)`` builds one self-contained service instance."""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from api.db import make_engine, make_sessionmaker, migrate
from api.jobs import JobRunner, fail_interrupted
from api.metrics import Metrics, ServiceMiddleware
from api.problems import install_problem_handlers, install_problem_openapi
from api.routers import batches, containers, health, inspections, model, rules
from api.schemas.batches import BatchRowsCreate
from api.services import _engine
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
    url = settings.sqlalchemy_url
    read_engine = make_engine(url, read_only=True) if url.startswith("sqlite") else engine
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        read_sessions=make_sessionmaker(read_engine),
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
        read_engine.dispose()

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
    __import__("api.web").web.install(app)  # analysts' web pages under /web
    install_problem_openapi(app, extra_models=(BatchRowsCreate,))
    return app


_WARM_UP_CSV = (
    "container_number,bl_number,iso_type,hs_code,port_of_loading,port_of_discharge,filed_at\n"
    "MSCU1234565,WARMUP1,45R1,080390,ECGYE,PKKHI,2026-01-01T00:00:00Z\n"
    "CSQU3054383,WARMUP2,22G1,620342,CNSHA,PKKHI,2026-01-01T00:00:00Z\n"
)


def _warm(state: AppState) -> None:
    try:
        scorer = state.scorers.get(None)
    except Exception as err:  # reported by /readyz, and logged with its traceback
        log.exception("building the scorer failed")
        state.scorer_error = f"{type(err).__name__}: {err}"
        return
    # Score a two-row sample once so compiled kernels and caches are hot before the first
    # real batch; a failure here is logged, not fatal (real batches report their own errors).
    try:
        with tempfile.TemporaryDirectory(prefix="lookout-warm-") as tmp:
            sample = Path(tmp) / "warm-up.csv"
            sample.write_text(_WARM_UP_CSV)
            _engine.run(
                sample,
                scorer=scorer,
                out_dir=Path(tmp) / "out",
                spec=None,
                capacity=None,
                seed=0,
                progress=None,
            )
    except Exception:
        log.warning("warm-up scoring failed", exc_info=True)
    state.scorer_ready = True
