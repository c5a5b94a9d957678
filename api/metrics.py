"""Prometheus metrics with a registry per app (several apps may live in one process)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import HTTPException
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import PROBLEM_MEDIA_TYPE


class Metrics:
    """The service's metrics; ``registry`` is what ``GET /metrics`` exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "lookout_http_requests",
            "HTTP requests by method, route template and status code",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lookout_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.errors = Counter(
            "lookout_http_errors",
            "HTTP responses with status >= 400, by status code",
            ["status"],
            registry=self.registry,
        )
        self.batches = Counter(
            "lookout_batches_scored",
            "Batches finished, by outcome (done or failed) and mode (inline or background)",
            ["outcome", "mode"],
            registry=self.registry,
        )
        self.rows = Counter(
            "lookout_rows",
            "Manifest rows processed, by fate (in, scored, quarantined, flagged, selected)",
            ["fate"],
            registry=self.registry,
        )
        self.scoring_seconds = Histogram(
            "lookout_batch_scoring_seconds",
            "Wall time of scoring one batch (engine run plus indexing)",
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
            registry=self.registry,
        )
        # Drift of each unit's latest scored batch against the model's training window.
        self.drift = {
            name: Gauge(
                f"lookout_drift_{name}",
                f"Latest scored batch per unit: {text}",
                ["unit"],
                registry=self.registry,
            )
            for name, text in (
                ("max_psi", "largest population stability index of a model feature"),
                ("score_psi", "population stability index of the model score"),
                ("unseen_share", "share of rows with a category never seen in training"),
                ("max_missing_increase", "largest rise of a feature's missing share"),
                ("alarms", "number of drift warnings the scoring policy's thresholds raised"),
            )
        }

    def record_drift(self, unit_id: str, drift: dict[str, Any] | None) -> None:
        """Set the unit's drift gauges from a run record's ``drift`` section."""
        if not drift or drift.get("status") == "no_rows":
            return
        for name, gauge in self.drift.items():
            value = len(drift.get("alarms") or []) if name == "alarms" else drift.get(name)
            if isinstance(value, int | float):
                gauge.labels(unit_id).set(float(value))


class ServiceMiddleware:
    """Request ids, the request size limit and request metrics, as one ASGI layer."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = {"code": 500}

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(send=_send)
        else:
            try:
                await self.app(scope, self._limited(receive), _send)
            except _BodyTooLarge:
                await self._too_large(send=_send)
        route = scope.get("route")
        template = getattr(route, "path", None) or "<unmatched>"
        method = scope.get("method", "")
        elapsed = time.perf_counter() - started
        self.metrics.requests.labels(method, template, str(status["code"])).inc()
        self.metrics.latency.labels(method, template).observe(elapsed)
        if status["code"] >= 400:
            self.metrics.errors.labels(str(status["code"])).inc()

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def _receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise _BodyTooLarge(self.max_body_bytes)
            return message

        return _receive

    async def _too_large(self, *, send: Send) -> None:
        import json

        body: dict[str, Any] = {
            "type": "about:blank",
            "title": "Request too large",
            "status": 413,
            "detail": f"request body exceeds the limit of {self.max_body_bytes} bytes "
            "(LOOKOUT_MAX_UPLOAD_BYTES); split the manifest into smaller files",
        }
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


class _BodyTooLarge(HTTPException):
    """Raised while the body streams in, so FastAPI answers 413 (not 400) through the
    problem handlers."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            f"request body exceeds the limit of {limit} bytes (LOOKOUT_MAX_UPLOAD_BYTES); "
            "split the manifest into smaller files",
        )
