"""Dataset specs: loading with located errors, and mapping sources onto canonical fields."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from engine.errors import SpecError
from engine.ingest import read_frame
from engine.spec import load_spec


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


def test_mapping_formats_units_and_extras(tmp_path: Path) -> None:
    spec = load_spec(
        _spec(
            tmp_path,
            """
kind: dataset_spec
name: national-export
csv: {separator: ";"}
list_separator: "|"
columns:
  container_number: CNTR NO
  bl_number: {source: BL}
  gross_weight_kg: {source: WEIGHT_T, unit: t, decimal: ","}
  filed_at: {source: FILED, format: "%d/%m/%Y %H:%M"}
  transshipment_ports: VIA
  is_empty: {source: EMPTY}
extra:
  Importer ID: {role: categorical}
  Score: {role: numeric, decimal: ","}
""",
        )
    )
    data = tmp_path / "export.csv"
    data.write_text(
        "CNTR NO;BL;WEIGHT_T;FILED;VIA;EMPTY;Importer ID;Score\n"
        "mscu 123456-5;B1;1.234,5;27/11/2026 08:15;esalg | nlrtm;Y;IMP-1;0,75\n"
        "TGHU7654321;B2;2;31/02/2026 08:15;;no;IMP-2;x\n"
    )
    rows, quarantine = read_frame(data, spec)
    assert quarantine.height == 0
    assert rows.get_column("container_number").to_list() == ["MSCU1234565", "TGHU7654321"]
    assert rows.get_column("gross_weight_kg").to_list() == [1_234_500.0, 2000.0]
    assert rows.get_column("transshipment_ports").to_list()[0] == ["ESALG", "NLRTM"]
    assert rows.get_column("is_empty").to_list() == [True, False]
    assert rows.get_column("Importer ID").to_list() == ["IMP-1", "IMP-2"]
    assert rows.get_column("Score").to_list() == [0.75, None]
    assert str(rows.get_column("filed_at").to_list()[0]) == "2026-11-27 08:15:00+00:00"
    # 31 February does not exist: flagged, not dropped, and named.
    assert sorted(rows.get_column("dq_unparseable_fields").to_list()[1]) == ["Score", "filed_at"]


def test_declared_record_id_replaces_manifest_keys(tmp_path: Path) -> None:
    spec = load_spec(
        _spec(
            tmp_path,
            """
record_id: Declaration ID
columns:
  hs_code: HS6 Code
extra:
  Declaration ID: {role: id}
  Fraud: {role: label}
""",
        )
    )
    data = tmp_path / "decl.csv"
    data.write_text("Declaration ID,HS6 Code,Fraud\n97061800,440890,0\n85945189,6907.22,1\n,1,0\n")
    rows, quarantine = read_frame(data, spec)
    assert rows.get_column("record_id").to_list() == ["97061800", "85945189"]
    assert rows.get_column("hs_code").to_list() == ["440890", "690722"]
    assert rows.get_column("Fraud").dtype == pl.Int64
    assert quarantine.get_column("field").to_list() == ["Declaration ID"]


def test_labels_are_optional_so_a_batch_to_score_needs_none(tmp_path: Path) -> None:
    spec = load_spec(
        _spec(
            tmp_path,
            """
record_id: Declaration ID
columns:
  hs_code: HS6 Code
  inspection_result: Outcome
extra:
  Declaration ID: {role: id}
  Fraud: {role: label}
""",
        )
    )
    labelled = tmp_path / "train.csv"
    labelled.write_text("Declaration ID,HS6 Code,Fraud,Outcome\n1,440890,1,seizure\n")
    rows, _ = read_frame(labelled, spec)
    assert rows.get_column("Fraud").to_list() == [1]
    assert rows.get_column("inspection_result").to_list() == ["seizure"]
    batch = tmp_path / "batch.csv"
    batch.write_text("Declaration ID,HS6 Code\n2,690722\n")
    rows, quarantine = read_frame(batch, spec)
    assert rows.get_column("record_id").to_list() == ["2"] and quarantine.height == 0
    assert "Fraud" not in rows.columns
    assert rows.get_column("inspection_result").null_count() == 1
    # A feature column is still required.
    (tmp_path / "bad.csv").write_text("Declaration ID,Fraud\n3,0\n")
    with pytest.raises(SpecError, match="'HS6 Code'"):
        read_frame(tmp_path / "bad.csv", spec)


@pytest.mark.parametrize(
    ("text", "line", "message", "hint"),
    [
        (
            "columns:\n  consigne_name: X\n",
            2,
            "unknown canonical field 'consigne_name'",
            "consignee_name",
        ),
        ("colums: {}\n", 1, "unknown key 'colums' in a dataset spec", "did you mean 'columns'"),
        (
            "columns:\n  gross_weight_kg: {source: W, unit: stone}\n",
            2,
            "unknown unit 'stone'",
            "kg",
        ),
        ("extra:\n  Foo: {}\n", 2, "'Foo' has no 'role'", "one of id, categorical"),
        ("format: xlsx\n", 1, "format 'xlsx' is not one of: csv, parquet", None),
        ("columns: [\n", 2, "YAML syntax", "indentation"),
        ("columns:\n  bl_number: {source: B, decimal: ';'}\n", 2, "decimal ';'", None),
        ("kind: dataset_spec\nkind: x\n", 2, "duplicate key 'kind'", None),
    ],
)
def test_spec_errors_are_located(
    tmp_path: Path, text: str, line: int, message: str, hint: str | None
) -> None:
    path = _spec(tmp_path, text)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert message in str(err.value)
    assert f"{path}:{line}:" in str(err.value)
    if hint:
        assert hint in (err.value.hint or "")


def test_spec_naming_missing_source_column(tmp_path: Path) -> None:
    spec = load_spec(_spec(tmp_path, "columns:\n  container_number: CNTR\n  bl_number: BL\n"))
    data = tmp_path / "x.csv"
    data.write_text("CNTR_NO,BL\nA,B\n")
    with pytest.raises(SpecError) as err:
        read_frame(data, spec)
    assert "'CNTR'" in str(err.value)
    assert "did you mean 'CNTR_NO'" in str(err.value)


def test_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "nope.yaml")
