"""`lookout history` and `lookout watchlist` command groups, driven through Typer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from api.history_cli import app
from engine.history import HistoryStore

runner = CliRunner()


def _manifest(path: Path) -> Path:
    pl.DataFrame(
        {
            "container_number": ["MSCU1234565", "TGHU0000001"],
            "bl_number": ["BL1", "BL2"],
            "filed_at": [datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC)],
            "shipper_name": ["Al-Qaida Trading", "Acme Ltd"],
            "consignee_name": ["Kappa LLC", "Kappa"],
            "vessel_imo": ["9074729", None],
        }
    ).write_parquet(path)
    return path


def test_history_add_is_idempotent_and_outcomes_recorded(tmp_path: Path) -> None:
    source = _manifest(tmp_path / "m.parquet")
    store = tmp_path / "store"
    first = runner.invoke(app, ["history", "add", str(source), "--store", str(store)])
    assert first.exit_code == 0, first.output
    assert "added 2 rows" in first.output
    again = runner.invoke(app, ["history", "add", str(source), "--store", str(store)])
    assert again.exit_code == 0 and "already in the store" in again.output
    assert HistoryStore(store).fingerprint()["rows"] == 2
    outcomes = tmp_path / "o.csv"
    outcomes.write_text(
        "container_number,bl_number,inspected,inspection_result\nMSCU1234565,BL1,true,seizure\n"
    )
    done = runner.invoke(app, ["history", "outcomes", str(outcomes), "--store", str(store)])
    assert done.exit_code == 0, done.output
    assert "1 stored row(s) matched" in done.output
    stored = HistoryStore(store).scan().collect().sort("bl_number")
    assert stored["inspection_result"].to_list() == ["seizure", None]
    info = runner.invoke(app, ["history", "info", "--store", str(store)])
    assert "2 rows in 1 batch(es)" in info.output


def test_outcomes_carry_when_they_were_known_and_bad_times_are_refused(tmp_path: Path) -> None:
    from engine.errors import LookoutError

    source = _manifest(tmp_path / "m.parquet")
    store = tmp_path / "store"
    runner.invoke(app, ["history", "add", str(source), "--store", str(store)])
    outcomes = tmp_path / "o.csv"
    outcomes.write_text(
        "container_number,bl_number,inspection_result,inspected_at\n"
        "MSCU1234565,BL1,seizure,2025-01-09T10:00:00Z\n"
    )
    done = runner.invoke(app, ["history", "outcomes", str(outcomes), "--store", str(store)])
    assert done.exit_code == 0, done.output
    stored = HistoryStore(store).scan().collect().sort("bl_number")
    assert stored["inspected_at"].to_list()[0] == datetime(2025, 1, 9, 10, tzinfo=UTC)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "container_number,bl_number,inspection_result,recorded_at\n"
        "MSCU1234565,BL1,clean,2025-01-10T00:00:00Z\n"
        "TGHU0000001,BL2,clean,last tuesday\n"
    )
    failed = runner.invoke(app, ["history", "outcomes", str(bad), "--store", str(store)])
    assert isinstance(failed.exception, LookoutError)
    assert failed.exception.location is not None
    assert (failed.exception.location.line, failed.exception.location.field) == (3, "recorded_at")
    assert "last tuesday" in str(failed.exception)
    assert len(HistoryStore(store).outcome_files()) == 1  # nothing of the bad file stored


def test_watchlist_info_and_screen(tmp_path: Path) -> None:
    national = tmp_path / "n.csv"
    national.write_text("kind,name,imo,list,reference\nvessel,OCEAN STAR,9074729,NAT,V1\n")
    info = runner.invoke(app, ["watchlist", "info", "--list", str(national)])
    assert info.exit_code == 0, info.output
    assert "NAT" in info.output and "vessel" in info.output
    source = _manifest(tmp_path / "m.parquet")
    out = tmp_path / "hits.csv"
    cache = tmp_path / "cache"
    screen = runner.invoke(
        app, ["watchlist", "screen", str(source), "--out", str(out), "--cache", str(cache)]
    )
    assert screen.exit_code == 0, screen.output
    assert "1 with a watchlist hit" in screen.output
    assert "QDe.004" in screen.output and "extra TRADING" in screen.output
    # AL-QAIDA TRADING, ACME, KAPPA (Kappa LLC and Kappa are one name)
    assert "3 new name(s) screened, 0 from the cache" in screen.output
    again = runner.invoke(app, ["watchlist", "screen", str(source), "--cache", str(cache)])
    assert "0 new name(s) screened, 3 from the cache" in again.output
    with_national = runner.invoke(
        app, ["watchlist", "screen", str(source), "--list", str(national)]
    )
    assert "1 with a watchlist hit" in with_national.output
    # AL-QAIDA plus the generic word TRADING: one point off a perfect match
    assert pl.read_csv(out)["watchlist_party_score"].to_list()[0] == 99.0
