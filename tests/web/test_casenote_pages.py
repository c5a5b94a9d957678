"""Case-note pages in process: write one (a broken rule is shown with its place, the form
keeps what was typed), the received note, and the rule_author-only decision."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import html as lxml_html

from api.auth import create_key
from api.federation import inbox, init_unit, seal
from api.federation.casenotes.schemas import WireCaseNote
from tests.federation._casenote import BROKEN, PROPOSAL, RULE_ID, note_body
from tests.web._site import A, Browserless, make_site

PARTNER = "KZ-ALA-PCU"
NOTE_ID = "01JDXCASE000000000000000W-KZ-ALA-PCU"


@pytest.fixture
def note_site(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """Unit A trusts KZ (grouped as IREN) and has received KZ's case note with a rule."""
    monkeypatch.setenv("LOOKOUT_FED_WORKER", "false")
    unit_dir = tmp_path / "data" / "unit"
    init_unit(unit_dir, unit_id=A, country="UZ", name="Tashkent PCU", base_url="http://uz.test")
    partner = init_unit(
        tmp_path / "kz", unit_id=PARTNER, country="KZ", name="Almaty PCU", base_url="http://kz.test"
    )
    (unit_dir / "partners.yaml").write_text(
        yaml.safe_dump(
            {"units": [partner.directory_entry()], "groups": {"IREN": [PARTNER, A]}},
            sort_keys=False,
        )
    )
    for site in make_site(tmp_path, database_url):
        with site["state"].sessions() as session:
            _, site["keys"][(A, "rule_author")] = create_key(session, unit_id=A, role="rule_author")
            session.commit()
        now = datetime.now(UTC)
        body = note_body([A], rule=None)
        wire = WireCaseNote.model_validate(
            {
                **{k: v for k, v in body.items() if k not in ("to", "rule", "parties")},
                "id": NOTE_ID,
                "origin_unit": PARTNER,
                "recipients": [A],
                "parties": [
                    {"role": "consignee", "name": "P-0A1B2C3D4E", "country": "UZ", "masked": True}
                ],
                "masking": [{"party": 0, "role": "consignee", "token": "P-0A1B2C3D4E"}],
                "containers": [],
                "rule": {
                    "file": "poti-case.yaml",
                    "yaml": PROPOSAL,
                    "sha256": hashlib.sha256(PROPOSAL.encode()).hexdigest(),
                },
                "created_at": now,
                "created_by": "key-kz",
            }
        ).model_dump(mode="json")
        envelope = seal(
            partner,
            message_id=NOTE_ID,
            recipient=A,
            kind="casenote",
            payload={"casenote": wire},
            now=now,
        )
        inbox.handle(site["app"].state.federation, envelope)
        yield site


def _signed_in(site: dict[str, Any], role: str) -> Browserless:
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, role)])
    return client


def test_only_a_rule_author_sees_and_uses_the_decision(note_site: dict[str, Any]) -> None:
    for role in ("viewer", "analyst"):
        client = _signed_in(note_site, role)
        page = client.get(f"/web/casenotes/{NOTE_ID}")
        assert page.status_code == 200
        doc = lxml_html.fromstring(page.text)
        assert not doc.xpath("//form[contains(@action, '/adopt')]")
        assert not doc.xpath("//form[contains(@action, '/backtest')]")
        assert "A rule author of UZ-TAS-PCU decides" in page.text
        assert "P-0A1B2C3D4E" in page.text and "masked by KZ-ALA-PCU" in page.text
        for action in ("backtest", "adopt", "decline"):
            refused = client.post(
                f"/web/casenotes/{NOTE_ID}/{action}", data={"csrf_token": client.csrf()}
            )
            assert refused.status_code == 403 and "rule_author" in refused.text

    author = _signed_in(note_site, "rule_author")
    doc = lxml_html.fromstring(author.get(f"/web/casenotes/{NOTE_ID}").text)
    assert doc.xpath("//form[contains(@action, '/backtest')]//button")
    assert "Loads with this unit's rule loader" in doc.text_content()
    adopted = author.post(
        f"/web/casenotes/{NOTE_ID}/adopt",
        data={"csrf_token": author.csrf(), "note": "shadow for a month"},
    )
    assert adopted.status_code == 303
    page = author.get(f"/web/casenotes/{NOTE_ID}").text
    assert "status-adopted" in page and "shadow for a month" in page
    rules = author.get("/web/rules").text
    assert RULE_ID in rules and f"adopted from {PARTNER}" in rules
    inbox_page = lxml_html.fromstring(author.get("/web/casenotes?box=inbox").text)
    (row,) = inbox_page.xpath("//table[contains(@class, 'casenotes')]/tbody/tr")
    assert "adopted" in row.text_content()


def test_writing_a_note_to_a_group_and_a_broken_rule(note_site: dict[str, Any]) -> None:
    client = _signed_in(note_site, "analyst")
    form = lxml_html.fromstring(client.get("/web/casenotes/new").text)
    assert form.xpath("//input[@name='to'][@value='IREN']")
    assert form.xpath("//input[@name='to'][@value='all-trusted']")
    data: dict[str, Any] = {
        "csrf_token": client.csrf(),
        "to": "IREN",
        "title": "Cocaine in banana reefers",
        "finding_type": "drugs",
        "finding": "212 kg",
        "location": "gepti",
        "found_on": "2026-11-20",
        "route": "ECGYE > PAMIT > GEPTI",
        "party_role": ["shipper", "consignee"],
        "party_name": ["Exportadora S.A.", "Tropical Fruit Import LLC"],
        "party_country": ["EC", "UZ"],
        "party_mask": ["1"],
        "rule_file": "poti-case.yaml",
        "rule_yaml": BROKEN,
    }
    broken = client.post("/web/casenotes", data=data)
    assert broken.status_code == 422
    doc = lxml_html.fromstring(broken.text)
    assert "poti-case.yaml:23:10" in doc.xpath("//table[@class='diagnostics']")[0].text_content()
    assert doc.xpath("//textarea[@name='rule_yaml']")[0].text.startswith("# The Poti seizure")
    assert doc.xpath("//input[@name='title']/@value") == ["Cocaine in banana reefers"]

    sent = client.post("/web/casenotes", data=data | {"rule_yaml": PROPOSAL})
    assert sent.status_code == 303
    note_id = sent.headers["location"].rsplit("/", 1)[1]
    page = lxml_html.fromstring(client.get(f"/web/casenotes/{note_id}").text)
    text = page.text_content()
    assert "ECGYE → PAMIT → GEPTI" in text and "IREN" in text
    recipients = page.xpath("//table[@class='recipients']/tbody/tr")
    assert [r.xpath("td")[0].text_content() for r in recipients] == [PARTNER]
    # The sending unit sees the name it masked and the token it sent.
    parties = page.xpath("//caption[.='Parties']/..")[0].text_content()
    assert "Tropical Fruit Import LLC" in parties and "(masked)" in parties
    assert note_id in client.get("/web/casenotes?box=outbox").text
