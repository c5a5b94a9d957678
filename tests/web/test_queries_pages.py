"""Urgent-query pages in-process: open from a flagged container, deadline and overdue, close.

The unit has an identity and one partner (whose server is not running: delivery is the
federation tests' business; the browser test delivers between two live servers).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import html as lxml_html

from api.federation import init_unit
from tests.web._site import A, B, Browserless, make_site

PARTNER = "KZ-ALA-PCU"


@pytest.fixture
def fed_site(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """A site whose unit A has a key pair and trusts KZ; urgent deadlines are 2 seconds."""
    monkeypatch.setenv("LOOKOUT_FED_DEADLINE_URGENT_SECONDS", "2")
    monkeypatch.setenv("LOOKOUT_FED_WORKER", "false")
    unit_dir = tmp_path / "data" / "unit"
    init_unit(unit_dir, unit_id=A, country="UZ", name="Tashkent PCU", base_url="http://uz.test")
    partner = init_unit(
        tmp_path / "kz", unit_id=PARTNER, country="KZ", name="Almaty PCU", base_url="http://kz.test"
    )
    (unit_dir / "partners.yaml").write_text(
        yaml.safe_dump({"units": [partner.directory_entry()]}, sort_keys=False)
    )
    yield from make_site(tmp_path, database_url)


def test_open_a_query_from_a_flagged_container_and_watch_its_deadline(
    fed_site: dict[str, Any],
) -> None:
    client = Browserless(fed_site["app"])
    client.sign_in(fed_site["keys"][(A, "analyst")])
    batch = fed_site["batch_id"]

    form = client.get(f"/web/queries/new?batch_id={batch}&container=MSCU1234565")
    assert form.status_code == 200
    doc = lxml_html.fromstring(form.text)
    assert "MSCU1234565" in doc.xpath("//textarea[@name='question']")[0].text
    assert doc.xpath(f"//input[@name='to'][@value='{PARTNER}']")
    response = client.post(
        "/web/queries",
        data={
            "csrf_token": client.csrf(),
            "to": PARTNER,
            "question": "Who stuffed this reefer?",
            "priority": "urgent",
            "batch_id": batch,
            "container": "MSCU1234565",
        },
    )
    assert response.status_code == 303
    query_id = response.headers["location"].rsplit("/", 1)[1]

    page = client.get(f"/web/queries/{query_id}")
    assert page.status_code == 200
    assert "Who stuffed this reefer?" in page.text and "why MSCU1234565" in page.text
    outbox = lxml_html.fromstring(client.get("/web/queries?box=outbox").text)
    row = outbox.xpath(f"//tr[.//a[@href='/web/queries/{query_id}']]")[0]
    assert "is-overdue" not in (row.get("class") or "")
    assert re.search(r"due in \d+ min", row.text_content())
    assert not lxml_html.fromstring(client.get("/web/queries?box=inbox").text).xpath(
        "//table[contains(@class, 'queries')]"
    )

    time.sleep(2.5)  # past the 2-second deadline
    outbox = lxml_html.fromstring(client.get("/web/queries?box=outbox").text)
    row = outbox.xpath(f"//tr[.//a[@href='/web/queries/{query_id}']]")[0]
    assert "is-overdue" in row.get("class")
    assert "expired" in row.text_content() and "overdue by" in row.text_content()
    expired = client.get("/web/queries?box=outbox&status=expired")
    assert query_id in expired.text

    closed = client.post(
        f"/web/queries/{query_id}/close", data={"csrf_token": client.csrf(), "note": "no answer"}
    )
    assert closed.status_code == 303
    assert "status-closed" in client.get(f"/web/queries/{query_id}").text


def test_query_pages_keep_roles_and_units(fed_site: dict[str, Any]) -> None:
    viewer = Browserless(fed_site["app"])
    viewer.sign_in(fed_site["keys"][(A, "viewer")])
    assert viewer.get("/web/queries?box=inbox").status_code == 200
    assert viewer.get("/web/queries/new").status_code == 403
    refused = viewer.post(
        "/web/queries",
        data={"csrf_token": viewer.csrf(), "to": PARTNER, "question": "q", "container": "X1"},
    )
    assert refused.status_code == 403

    stranger = Browserless(fed_site["app"])
    stranger.sign_in(fed_site["keys"][(B, "analyst")])
    response = stranger.get("/web/queries?box=inbox")
    assert response.status_code == 403 and f"this server is unit {A}" in response.text

    analyst = Browserless(fed_site["app"])
    analyst.sign_in(fed_site["keys"][(A, "analyst")])
    unknown = analyst.post(
        "/web/queries",
        data={
            "csrf_token": analyst.csrf(),
            "to": "XX-NOPE-PCU",
            "question": "q",
            "container": "MSCU1234565",
        },
    )
    assert unknown.status_code == 403 and "not in the partner directory" in unknown.text
    assert analyst.get("/web/queries/nope-id").status_code == 404
