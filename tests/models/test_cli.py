"""`lookout model train / evaluate / card` on a small history through a dataset spec."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from engine.identity import batch_identity
from models.cli import app
from tests.models._history import FAST_PARAMS, history

SPEC = """
kind: dataset_spec
name: tiny-declarations
record_id: Declaration ID
time_field: when
extra:
  Declaration ID: {role: id}
  when: {role: time, format: "%Y-%m-%d"}
  gross_weight_kg_text: {role: numeric, source: weight}
  office: {role: categorical}
  importer: {role: categorical}
  fraud: {role: label}
model:
  label: fraud
  positive: [1]
  numeric: [gross_weight_kg_text]
  categorical: [office]
  entities: [importer]
  min_category_count: 5
  params: PARAMS
"""


def _write(tmp_path: Path) -> tuple[Path, Path, Path]:
    frame = (
        history(1500)
        .rename({"record_id": "Declaration ID", "gross_weight_kg": "weight"})
        .select("Declaration ID", "when", "weight", "office", "importer", "fraud")
    )
    early = frame.filter(pl.col("when") < "2024-03-01")
    late = frame.filter(pl.col("when") >= "2024-03-01")
    early.write_csv(tmp_path / "train.csv")
    late.write_csv(tmp_path / "valid.csv")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace("PARAMS", json.dumps(FAST_PARAMS)))
    return tmp_path / "train.csv", tmp_path / "valid.csv", spec


def test_train_evaluate_card(tmp_path: Path) -> None:
    train, valid, spec = _write(tmp_path)
    runner = CliRunner()
    out = tmp_path / "model"
    result = runner.invoke(
        app,
        [
            "train",
            "--data",
            str(train),
            "--valid",
            str(valid),
            "--spec",
            str(spec),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "precision" in result.output
    assert (out / "model.txt").is_file() and (out / "precision_at_capacity.png").is_file()
    card = json.loads((out / "card.json").read_text())
    assert card["training_window"]["to"] < card["validation_window"]["from"]

    result = runner.invoke(app, ["evaluate", "--model", str(out), "--data", str(valid)])
    assert result.exit_code == 0, result.output
    assert (out / "evaluation_precision_at_capacity.png").read_bytes()[:4] == b"\x89PNG"
    table = pl.read_csv(out / "evaluation_precision_at_capacity.csv")
    assert table.columns == ["rate", "inspected", "precision", "recall"]
    card = json.loads((out / "card.json").read_text())
    assert (
        card["evaluations"][0]["metrics"]["precision_at_5pct"]
        == table.filter(pl.col("rate") == "5%")["precision"][0]
    )

    # The data hash is the files' batch id; an evaluation of before (16-digit hash of the
    # hex file digests) on the same data is replaced, not kept beside the new one.
    assert card["data_hash"] == batch_identity([train]).id
    digest = hashlib.sha256(valid.read_bytes()).hexdigest()
    card["evaluations"][0]["data_hash"] = hashlib.sha256(digest.encode()).hexdigest()[:16]
    (out / "card.json").write_text(json.dumps(card))
    result = runner.invoke(app, ["evaluate", "--model", str(out), "--data", str(valid)])
    assert result.exit_code == 0, result.output
    evaluations = json.loads((out / "card.json").read_text())["evaluations"]
    assert [e["data_hash"] for e in evaluations] == [digest]

    result = runner.invoke(app, ["card", str(out)])
    assert result.exit_code == 0 and "count_importer" in result.output


def test_bad_input_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    train, valid, spec = _write(tmp_path)
    runner = CliRunner()
    # validation period earlier than training
    result = runner.invoke(
        app,
        [
            "train",
            "--data",
            str(valid),
            "--valid",
            str(train),
            "--spec",
            str(spec),
            "--out",
            str(tmp_path / "m"),
        ],
    )
    assert result.exit_code == 2
    assert "later than the training period" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["card", str(tmp_path)])
    assert result.exit_code == 2 and "missing model.txt" in result.output
