"""An air waybill row on the flagged page: AWB, house AWB, airports with names, flights."""

from __future__ import annotations

import json
from typing import Any

from api.tables import ScoredContainer
from tests.web._site import A, Browserless


def _add_air_row(site: dict[str, Any]) -> None:
    with site["state"].sessions() as session:
        session.add(
            ScoredContainer(
                batch_id=site["batch_id"],
                unit_id=A,
                record_id="17633333333/HAWB-0001",
                row_index=3,
                container_number=None,
                bl_number=None,
                lane="red",
                risk_score=91.0,
                selected=True,
                selection_reason="risk",
                flagged=True,
                reasons=json.dumps(
                    {"rule_hits": ["air-transfer-via-hub-from-source"], "rule_reasons": ["x"]}
                ),
                fields=json.dumps(
                    {
                        "transport_mode": "air",
                        "awb_number": "17633333333",
                        "house_awb_number": "HAWB-0001",
                        "airport_of_origin": "BOG",
                        "transfer_airports": ["IST"],
                        "airport_of_destination": "TAS",
                        "flights": ["TK0801", "TK0352"],
                        "hs_code": "060311",
                        "port_of_loading": None,
                        "vessel_name": None,
                    }
                ),
            )
        )
        session.commit()


def test_flagged_page_shows_the_air_waybill(site: dict[str, Any]) -> None:
    _add_air_row(site)
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    url = f"/web/batches/{site['batch_id']}/flagged"
    page = client.get(url).text
    row = page.split("AWB 17633333333", 1)[1].split("</tr>", 1)[0]
    assert "house HAWB-0001" in row
    assert "TK0801 TK0352" in row
    assert "BOG El Dorado International Airport, CO" in row
    assert "via IST Istanbul Airport, TR" in row
    assert "TAS Tashkent International Airport, UZ" in row
    assert "/web/containers/" not in row  # no container link, no seaport for an air row
    russian = client.get(url, headers={"Accept-Language": "ru"}).text
    row = russian.split("Авианакладная 17633333333", 1)[1].split("</tr>", 1)[0]
    assert "домашняя HAWB-0001" in row and "через IST" in row


def test_waybill_detail_page_shows_air_fields_not_sea_ones(site: dict[str, Any]) -> None:
    _add_air_row(site)
    client = Browserless(site["app"])
    client.sign_in(site["keys"][(A, "viewer")])
    flagged = client.get(f"/web/batches/{site['batch_id']}/flagged").text
    link = f"/web/batches/{site['batch_id']}/waybills/3"
    assert f'href="{link}"' in flagged
    page = client.get(link)
    assert page.status_code == 200
    facts = page.text.split('<dl class="facts">', 1)[1].split("</dl>", 1)[0]
    assert "Air waybill (AWB)</dt><dd>17633333333" in facts
    assert "House AWB</dt><dd>HAWB-0001" in facts
    assert "Airport of departure</dt><dd>BOG El Dorado International Airport, CO" in facts
    assert "Transfer airports</dt><dd>IST Istanbul Airport, TR" in facts
    assert "Flights</dt><dd>TK0801, TK0352" in facts
    for sea in ("Port of loading", "Vessel", "Container", "ISO type", "B/L"):
        assert sea not in facts, sea
    assert "air-transfer-via-hub-from-source" in page.text
    russian = client.get(link, headers={"Accept-Language": "ru"}).text
    assert "Аэропорт отправления" in russian and "Рейсы" in russian
    # a container row is not an air waybill
    assert client.get(f"/web/batches/{site['batch_id']}/waybills/0").status_code == 404
