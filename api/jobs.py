"""Background scoring: an in-process thread pool; progress and outcome live in the store.

A restart cannot resume a half-done run, so at startup every batch still queued or running
is marked failed with a clear reason rather than left hanging or dropped silently. One
server process per database is assumed (see api/README.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from api.db import utcnow
from api.tables import Batch

log = logging.getLogger("lookout.api.jobs")

INTERRUPTED = {
    "title": "Interrupted",
    "detail": "the server stopped while this batch was queued or running",
    "hint": "upload the manifest again",
}


class JobRunner:
    """A small worker pool for batch scoring jobs."""

    def __init__(self, workers: int):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lookout-batch")

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``fn(*args)`` on a worker; exceptions are logged, never lost."""
        future = self._pool.submit(fn, *args)
        future.add_done_callback(_log_failure)
        return future

    def shutdown(self) -> None:
        """Stop taking jobs; queued ones are cancelled (and failed at the next start)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _log_failure(future: Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("background job failed", exc_info=future.exception())


def fail_interrupted(sessions: sessionmaker[Session]) -> int:
    """Mark batches left queued or running by a previous process as failed."""
    with sessions() as session:
        result = session.execute(
            update(Batch)
            .where(Batch.status.in_(("queued", "running")))
            .values(status="failed", error=INTERRUPTED, finished_at=utcnow())
        )
        session.commit()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
