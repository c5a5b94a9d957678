"""An air cargo batch scored end to end from the command line (a real `lookout` process)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from engine.generate import AIR_TYPOLOGIES, generate
from engine.generate._air import AirRates
from tests.test_cli import lookout

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "cargoimp" / "day.txt"


def test_air_waybills_score_from_csv_and_cargoimp(tmp_path: Path) -> None:
    data = generate(
        days=1,
        rows_per_day=100,
        seed=11,
        out_dir=tmp_path / "data",
        history_days=3,
        air_rows_per_day=250,
        air_rates=AirRates(**dict.fromkeys(AIR_TYPOLOGIES, 0.04)),
    )
    assert data.air_history is not None
    store = tmp_path / "history"
    for source in (data.history, data.air_history):
        done = lookout("history", "add", str(source), "--store", str(store))
        assert done.returncode == 0, done.stderr

    out = tmp_path / "out"
    done = lookout(
        "score",
        str(data.air_manifests[0]),
        "--out",
        str(out),
        "--history",
        str(store),
        "--capacity",
        "5%",
    )
    assert done.returncode == 0, done.stderr
    assert "AWB " in done.stdout  # the summary names air waybills, not containers
    assert "selected air waybills" in done.stdout and "selected containers" not in done.stdout
    run = json.loads((out / "run.json").read_text())
    assert run["counts"]["rows_scored"] == 250 and run["counts"]["rows_quarantined"] == 0
    scored = pl.read_parquet(out / "scored.parquet")
    assert scored["transport_mode"].unique().to_list() == ["air"]
    assert scored["model_probability"].is_not_null().all()
    truth = pl.read_parquet(data.air_truth[0])
    planted = scored.join(truth, on="row_index")
    hits = planted.explode("rule_hits").group_by("typology").agg(pl.col("rule_hits"))
    by_typology = {r["typology"]: set(r["rule_hits"]) for r in hits.iter_rows(named=True)}
    assert "air-small-high-value-from-source" in by_typology["air_small_high_value"]
    assert "air-transfer-via-hub-from-source" in by_typology["air_hub_transfer"]
    # (party ages need 90 days of history, see the first-seen rule; the vague text is enough)
    assert "air-vague-description-from-source" in by_typology["air_vague_new_consignee"]
    # planted rows rank above the clean ones
    clean = scored.join(truth, on="row_index", how="anti")
    assert planted["risk_score"].mean() > clean["risk_score"].mean()
    flagged = pl.read_csv(out / "flagged.csv", infer_schema=False)
    assert {"awb_number", "airport_of_origin", "transport_mode"} <= set(flagged.columns)

    imp = tmp_path / "imp"
    done = lookout("score", str(FIXTURE), "--out", str(imp), "--history", str(store))
    assert done.returncode == 0, done.stderr
    run = json.loads((imp / "run.json").read_text())
    assert run["input"]["formats"][0]["format"] == "cargoimp"
    assert run["counts"]["rows_scored"] == 4 and run["counts"]["rows_quarantined"] == 4
    quarantine = pl.read_parquet(imp / "quarantine.parquet")
    assert sorted(quarantine["source_line"].to_list()) == [39, 42, 61, 63]
