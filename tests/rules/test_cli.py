"""The `lookout rules` commands, through typer's test runner."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from rules import DEFAULT_PACK
from rules.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_check_shipped_pack() -> None:
    code, output = run("check", str(DEFAULT_PACK))
    assert code == 0 and "44 active" in output and "pack hash" in output


def test_check_reports_errors_with_positions_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "kind: rule\nid: r\ntitle: t\ndescription: d\nstatus: active\nseverity: low\n"
        "weight: 5\nowner: o\nmatch:\n  a: {consigne_name: x}\n  condition: a\n"
    )
    code, output = run("check", str(tmp_path))
    assert code == 1
    assert f"{tmp_path / 'bad.yaml'}:10:7: error: unknown field 'consigne_name'" in output
    assert "did you mean" in output and "^" in output and "Traceback" not in output


def test_test_command_passes_on_shipped_pack_and_fails_on_wrong_expectation(tmp_path: Path) -> None:
    code, output = run("test")
    assert code == 0 and "passed, 0 problem(s)" in output
    (tmp_path / "r.yaml").write_text(
        "kind: rule\nid: r\ntitle: t\ndescription: d\nstatus: active\nseverity: low\n"
        "weight: 5\nowner: o\nmatch: {a: {is_reefer: true}, condition: a}\n"
        "tests:\n  - {expect: hit, row: {is_reefer: false}}\n"
    )
    code, output = run("test", str(tmp_path))
    assert code == 1
    assert "expected hit, got no_hit" in output
    assert "needs at least one 'expect: no_hit' test" in output


def test_explain_shows_selections_and_values() -> None:
    row = json.dumps(
        {"is_reefer": True, "port_of_loading": "ECGYE", "consignee_first_seen_days": 3}
    )
    code, output = run("explain", "--rule", "new-consignee-reefer-from-source", "--row", row)
    assert code == 0
    assert "selection source: True" in output and "port_of_loading='ECGYE'" in output
    assert "verdict: HIT" in output and "first seen 3 days ago" in output
    code, output = run("explain", "--rule", "new-consignee-reefer-from-sorce", "--row", row)
    assert code == 1 and "did you mean" in output
    code, output = run("explain", "--rule", "cash-freight", "--row", "{bad json")
    assert code == 1 and "not valid JSON" in output


def test_schema_command_prints_json_schema() -> None:
    code, output = run("schema")
    assert code == 0
    kind = json.loads(output)["$defs"]["RuleDocument"]["properties"]["kind"]
    assert kind["const"] == "rule"


def test_diff_and_backtest_on_history(tmp_path: Path) -> None:
    new = tmp_path / "new"
    shutil.copytree(DEFAULT_PACK, new)
    docs = (new / "documents.yaml").read_text()
    (new / "documents.yaml").write_text(docs.replace("weight: 18", "weight: 22"))
    (new / "extra.yaml").write_text(
        "kind: rule\nid: any-reefer\ntitle: t\ndescription: d\nstatus: experimental\n"
        "severity: low\nweight: 5\nowner: o\nmatch: {a: {is_reefer: true}, condition: a}\n"
    )
    hist = pl.DataFrame(
        {
            "container_number": ["MSCU6639871", "CSQU3054383", "TCNU7200794"],
            "bl_number": ["BL1", "BL2", "BL3"],
            "filed_at": [dt.datetime(2026, 3, 1, tzinfo=dt.UTC)] * 3,
            "is_reefer": [True, False, True],
            "freight_payment": ["cash", None, None],
            "inspected": [True, True, False],
            "inspection_result": ["seizure", "clean", None],
        }
    )
    path = tmp_path / "history.parquet"
    hist.write_parquet(path)
    code, output = run("diff", str(DEFAULT_PACK), str(new), "--history", str(path))
    assert code == 0
    assert "+ any-reefer" in output and "~ late-amendment-after-departure: weight" in output
    code, output = run(
        "backtest", "--history", str(path), str(new), "--json", str(tmp_path / "r.json")
    )
    assert code == 0 and "cash-freight" in output and "shadow" in output
    report = json.loads((tmp_path / "r.json").read_text())
    cash = next(r for r in report["rules"] if r["rule"] == "cash-freight")
    assert cash["hits"] == 1 and cash["precision"] == 1.0
    code, output = run("backtest", "--history", str(tmp_path / "missing.parquet"))
    assert code == 1 and "history file not found" in output


def test_backtest_reads_history_as_a_batch_is_read(tmp_path: Path) -> None:
    """The format is told by the content (a CSV named .txt), records that cannot be keyed
    are left out and said, and a history without record keys is refused where it is."""
    text = tmp_path / "history.txt"
    text.write_text(
        "container_number,bl_number,filed_at,freight_payment,inspected,inspection_result\n"
        "MSCU6639871,BL1,2026-03-01T08:00:00Z,cash,true,seizure\n"
        "CSQU3054383,BL2,2026-03-01T08:00:00Z,,true,clean\n"
        "TCNU7200794,,2026-03-01T08:00:00Z,cash,false,\n",
        encoding="utf-8",
    )
    report = tmp_path / "r.json"
    code, output = run("backtest", "--history", str(text), "--json", str(report))
    assert code == 0, output
    assert f"1 record(s) of {text} could not be read and were left out" in output
    cash = next(r for r in json.loads(report.read_text())["rules"] if r["rule"] == "cash-freight")
    assert cash["hits"] == 1 and cash["precision"] == 1.0

    keyless = tmp_path / "keyless.parquet"
    pl.DataFrame({"filed_at": ["2026-03-01"], "inspected": [True]}).write_parquet(keyless)
    code, output = run("backtest", "--history", str(keyless))
    assert code == 1
    assert f"{keyless}:1: cannot read history: required manifest fields are missing" in output
    assert "--spec" in output


def test_check_accepts_dataset_fields_from_a_data_file(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "r.yaml").write_text(
        "kind: rule\nid: r\ntitle: t\ndescription: d\nstatus: active\nseverity: low\n"
        "weight: 5\nowner: o\nmatch: {a: {declarant_code|startswith: X}, condition: a}\n"
    )
    data = tmp_path / "declarations.parquet"
    pl.DataFrame({"declarant_code": ["X1"], "hs_code": ["080390"]}).write_parquet(data)
    code, output = run("check", str(pack))
    assert code == 1 and "unknown field 'declarant_code'" in output
    code, output = run("check", str(pack), "--fields-from", str(data))
    assert code == 1 and "required manifest fields are missing" in output  # not a manifest
    spec = tmp_path / "declarations.yaml"
    spec.write_text(
        "name: declarations\nrecord_id: declarant_code\ncolumns: {hs_code: hs_code}\n"
        "extra: {declarant_code: {source: declarant_code, role: id}}\n",
        encoding="utf-8",
    )
    code, output = run("check", str(pack), "--fields-from", str(data), "--spec", str(spec))
    assert code == 0 and "1 active" in output
