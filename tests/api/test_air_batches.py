"""Air waybill batches through the real server: a generated air day (CSV) and Cargo-IMP."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from engine.generate import AIR_TYPOLOGIES, GeneratedData, generate
from engine.generate._air import AirRates
from rules import load_pack
from tests.api.conftest import LiveServer
from tests.api.test_batches import wait_done
from tests.engine.test_air import SEA_ONLY_FIELDS

pytestmark = pytest.mark.xdist_group("api")

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cargoimp" / "day.txt"


@pytest.fixture(scope="module")
def air_day(tmp_path_factory: pytest.TempPathFactory) -> GeneratedData:
    return generate(
        days=1,
        rows_per_day=20,
        seed=23,
        out_dir=tmp_path_factory.mktemp("air"),
        air_rows_per_day=90,
        air_rates=AirRates(**dict.fromkeys(AIR_TYPOLOGIES, 0.06)),
    )


def test_air_csv_batch_scores_and_flags_planted_waybills(
    server: LiveServer, unit: str, air_day: GeneratedData
) -> None:
    source = air_day.air_manifests[0]
    with server.client(server.key(unit)) as client:
        response = client.post(
            "/v1/batches",
            files={"file": (source.name, source.read_bytes(), "text/csv")},
            data={"capacity": "100%"},  # every waybill selected, so every one is listed
        )
        assert response.status_code in (201, 202), response.text
        batch = wait_done(client, response.json()["id"])
        assert batch["status"] == "done", batch
        assert batch["counts"]["rows_scored"] == 90
        assert batch["counts"]["rows_quarantined"] == 0
        flagged = client.get(f"/v1/batches/{batch['id']}/flagged", params={"limit": 500}).json()
    rows = flagged["data"]
    assert flagged["count"] == len(rows) == 90
    for row in rows:
        fields = row["fields"]
        assert fields["transport_mode"] == "air"
        assert fields["awb_number"] and fields["airport_of_origin"]
        assert fields["airport_of_destination"] and fields["flights"]
        assert row["container_number"] is None
        key = fields["awb_number"] + (
            f"/{fields['house_awb_number']}" if fields["house_awb_number"] else ""
        )
        assert row["record_id"] == key
    # the planted typologies are flagged by their air rules: every small high-value
    # consignment, every transfer at a hub the pack lists (the generator also routes via
    # SVO and ICN, which it does not), and vague consignments from or via a source airport
    pack = load_pack()
    listed_hubs = set(pack.lists["air_transfer_hubs"].items)
    truth = pl.read_parquet(air_day.air_truth[0]).filter(pl.col("typology") != "")
    by_index = {r["row_index"]: r for r in rows}
    expected = {
        "air_small_high_value": "air-small-high-value-from-source",
        "air_hub_transfer": "air-transfer-via-hub-from-source",
        "air_vague_new_consignee": "air-vague-description-from-source",
    }
    for typology, rule in expected.items():
        planted = [by_index[i] for i in truth.filter(pl.col("typology") == typology)["row_index"]]
        assert planted, typology
        if typology == "air_hub_transfer":
            planted = [r for r in planted if set(r["fields"]["transfer_airports"]) & listed_hubs]
        caught = [r for r in planted if rule in r["rule_hits"]]
        if typology == "air_vague_new_consignee":
            assert caught, typology
        else:
            assert planted and caught == planted, typology
    # no rule reading container, vessel or seaport fields hit an air waybill
    sea_rules = {r.id for r in pack.rules if r.fields() & SEA_ONLY_FIELDS}
    assert not {h for r in rows for h in r["rule_hits"]} & sea_rules

    # inspection results are recorded against the waybill: master AWB, and house if any
    masters: dict[str, list[str]] = {}
    for row in rows:
        masters.setdefault(row["fields"]["awb_number"], []).append(row["record_id"])
    single = next(m for m, ids in masters.items() if ids == [m])
    shared, house = next(r for ids in masters.values() for r in ids if "/" in r).split("/", 1)
    with server.client(server.key(unit)) as client:
        url, batch_id = "/v1/inspections", batch["id"]
        seized = client.post(
            url,
            json={
                "batch_id": batch_id,
                "awb_number": f"{single[:3]}-{single[3:]}",
                "outcome": "seizure",
                "finding_type": "drugs",
            },
        )
        assert seized.status_code == 201, seized.text
        assert seized.json()["record_id"] == single
        assert seized.json()["awb_number"] == single
        assert seized.json()["house_awb_number"] is None
        assert seized.json()["container_number"] is None
        clean = client.post(
            url,
            json={
                "batch_id": batch_id,
                "awb_number": shared,
                "house_awb_number": house,
                "outcome": "clean",
            },
        )
        assert clean.status_code == 201, clean.text
        assert clean.json()["record_id"] == f"{shared}/{house}"
        assert clean.json()["house_awb_number"] == house
        missing = client.post(
            url, json={"batch_id": batch_id, "awb_number": "17699999999", "outcome": "clean"}
        )
        assert missing.status_code == 404
        both = client.post(
            url,
            json={
                "batch_id": batch_id,
                "awb_number": single,
                "container_number": "MSCU1234565",
                "outcome": "clean",
            },
        )
        assert both.status_code == 422


def test_cargoimp_batch_scores_with_located_quarantine(server: LiveServer, unit: str) -> None:
    with server.client(server.key(unit)) as client:
        response = client.post(
            "/v1/batches",
            files={"file": ("day.txt", FIXTURE.read_bytes(), "text/plain")},
            data={"capacity": "4"},  # every waybill selected, so every one is listed
        )
        assert response.status_code == 201, response.text
        batch = response.json()
        assert batch["status"] == "done"
        assert batch["counts"]["rows_scored"] == 4
        assert batch["counts"]["rows_quarantined"] == 4
        detail = client.get(f"/v1/batches/{batch['id']}").json()
        assert detail["run_record"]["input"]["formats"][0]["format"] == "cargoimp"
        rows = client.get(
            f"/v1/batches/{batch['id']}/flagged", params={"limit": 500, "sort": "row_index"}
        ).json()["data"]
    by_record = {r["record_id"]: r for r in rows}
    # the DXB master (mobile phones, 14.5 kg): keyed by its number alone
    master = by_record["17612345675"]
    assert master["fields"]["airport_of_origin"] == "DXB"
    assert master["fields"]["house_awb_number"] is None
    house = by_record["17633333333/HAWB-0001"]
    assert house["fields"]["awb_number"] == "17633333333"
    assert "17633333333/HAWB-0003" in by_record  # HAWB-0002 is quarantined (value ABC)
    with server.client(server.key(unit)) as client:
        body = {"batch_id": batch["id"], "awb_number": "176-33333333", "outcome": "clean"}
        ambiguous = client.post("/v1/inspections", json=body)
        assert ambiguous.status_code == 409
        assert "house_awb_number" in ambiguous.json()["detail"]
        one = client.post("/v1/inspections", json=body | {"house_awb_number": "HAWB-0003"})
        assert one.status_code == 201, one.text
        assert one.json()["record_id"] == "17633333333/HAWB-0003"
