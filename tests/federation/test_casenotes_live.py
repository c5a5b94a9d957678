"""Three real Lookout servers share a modus operandi: UZ sends a case note with a proposed rule
to its group IREN (KZ and PK); KZ backtests the rule on its own inspected history and adopts it
in shadow, PK declines; both decisions are audited on both sides. Set up and driven with the
real CLIs, as docs/federation.md shows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.api._manifests import rows

from ._casenote import BROKEN, MASKED_NAME, PROPOSAL, RULE_ID
from ._live import LiveUnit, free_port, introduce, run_cli, wait_for

UZ, KZ, PK = "UZ-TAS-PCU", "KZ-ALA-PCU", "PK-KHI-PCU"
pytestmark = pytest.mark.xdist_group("federation-live")
AUTHORS: dict[str, str] = {}
"""Each unit's rule_author key, made with `lookout keys create --role rule_author`."""


@pytest.fixture(scope="module")
def units(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LiveUnit]]:
    """UZ, KZ and PK running, trusting each other; UZ groups KZ and PK as IREN. Each unit
    has an analyst key (``key``) and a rule_author key (``AUTHORS``)."""
    root = tmp_path_factory.mktemp("casenotes")
    units = {u: LiveUnit(u, root / u.lower(), free_port()) for u in (UZ, KZ, PK)}
    introduce(units, root)
    for unit in units.values():
        unit.key = unit.create_key("analyst")
        AUTHORS[unit.unit_id] = unit.create_key("rule_author")
    # The group names all three (one list every member can share); UZ skips itself.
    grouped = run_cli(["unit", "group", "IREN", KZ, PK, UZ], units[UZ].env)
    assert grouped.returncode == 0 and "group IREN: KZ-ALA-PCU, PK-KHI-PCU" in grouped.stdout
    try:
        for unit in units.values():
            unit.start()
        yield units
    finally:
        for unit in units.values():
            unit.stop()


def cli(unit: LiveUnit, *args: str, role: str = "analyst", ok: bool = True) -> Any:
    env = unit.cli_env
    if role == "rule_author":
        env = {**env, "LOOKOUT_API_KEY": AUTHORS[unit.unit_id]}
    done = run_cli(list(args), env)
    if ok:
        assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


def note_at(unit: LiveUnit, note_id: str) -> dict[str, Any] | None:
    with unit.client() as client:
        response = client.get(f"/v1/casenotes/{note_id}")
    return response.json() if response.status_code == 200 else None


def states_at(unit: LiveUnit, note_id: str) -> dict[str, str]:
    note = note_at(unit, note_id)
    return {r["unit_id"]: r["state"] for r in note["recipients"]} if note else {}


def audit(unit: LiveUnit, prefix: str) -> list[tuple[str, str, dict[str, Any]]]:
    found = unit.sql(
        "SELECT action, actor, detail FROM audit_events WHERE action LIKE :p ORDER BY id",
        p=f"{prefix}%",
    )
    return [(a, b, json.loads(c) if isinstance(c, str) else c) for a, b, c in found]


def key_id(key: str) -> str:
    return key.split("_")[1]


def score_history(unit: LiveUnit) -> str:
    """A scored batch at ``unit`` with four inspections: reefers 0 and 6 seizures, reefer 3
    and the dry box 1 clean. The proposed rule hits the reefers (rows 0, 3, 6)."""
    records = rows(9, owner="KZHU", tag="K")
    with unit.client() as client:
        batch = client.post("/v1/batches", json={"rows": records}, timeout=600)
        assert batch.status_code == 201, batch.text
        batch_id = str(batch.json()["id"])
        for i, outcome in ((0, "seizure"), (3, "clean"), (6, "seizure"), (1, "clean")):
            recorded = client.post(
                "/v1/inspections",
                json={
                    "batch_id": batch_id,
                    "container_number": records[i]["container_number"],
                    "outcome": outcome,
                    "finding_type": "drugs" if outcome == "seizure" else None,
                },
            )
            assert recorded.status_code == 201, recorded.text
    return batch_id


