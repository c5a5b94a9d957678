"""The pages in-process (no browser): sign-in, CSRF, roles, unit isolation, filters, markup.

Batches are written straight into the store here (the scoring path has its own tests and the
browser test scores a real upload), so these tests take seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import html as lxml_html
from sqlalchemy import create_engine, text

from api.app import create_app
from api.auth import create_key, revoke_key
from api.db import utcnow
from api.settings import Settings
from api.tables import Batch, RuleHit, ScoredContainer
from api.web import STATIC_DIR

A, B = "UZ-TAS-PCU", "KZ-ALA-PCU"
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


PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A SQLite file (the embedded default)."""
    return f"sqlite:///{tmp_path / 'lookout.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of each backend (the JSON look-ups differ between them)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lookout.db'}"
        return
    name = f"lookout_web_{secrets.token_hex(5)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[dict[str, Any]]:
    """An app on a fresh store, with keys for two units and one scored batch of A."""
    yield from _site(tmp_path, database_url)


@pytest.fixture
def any_site(tmp_path: Path, any_database_url: str) -> Iterator[dict[str, Any]]:
    """``site`` on SQLite and on PostgreSQL."""
    yield from _site(tmp_path, any_database_url)


def _site(tmp_path: Path, database_url: str) -> Iterator[dict[str, Any]]:
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
        batch_id = _store_batch(session, A)
    yield {"app": app, "keys": keys, "batch_id": batch_id, "state": state}
    state.jobs.shutdown()
    state.engine.dispose()


def _store_batch(session: Any, unit: str) -> str:
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


