"""Drift on the web pages: the banner after a batch with drift warnings, the model page's
drift chart over the last 30/90 days, and the batch page's warnings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lxml import html as lxml_html

from api.db import utcnow
from api.tables import Batch
from tests._english import assert_no_english_left
from tests.web._site import A, B, Browserless

ALARM = "gross_weight_kg: PSI 8.01 (threshold 0.25)"


def _drift(status: str, max_psi: float, alarms: list[str]) -> dict[str, Any]:
    return {
        "status": status,
        "rows": 1500,
        "max_psi": max_psi,
        "max_psi_feature": "gross_weight_kg",
        "score_psi": 0.02,
        "score_above_reference_p90": 0.1,
        "unseen_share": 0.0,
        "max_missing_increase": 0.0,
        "alarms": alarms,
        "features": {},
    }


def _add(site: dict[str, Any], batch_id: str, name: str, days_ago: float, drift: Any) -> None:
    finished = utcnow() - timedelta(days=days_ago)
    with site["state"].sessions() as session:
        session.add(
            Batch(
                id=batch_id,
                unit_id=A,
                status="done",
                mode="background",
                source_name=name,
                source_bytes=1000,
                seed=0,
                created_by="k",
                created_at=finished,
                finished_at=finished,
                rows_in=1500,
                rows_scored=1500,
                rows_quarantined=0,
                rows_flagged=10,
                rows_selected=30,
                run_record={"messages": [], "drift": drift},
            )
        )
        session.commit()


def _with_drift(site: dict[str, Any]) -> None:
    _add(site, "20261001000000-old", "old.csv", 60, _drift("ok", 0.05, []))
    _add(site, "20261120000000-ok", "monday.csv", 2, _drift("ok", 0.08, []))
    _add(site, "20261121000000-bad", "tuesday.csv", 1, _drift("alarm", 8.01, [ALARM]))


def test_the_banner_names_the_latest_batch_warning(site: dict[str, Any]) -> None:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    assert "Drift warning" not in client.get("/web/batches").text
    _with_drift(site)
    page = lxml_html.fromstring(client.get("/web/batches").text)
    banner = page.xpath("//div[contains(@class, 'drift-banner')]")
    assert banner, "no drift banner"
    text = banner[0].text_content()
    assert "tuesday.csv" in text and ALARM in text
    assert banner[0].xpath(".//a/@href") == ["/web/model#drift-h"]
    russian = client.get("/web/batches?lang=ru").text
    # The warning in Russian: the feature by its label, the numbers with a decimal comma.
    assert "Предупреждение о дрейфе данных" in russian
    assert "вес брутто: PSI 8,01 (порог 0,25)" in russian and ALARM not in russian
    assert_no_english_left(russian, "banner")
    other = Browserless(site["app"])
    other.sign_in(site["keys"][(B, "viewer")])
    assert "drift-banner" not in other.get("/web/batches").text  # the other unit's pages


def test_the_model_page_charts_drift_over_30_and_90_days(site: dict[str, Any]) -> None:
    _with_drift(site)
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    page = lxml_html.fromstring(client.get("/web/model").text)
    titles = [t.text for t in page.xpath("//svg[contains(@class, 'chart')]/title")]
    assert "Drift per batch, last 30 days" in titles
    rows = page.xpath("//section[@aria-labelledby='drift-h']//tbody/tr")
    assert [r.xpath("td[2]//text()")[0] for r in rows] == ["tuesday.csv", "monday.csv"]
    assert ALARM in rows[0].text_content()
    longer = lxml_html.fromstring(client.get("/web/model?days=90").text)
    rows_90 = longer.xpath("//section[@aria-labelledby='drift-h']//tbody/tr")
    assert len(rows_90) == 3  # the batch of 60 days ago too
    assert "Drift per batch, last 90 days" in [
        t.text for t in longer.xpath("//svg[contains(@class, 'chart')]/title")
    ]


def test_the_batch_page_lists_its_warnings(site: dict[str, Any]) -> None:
    _with_drift(site)
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    page = lxml_html.fromstring(client.get("/web/batches/20261121000000-bad").text)
    items = page.xpath("//section[@id='batch-status']//div[@role='alert']//li/text()")
    assert items == [ALARM]
