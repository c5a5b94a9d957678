"""Shared helpers of the web tests: an in-process site with two units' keys and a batch."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from api.auth import create_key
from api.db import utcnow
from api.settings import Settings
from api.tables import Batch, RuleHit, ScoredContainer

A, B = "UZ-TAS-PCU", "KZ-ALA-PCU"
NOTE = (
    "batch 387bccbc9704 is already in the history store (3 rows, added 2026-11-28 09:00:00): "
    "its own rows are left out of its history features and it is not appended again"
)
CARD = {
    "name": "demo model",
    "trained_at": "2026-11-01T10:00:00+00:00",
    "features": ["consignee_first_seen_days", "port_of_loading"],
    "data_hash": "ab" * 32,
    "model_hash": "cd" * 8,
    "training_window": {"from": "2026-08-01", "to": "2026-09-30", "rows": 1000, "positives": 9},
    "validation_window": {"from": "2026-10-01", "to": "2026-10-31", "rows": 500, "positives": 4},
    "metrics": {
        "base_rate": 0.008,
        "precision_at_1pct": 0.4,
        "recall_at_1pct": 0.5,
        "precision_at_5pct": 0.12,
        "recall_at_5pct": 0.75,
        "curve": [
            {"rate": 0.01, "inspected": 5, "precision": 0.4, "recall": 0.5},
            {"rate": 0.05, "inspected": 25, "precision": 0.12, "recall": 0.75},
            {"rate": 0.1, "inspected": 50, "precision": 0.08, "recall": 1.0},
        ],
    },
}


class Browserless:
    """A cookie-keeping client for the ASGI app (httpx's ASGI transport, no network)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.cookies = httpx.Cookies()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver", cookies=self.cookies
            ) as client:
                response = await client.request(method, url, **kwargs)
                self.cookies = httpx.Cookies(client.cookies)
                return response

        return asyncio.run(go())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def csrf(self, url: str = "/web/batches") -> str:
        """The CSRF token the page at ``url`` put in its forms."""
        match = re.search(r'name="csrf_token" value="([^"]+)"', self.get(url).text)
        assert match, url
        return match.group(1)

    def sign_in(self, key: str, next_url: str = "/web/batches") -> httpx.Response:
        token = self.csrf("/web/signin")
        return self.post(
            "/web/signin", data={"api_key": key, "csrf_token": token, "next": next_url}
        )


def make_site(tmp_path: Path, database_url: str) -> Iterator[dict[str, Any]]:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "card.json").write_text(json.dumps(CARD))
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        warm_scorer=False,
        unit_id=A,
        model_dir=model_dir,
    )
    app = create_app(settings)
    state = app.state.lookout
    keys = {}
    with state.sessions() as session:
        for unit in (A, B):
            for role in ("viewer", "analyst"):
                _, keys[(unit, role)] = create_key(session, unit_id=unit, role=role)
        session.commit()
        batch_id = store_batch(session, A)
    yield {"app": app, "keys": keys, "batch_id": batch_id, "state": state}
    state.jobs.shutdown()
    state.engine.dispose()


def store_batch(session: Any, unit: str) -> str:
    batch_id = "20261128090000-aaaaaaaaaaaa"
    session.add(
        Batch(
            id=batch_id,
            unit_id=unit,
            status="done",
            mode="inline",
            source_name="m.csv",
            source_bytes=100,
            seed=0,
            created_by="k",
            created_at=utcnow(),
            rows_in=3,
            rows_scored=3,
            rows_quarantined=0,
            rows_flagged=3,
            rows_selected=1,
            run_record={"messages": [NOTE]},
        )
    )
    rows = [
        ("MSCU1234565", "red", 80.0, True, "ECGYE", "08", ["reefer-from-cocaine-source"]),
        ("CSQU3054383", "yellow", 45.0, False, "CNSHA", "62", ["cash-freight"]),
        ("TEMU7622906", "yellow", 40.0, False, "ECGYE", "62", ["cash-freight"]),
    ]
    for i, (number, lane, score, selected, port, chapter, hits) in enumerate(rows):
        scored = ScoredContainer(
            batch_id=batch_id,
            unit_id=unit,
            record_id=f"{number}/BL{i}",
            row_index=i,
            container_number=number,
            bl_number=f"BL{i}",
            lane=lane,
            risk_score=score,
            selected=selected,
            selection_reason="risk" if selected else None,
            flagged=True,
            reasons=json.dumps(
                {
                    "rule_hits": hits,
                    "rule_reasons": [f"why {number}"],
                    "model_reasons": ["consignee first seen 3 days ago: +0.42"],
                }
            ),
            fields=json.dumps(
                {
                    "port_of_loading": port,
                    "hs_chapter": chapter,
                    "hs_code": chapter + "0390",
                    "consignee_name": "ACME LLC",
                    "dq_container_check_digit": i == 2,
                }
            ),
        )
        session.add(scored)
        session.flush()
        for rule in hits:
            session.add(
                RuleHit(
                    scored_id=scored.id,
                    batch_id=batch_id,
                    unit_id=unit,
                    rule_id=rule,
                    created_at=utcnow(),
                )
            )
    session.commit()
    return batch_id