def test_pages_redirect_to_sign_in(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    for path in ("/web/batches", "/web/rules", f"/web/batches/{site['batch_id']}/flagged"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/web/signin?next=%2Fweb%2F")
    assert client.get("/").headers["location"] == "/web/batches"


def test_sign_in_with_a_key_sets_a_protected_cookie(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    wrong = client.sign_in("lk_0000_nope")
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.text
    response = client.sign_in(site["keys"][(A, "analyst")], "/web/rules")
    assert response.status_code == 303 and response.headers["location"] == "/web/rules"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("lookout_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert site["keys"][(A, "analyst")].split("_")[2] not in cookie  # never the secret
    page = client.get("/web/batches")
    assert page.status_code == 200 and A in page.text


def test_sign_in_form_needs_its_token(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.get("/web/signin")
    response = client.post(
        "/web/signin", data={"api_key": site["keys"][(A, "analyst")], "csrf_token": "forged"}
    )
    assert response.status_code == 403 and "lookout_session" not in response.headers.get(
        "set-cookie", ""
    )


def test_next_never_leaves_the_site(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    response = client.sign_in(site["keys"][(A, "analyst")], "https://evil.example/x")
    assert response.headers["location"] == "/web/batches"


def test_posts_without_the_csrf_token_are_refused(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "analyst")])
    form = {"batch_id": site["batch_id"], "container_number": "MSCU1234565", "outcome": "clean"}
    for token in (None, "forged"):
        data = form if token is None else {**form, "csrf_token": token}
        response = client.post("/web/inspections", data=data)
        assert response.status_code == 403 and "Form expired" in response.text
    # Another session's token is no good either.
    other = Browserless(site["app"])
    other.sign_in(site["keys"][(A, "analyst")])
    response = client.post("/web/inspections", data={**form, "csrf_token": other.csrf()})
    assert response.status_code == 403
    # With this session's token the inspection is recorded.
    response = client.post("/web/inspections", data={**form, "csrf_token": client.csrf()})
    assert response.status_code == 303
    page = client.get("/web/containers/MSCU1234565?batch=" + site["batch_id"] + "&recorded=1")
    assert "Inspection result recorded" in page.text and "clean" in page.text


def test_viewers_read_but_do_not_write(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    page = client.get(f"/web/batches/{site['batch_id']}/flagged")
    assert page.status_code == 200 and "MSCU1234565" in page.text
    assert "Score a manifest" not in client.get("/web/batches").text
    response = client.post(
        "/web/inspections",
        data={
            "batch_id": site["batch_id"],
            "container_number": "MSCU1234565",
            "outcome": "clean",
            "csrf_token": client.csrf(),
        },
    )
    assert response.status_code == 403 and "analyst role" in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_another_unit_sees_nothing(any_site: dict[str, Any]) -> None:
    site = any_site
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(B, "analyst")])
    batch = site["batch_id"]
    for path in (
        f"/web/batches/{batch}",
        f"/web/batches/{batch}/flagged",
        f"/web/batches/{batch}/flagged.csv",
        "/web/containers/MSCU1234565",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "MSCU1234565" not in response.text or path.endswith("MSCU1234565")
    assert batch not in client.get("/web/batches").text


def test_flagged_filters_sort_and_csv(any_site: dict[str, Any]) -> None:
    site = any_site
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    base = f"/web/batches/{site['batch_id']}/flagged"

    def containers(query: str) -> list[str]:
        page = lxml_html.fromstring(client.get(base + query).text)
        return [a.text for a in page.xpath("//table[contains(@class, 'flagged')]/tbody/tr/td[3]/a")]

    assert containers("") == ["MSCU1234565", "CSQU3054383", "TEMU7622906"]
    assert containers("?sort=risk_score") == ["TEMU7622906", "CSQU3054383", "MSCU1234565"]
    assert containers("?lane=yellow") == ["CSQU3054383", "TEMU7622906"]
    assert containers("?port=ECGYE") == ["MSCU1234565", "TEMU7622906"]
    assert containers("?chapter=62&port=ECGYE") == ["TEMU7622906"]
    assert containers("?rule=cash-freight&selected=no") == ["CSQU3054383", "TEMU7622906"]
    assert containers("?selected=yes") == ["MSCU1234565"]
    csv = client.get(base + ".csv?port=ECGYE").text.splitlines()
    assert csv[0].startswith("container_number,bl_number,lane,risk_score,selected")
    assert [line.split(",")[0] for line in csv[1:]] == ["MSCU1234565", "TEMU7622906"]
    assert "reefer-from-cocaine-source" in csv[1]
    assert client.get(base + "?sort=bogus").status_code == 422


def test_container_page_shows_reasons_chart_and_flags(any_site: dict[str, Any]) -> None:
    site = any_site
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    page = client.get("/web/containers/TEMU7622906")
    assert page.status_code == 200
    doc = lxml_html.fromstring(page.text)
    assert "why TEMU7622906" in page.text
    assert doc.xpath("//svg[contains(@class, 'chart')]/title")[0].text.startswith(
        "Model contributions"
    )
    assert "container check digit" in page.text  # the raised data-quality flag
    # Parties: the other flagged containers of the same consignee.
    assert "MSCU1234565" in page.text and "ACME LLC" in page.text


def test_revoking_the_key_ends_the_session(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    key = site["keys"][(A, "analyst")]
    client.sign_in(key)
    assert client.get("/web/batches").status_code == 200
    with site["state"].sessions() as session:
        revoke_key(session, key_id=key.split("_")[1])
        session.commit()
    assert client.get("/web/batches").status_code == 303


def test_sign_out(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "analyst")])
    response = client.post("/web/signout", data={"csrf_token": client.csrf()})
    assert response.status_code == 303
    assert client.get("/web/batches").status_code == 303


def test_model_page_charts_precision_at_capacity(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    page = client.get("/web/model")
    assert page.status_code == 200
    doc = lxml_html.fromstring(page.text)
    assert (
        doc.xpath("//svg[contains(@class, 'chart')]/title")[0].text
        == "Precision and recall by inspection rate"
    )
    assert "40.0%" in page.text and "demo model" in page.text


def test_rules_page_and_pack_validation(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    page = client.get("/web/rules")
    assert page.status_code == 200 and "cash-freight" in page.text
    assert "Rule hits in the last 30 and 90 days" in page.text
    broken = b"kind: rule\nid: r1\ntitle: t\nstatus: active\nseverity: hgh\nweight: 5\n"
    response = client.post(
        "/web/rules/validate",
        data={"csrf_token": client.csrf("/web/rules")},
        files=[("files", ("mine.yaml", broken, "text/yaml"))],
    )
    assert response.status_code == 200
    assert re.search(r"mine\.yaml:\d+:\d+", response.text)
    assert "Invalid" in response.text


def test_queries_without_a_unit_identity_explain_what_to_do(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    response = client.get("/web/queries")
    assert response.status_code == 503 and "lookout unit init" in response.text


def test_every_page_is_accessible_markup(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "analyst")])
    pages = [
        "/web/batches",
        f"/web/batches/{site['batch_id']}",
        f"/web/batches/{site['batch_id']}/flagged",
        "/web/containers/MSCU1234565",
        "/web/rules",
        "/web/model",
    ]
    for path in [*pages, "/web/signin"]:
        if path == "/web/signin":
            client = Browserless(site["app"])
        response = client.get(path)
        assert response.status_code == 200, path
        doc = lxml_html.fromstring(response.text)
        assert doc.get("lang") == "en"
        assert doc.xpath("//a[@class='skip']")[0].get("href") == "#main"
        assert doc.xpath("//main[@id='main']")
        labelled = {label.get("for") for label in doc.xpath("//label[@for]")}
        for field in doc.xpath("//input | //select | //textarea"):
            if field.get("type") in ("hidden", "submit"):
                continue
            wrapped = any(a.tag == "label" for a in field.iterancestors())
            assert wrapped or field.get("id") in labelled or field.get("aria-label"), (
                path,
                lxml_html.tostring(field)[:120],
            )
        for form in doc.xpath("//form"):
            assert form.get("action"), path  # usable without JavaScript
            if form.get("method") == "post":
                assert form.xpath(".//input[@name='csrf_token']"), (path, form.get("action"))
        for script in doc.xpath("//script"):
            assert script.get("src", "").startswith("/web/static/")  # nothing from a CDN
        assert "Content-Security-Policy" in response.headers


def test_vendored_htmx_matches_its_record(site: dict[str, Any]) -> None:
    record = (STATIC_DIR / "VENDORED.md").read_text()
    digest = hashlib.sha256((STATIC_DIR / "htmx.min.js").read_bytes()).hexdigest()
    assert f"`{digest}`" in record
    assert (STATIC_DIR / "htmx.LICENSE").read_text().startswith("Zero-Clause BSD")
    response = Browserless(site["app"]).get("/web/static/htmx.min.js")
    assert response.status_code == 200 and hashlib.sha256(response.content).hexdigest() == digest
