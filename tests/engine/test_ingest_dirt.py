"""Ingest on files as they really arrive: stray quotes, bare CRs, huge lines, other separators."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine import ingest
from engine._scan import scan_records
from engine.errors import IngestError
from engine.formats import _text
from engine.ingest import read_chunks, read_frame
from engine.schema import SOURCE_LINE

HEADER = "container_number,bl_number,goods_description,gross_weight_kg\n"


def _write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _accounting(path: Path) -> tuple[int, int, int]:
    read = kept = quarantined = 0
    for chunk in read_chunks(path):
        read += chunk.records_read
        kept += chunk.rows.height
        quarantined += chunk.quarantine.height
    return read, kept, quarantined


# ---------------------------------------------------------------------------------------
# Defect 1: a quote is a quote only at the start of a field (RFC 4180)
# ---------------------------------------------------------------------------------------
def test_inch_marks_and_apostrophes_in_unquoted_fields_are_text(tmp_path: Path) -> None:
    body = (
        'MSCU1234565,BL1,STEEL PIPES 12" DIA,100\n'
        "TGHU7654321,BL2,PLANKS 5',200\n"
        'MSCU1234565,BL3,ATTN O"NEIL,300\n'
        'TGHU7654321,BL4,"QUOTED, ""PROPERLY""",400\n'
        'MSCU1234565,BL5,2" X 4" STUDS,500\n'
    )
    path = _write(tmp_path, "inch.csv", HEADER + body)
    rows, quarantine = read_frame(path)
    assert quarantine.height == 0
    assert rows.get_column("goods_description").to_list() == [
        'STEEL PIPES 12" DIA',
        "PLANKS 5'",
        'ATTN O"NEIL',
        'QUOTED, "PROPERLY"',
        '2" X 4" STUDS',
    ]
    assert rows.get_column(SOURCE_LINE).to_list() == [2, 3, 4, 5, 6]
    assert rows.get_column("gross_weight_kg").to_list() == [100.0, 200.0, 300.0, 400.0, 500.0]


def test_text_after_a_closing_quote_stays_in_the_field(tmp_path: Path) -> None:
    body = 'MSCU1234565,BL1,"12" DIA PIPE,100\nTGHU7654321,BL2,ok,200\n'
    rows, quarantine = read_frame(_write(tmp_path, "after.csv", HEADER + body))
    assert quarantine.height == 0
    # As Python's csv module reads it: the quoted part, then the rest as text.
    assert rows.get_column("goods_description").to_list() == ["12 DIA PIPE", "ok"]


def test_header_with_a_quote_inside_a_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "h.csv", 'container_number,bl_number,size 12"\nMSCU1234565,B,x\n')
    rows, _ = read_frame(path)
    assert rows.get_column('size 12"').to_list() == ["x"]


def test_stray_quotes_split_across_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_text, "BLOCK_BYTES", 9)
    body = "".join(f'MSCU1234565,BL{i},PIPE {i}" DIA,{i}\n' for i in range(20))
    rows, quarantine = read_frame(_write(tmp_path, "blocks.csv", HEADER + body))
    assert quarantine.height == 0
    assert rows.get_column("goods_description").to_list() == [f'PIPE {i}" DIA' for i in range(20)]


def test_scanner_counts_fields_of_stray_quotes_like_rfc4180() -> None:
    r = scan_records(np.frombuffer(b'a,12" x,b\nc,"d,e",f\n', dtype=np.uint8))
    assert r.fields.tolist() == [3, 3]
    assert r.lines.tolist() == [1, 2]


# ---------------------------------------------------------------------------------------
# Defect 2: the header and huge lines give located errors, never a crash
# ---------------------------------------------------------------------------------------
def test_bare_cr_inside_the_header_is_a_located_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "cr.csv", "container_number,bl\rnumber,x\nMSCU1234565,B,1\n")
    with pytest.raises(IngestError) as err:
        read_frame(path)
    text = str(err.value)
    assert f"{path}:1" in text
    assert "carriage return" in text
    assert "column 2" in text
    assert "hint:" in text


def test_old_mac_line_ends_are_read(tmp_path: Path) -> None:
    body = HEADER + "MSCU1234565,BL1,pipes,1\nTGHU7654321,BL2,planks,2\n"
    rows, quarantine = read_frame(_write(tmp_path, "mac.csv", body.replace("\n", "\r")))
    assert quarantine.height == 0
    assert rows.get_column("bl_number").to_list() == ["BL1", "BL2"]
    assert rows.get_column(SOURCE_LINE).to_list() == [2, 3]