def send_args(rule: Path) -> list[str]:
    return [
        "casenotes",
        "send",
        "--to",
        "IREN",
        "--title",
        "Cocaine in the evaporator housing of banana reefers",
        "--finding-type",
        "drugs",
        "--finding",
        "212 kg cocaine hydrochloride in 180 bricks",
        "--location",
        "UZTAS",
        "--found-on",
        "2026-11-20",
        "--route",
        "ECGYE",
        "--route",
        "PAMIT",
        "--route",
        "GEPTI",
        "--route",
        "UZTAS",
        "--concealment",
        "bricks behind the evaporator panel of 40' reefers",
        "--party",
        "shipper:Exportadora del Pacifico S.A.:EC",
        "--masked-party",
        f"consignee:{MASKED_NAME}:UZ",
        "--rule",
        str(rule),
    ]


def test_case_note_to_a_group_backtested_adopted_in_shadow_and_declined(
    units: dict[str, LiveUnit], tmp_path: Path
) -> None:
    uz, kz, pk = units[UZ], units[KZ], units[PK]
    history = score_history(kz)

    # A broken rule is refused at UZ with its place; nothing leaves the unit.
    broken = tmp_path / "poti-case.yaml"
    broken.write_text(BROKEN)
    refused = cli(uz, *send_args(broken), ok=False)
    assert refused.returncode != 0
    assert "poti-case.yaml:23:10: error: unknown field 'port_of_lodaing'" in refused.stderr
    assert uz.sql("SELECT count(*) FROM fed_casenotes")[0][0] == 0

    rule = tmp_path / "poti-case.yaml"
    rule.write_text(PROPOSAL)
    sent = cli(uz, *send_args(rule)).stdout
    note_id = sent.splitlines()[0]
    assert f"→ {KZ}: sent" in sent and f"→ {PK}: sent" in sent
    wait_for(
        "KZ and PK to receive", lambda: states_at(uz, note_id) == {KZ: "delivered", PK: "delivered"}
    )
    for unit in (kz, pk):
        received = note_at(unit, note_id)
        assert received is not None and received["rule_valid"] and received["rule_ids"] == [RULE_ID]
        # The masked consignee never reached the partner: not in its store at all.
        consignee = received["parties"][1]
        assert consignee["masked"] and consignee["name"].startswith("P-")
        stored = b"".join(p.read_bytes() for p in unit.root.glob("lookout.db*"))
        assert MASKED_NAME.encode() not in stored
    assert MASKED_NAME in json.dumps(note_at(uz, note_id)["parties_local"])  # type: ignore[index]

    # Nothing runs on KZ's data until a rule author of KZ asks.
    assert cli(kz, "casenotes", "backtest", note_id, ok=False).returncode != 0
    assert kz.sql("SELECT count(*) FROM fed_casenote_backtests")[0][0] == 0
    run = json.loads(cli(kz, "casenotes", "backtest", note_id, "--json", role="rule_author").stdout)
    (result,) = run["report"]["rules"]
    assert result["rule"] == RULE_ID
    assert (result["hits"], result["inspected_hits"], result["positives"]) == (3, 3, 2)
    assert result["precision"] == pytest.approx(2 / 3)
    assert run["report"]["totals"] | {} == {
        "rows": 9,
        "days": 9,
        "inspected": 4,
        "positives": 2,
        "base_rate": 0.5,
        "batches": 1,
    }
    # The same run as an officer reads it.
    shown = cli(kz, "casenotes", "show", note_id).stdout
    assert RULE_ID in shown and "0.67" in shown

    adopted = cli(
        kz,
        "casenotes",
        "adopt",
        note_id,
        "--note",
        "adopted in shadow for a month",
        role="rule_author",
    ).stdout
    assert f"→ {KZ}: adopted by {key_id(AUTHORS[KZ])} [{RULE_ID}]" in adopted
    declined = cli(
        pk,
        "casenotes",
        "decline",
        note_id,
        "--note",
        "no reefer traffic at Karachi from Ecuador",
        role="rule_author",
    ).stdout
    assert f"→ {PK}: declined" in declined
    wait_for(
        "UZ to learn both decisions",
        lambda: states_at(uz, note_id) == {KZ: "adopted", PK: "declined"},
    )
    told = cli(uz, "casenotes", "show", note_id).stdout
    assert "adopted in shadow for a month" in told and "no reefer traffic at Karachi" in told

    # At KZ the rule is in the active pack, experimental, with provenance; it scores nothing
    # but is evaluated in shadow on the next batch.
    with kz.client() as client:
        overview = client.get("/v1/rules").json()
        rule_row = next(r for r in overview["rules"] if r["id"] == RULE_ID)
        assert rule_row["status"] == "experimental"
        assert rule_row["provenance"]["source_unit"] == UZ
        assert rule_row["provenance"]["case_note"] == note_id
        later = client.post(
            "/v1/batches", json={"rows": rows(6, owner="KZLU", tag="L")}, timeout=600
        ).json()
        flagged = client.get(f"/v1/batches/{later['id']}/flagged", params={"limit": 500}).json()
    assert all(RULE_ID not in f["rule_hits"] for f in flagged["data"])
    scored = pl.read_parquet(kz.root / "batches" / later["id"] / "out" / "scored.parquet")
    shadow = scored.filter(pl.col("rule_shadow_hits").list.contains(RULE_ID))
    assert shadow["iso_type"].to_list() == ["45R1", "45R1"]
    pack_dir = kz.root / "rule_packs" / overview["active"]["content_hash"]
    assert "status: experimental" in (pack_dir / "adopted.yaml").read_text()
    assert history != later["id"]

    # Audited on every side: who decided what, and when the sender learnt it.
    author_kz, author_pk = key_id(AUTHORS[KZ]), key_id(AUTHORS[PK])
    assert [(a, b) for a, b, _ in audit(kz, "casenote.") if a != "casenote.state"] == [
        ("casenote.receive", f"unit:{UZ}"),
        ("casenote.backtest", author_kz),
        ("casenote.adopt", author_kz),
    ]
    assert [a for a, b, _ in audit(kz, "rule_pack.") if b == author_kz] == [
        "rule_pack.upload",
        "rule_pack.activate",
    ]
    assert [(a, b) for a, b, _ in audit(pk, "casenote.") if a != "casenote.state"] == [
        ("casenote.receive", f"unit:{UZ}"),
        ("casenote.decline", author_pk),
    ]
    decisions = [(b, d["decision"], d["decided_by"]) for a, b, d in audit(uz, "casenote.decision")]
    assert sorted(decisions) == [
        (f"unit:{KZ}", "adopted", author_kz),
        (f"unit:{PK}", "declined", author_pk),
    ]
    moves = [(d["recipient"], d["to"]) for a, _, d in audit(uz, "casenote.state")]
    assert sorted(moves) == sorted(
        [
            (KZ, "sent"),
            (PK, "sent"),
            (KZ, "delivered"),
            (PK, "delivered"),
            (KZ, "adopted"),
            (PK, "declined"),
        ]
    )
    (masked,) = audit(uz, "casenote.mask")
    assert masked[2]["parties"][0]["role"] == "consignee"


def test_an_urgent_query_to_a_group(units: dict[str, LiveUnit]) -> None:
    uz, kz, pk = units[UZ], units[KZ], units[PK]
    opened = cli(
        uz,
        "queries",
        "open",
        "--to",
        "IREN",
        "--container",
        "MSCU1234565",
        "--question",
        "Has any of you seen this container?",
    ).stdout
    query_id = opened.splitlines()[0]
    assert f"→ {KZ}: sent" in opened and f"→ {PK}: sent" in opened

    def states() -> dict[str, str]:
        with uz.client() as client:
            query = client.get(f"/v1/queries/{query_id}").json()
        return {r["unit_id"]: r["state"] for r in query["recipients"]}

    wait_for("both to receive", lambda: states() == {KZ: "delivered", PK: "delivered"})
    cli(pk, "queries", "answer", query_id, "Not at Karachi.")
    wait_for("PK's answer", lambda: states() == {KZ: "delivered", PK: "answered"})
    with uz.client() as client:
        query = client.get(f"/v1/queries/{query_id}").json()
    assert query["addressed_to"] == ["IREN"]
    assert kz.sql("SELECT count(*) FROM fed_queries WHERE id = :q", q=query_id)[0][0] == 1
