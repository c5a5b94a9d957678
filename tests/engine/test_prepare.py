"""Histories are read the way a batch is (engine.prepare.read_history): through ingest and a
dataset spec, records that cannot be read counted, a file with none readable refused where."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from engine.errors import IngestError
from engine.prepare import read_columns, read_history
from engine.schema import DATETIME

HEADER = "container_number,bl_number,filed_at,inspected,remark\n"


def test_rows_of_several_files_and_the_records_left_out(tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    first.write_text(HEADER + "MSCU6639871,BL1,2026-03-01T08:00:00Z,true,x\n", encoding="utf-8")
    second = tmp_path / "b.data"  # the content tells the format, not the name
    second.write_text(
        HEADER + "CSQU3054383,BL2,2026-03-02T08:00:00Z,false,y\nTCNU7200794,,2026-03-02,true,z\n",
        encoding="utf-8",
    )
    rows, rejected = read_history([first, second])
    assert rows["bl_number"].to_list() == ["BL1", "BL2"]
    assert rows["inspected"].to_list() == [True, False]  # the canonical type
    assert rows["remark"].to_list() == ["x", "y"]  # an extra column, kept as text
    assert rejected.select("source_file", "source_line", "field").rows() == [
        (str(second), 3, "bl_number")
    ]


def test_a_history_with_no_readable_row_is_refused_at_its_first_record(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text(HEADER + "MSCU6639871,,2026-03-01,true,x\nCSQU3054383,,2026-03-01,true,y\n")
    with pytest.raises(IngestError) as caught:
        read_history([path])
    assert str(caught.value.location) == f"{path}:2, field 'bl_number'"
    assert "no rows could be read: 2 records rejected" in caught.value.message
    assert caught.value.hint and "dataset spec" in caught.value.hint


def test_columns_as_the_spec_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text(HEADER + "MSCU6639871,BL1,2026-03-01T08:00:00Z,true,x\n", encoding="utf-8")
    schema = read_columns(path)
    assert schema["inspected"] == pl.Boolean()
    assert schema["filed_at"] == DATETIME
    assert schema["remark"] == pl.String()  # a column the spec does not map: text