def test_header_field_longer_than_pythons_csv_limit_is_read(tmp_path: Path) -> None:
    name = "x" * 200_000
    path = _write(tmp_path, "wide.csv", f"container_number,bl_number,{name}\nMSCU1234565,B,1\n")
    rows, _ = read_frame(path)
    assert rows.get_column(name).to_list() == ["1"]


def test_data_field_longer_than_pythons_csv_limit_is_read(tmp_path: Path) -> None:
    long = "y" * 200_000
    body = f"MSCU1234565,BL1,{long},1\nTGHU7654321,BL2,short,2\n"
    rows, quarantine = read_frame(_write(tmp_path, "long.csv", HEADER + body))
    assert quarantine.height == 0
    assert rows.get_column("goods_description").str.len_chars().to_list() == [200_000, 5]


def test_oversize_header_line_is_a_located_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "huge.csv", "a," * 700_000 + "b\nMSCU1234565,B\n")
    with pytest.raises(IngestError) as err:
        read_frame(path)
    text = str(err.value)
    assert f"{path}:1" in text
    assert "header line is longer than" in text


def test_one_huge_line_without_a_header_break_is_a_located_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "one.csv", b"z" * (3 << 20))
    with pytest.raises(IngestError) as err:
        read_frame(path)
    assert f"{path}:1" in str(err.value)


def test_huge_data_line_is_quarantined_with_its_line(tmp_path: Path) -> None:
    huge = "MSCU1234565,BL9,x" + "x" * (2 << 20) + ",1\n"
    path = _write(
        tmp_path, "big.csv", HEADER + "MSCU1234565,BL1,a,1\n" + huge + "TGHU7654321,BL2,b,2\n"
    )
    assert _accounting(path) == (3, 2, 1)
    _, quarantine = read_frame(path)
    assert quarantine.get_column("source_line").to_list() == [3]
    assert quarantine.get_column("source_file").to_list() == [str(path)]


# ---------------------------------------------------------------------------------------
# Defect 3: the separator and the quote are detected from the content when no spec says
# ---------------------------------------------------------------------------------------
ROWS = [
    ["MSCU1234565", "BL1", 'STEEL PIPES 12" DIA', "1,5"],
    ["TGHU7654321", "BL2", "a; b | c", "2"],
]


@pytest.mark.parametrize(
    ("sep", "name"), [(",", "comma"), ("\t", "tab"), (";", "semicolon"), ("|", "pipe")]
)
def test_separator_is_detected_and_recorded(tmp_path: Path, sep: str, name: str) -> None:
    def cell(value: str) -> str:
        return f'"{value}"' if sep in value else value

    lines = [sep.join(HEADER.strip().split(","))] + [sep.join(map(cell, r)) for r in ROWS]
    path = _write(tmp_path, f"{name}.txt", "\n".join(lines) + "\n")
    summary = ingest.IngestSummary()
    rows = [c.rows for c in read_chunks(path, summary=summary)]
    assert rows[0].get_column("bl_number").to_list() == ["BL1", "BL2"]
    assert rows[0].get_column("goods_description").to_list() == [ROWS[0][2], ROWS[1][2]]
    csv_info = summary.files[0]["csv"]
    assert csv_info["separator"] == sep  # type: ignore[index]
    assert csv_info["quote"] == '"'  # type: ignore[index]
    assert csv_info["detected_by"] == "content"  # type: ignore[index]
    assert csv_info["records_fitting"] == csv_info["records_sampled"] == 3  # type: ignore[index]


def test_single_quote_style_is_detected(tmp_path: Path) -> None:
    body = "container_number;bl_number;goods_description\n'MSCU1234565';'BL1';'A; B'\n"
    body += "'TGHU7654321';'BL2';'C'\n"
    summary = ingest.IngestSummary()
    rows = [c.rows for c in read_chunks(_write(tmp_path, "sq.csv", body), summary=summary)]
    assert rows[0].get_column("goods_description").to_list() == ["A; B", "C"]
    assert summary.files[0]["csv"]["quote"] == "'"  # type: ignore[index]


def test_a_spec_separator_other_than_comma_is_taken_as_given(tmp_path: Path) -> None:
    from engine.spec import CsvOptions, DatasetSpec, default_spec

    spec = default_spec()
    spec = DatasetSpec(**{**spec.__dict__, "csv": CsvOptions(separator="|")})
    path = _write(tmp_path, "p.csv", "container_number|bl_number|x,y,z\nMSCU1234565|B|1,2,3\n")
    summary = ingest.IngestSummary()
    rows = [c.rows for c in read_chunks(path, spec, summary=summary)]
    assert rows[0].get_column("x,y,z").to_list() == ["1,2,3"]
    assert summary.files[0]["csv"]["detected_by"] == "spec"  # type: ignore[index]
