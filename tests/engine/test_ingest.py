"""Ingest: every format into the canonical frame; every record accounted for."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from engine.errors import IngestError, SpecError
from engine.formats import _text
from engine.ingest import detect_format, read_chunks, read_frame
from engine.schema import CANONICAL, RECORD_ID, ROW_INDEX, SOURCE_LINE

HEADER = "container_number,bl_number,gross_weight_kg,packages,filed_at,transshipment_ports,notes\n"
GOOD = [
    "MSCU1234565,BL1,1250.5,10,2026-11-27T08:15:00Z,ESALG;NLRTM,first\n",
    'TGHU7654321,BL2,"1,234.5",3,2026-11-27,,"quoted, with comma"\n',
]


def _write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _accounting(path: Path, **kw: object) -> tuple[int, int, int]:
    read = kept = quarantined = 0
    for chunk in read_chunks(path, **kw):  # type: ignore[arg-type]
        read += chunk.records_read
        kept += chunk.rows.height
        quarantined += chunk.quarantine.height
    return read, kept, quarantined


def test_csv_to_canonical(tmp_path: Path) -> None:
    rows, quarantine = read_frame(_write(tmp_path, "m.csv", HEADER + "".join(GOOD)))
    assert quarantine.height == 0
    assert rows.get_column("container_number").to_list() == ["MSCU1234565", "TGHU7654321"]
    assert rows.get_column("gross_weight_kg").to_list() == [1250.5, 1234.5]
    assert rows.get_column("packages").dtype == pl.Int64
    assert rows.get_column("transshipment_ports").to_list() == [["ESALG", "NLRTM"], []]
    assert rows.get_column(SOURCE_LINE).to_list() == [2, 3]
    assert rows.get_column(ROW_INDEX).to_list() == [0, 1]
    assert rows.get_column(RECORD_ID).to_list() == ["MSCU1234565/BL1", "TGHU7654321/BL2"]
    assert rows.get_column("notes").to_list() == ["first", "quoted, with comma"]  # extras kept
    for name, field in CANONICAL.items():
        assert rows.schema[name] == field.dtype, name


def test_broken_file_accounting_and_reasons(tmp_path: Path) -> None:
    content = (
        HEADER.encode()
        + GOOD[0].encode()
        + b"short,row\n"  # wrong field count
        + b"MSCU1234565,BL3,1,1,2026-11-27,,\xff\xfe\n"  # invalid UTF-8
        + b",BL4,1,1,2026-11-27,,no container\n"  # empty key field
        + b"MSCU1234565,BL5,heavy,1.5,not-a-date,,bad values\n"  # kept, flagged
        + b"\n"  # blank: not a record
        + GOOD[1].encode()
    )
    path = _write(tmp_path, "broken.csv", content)
    read, kept, quarantined = _accounting(path)
    assert (read, kept, quarantined) == (6, 3, 3)
    rows, quarantine = read_frame(path)
    by_line = dict(
        zip(quarantine["source_line"].to_list(), quarantine["reason"].to_list(), strict=True)
    )
    assert set(by_line) == {3, 4, 5}
    assert "expected 7, found 2" in by_line[3]
    assert "UTF-8" in by_line[4]
    assert "container_number" in by_line[5]
    flagged = rows.filter(pl.col("bl_number") == "BL5")
    assert sorted(flagged.get_column("dq_unparseable_fields").item()) == [
        "filed_at",
        "gross_weight_kg",
        "packages",
    ]
    assert flagged.get_column("dq_unparseable_values").item() is True
    assert rows.filter(pl.col("bl_number") == "BL2").get_column(SOURCE_LINE).item() == 8


def test_chunking_keeps_line_numbers_and_row_index(tmp_path: Path) -> None:
    body = "".join(f"MSCU1234565,BL{i},1,1,2026-11-27,,\n" for i in range(25))
    path = _write(tmp_path, "many.csv", HEADER + body)
    chunks = list(read_chunks(path, chunk_rows=10))
    assert [c.rows.height for c in chunks] == [10, 10, 5]
    frame = pl.concat([c.rows for c in chunks])
    assert frame.get_column(SOURCE_LINE).to_list() == list(range(2, 27))
    assert frame.get_column(ROW_INDEX).to_list() == list(range(25))


def test_small_blocks_split_records_correctly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_text, "BLOCK_BYTES", 7)
    body = (
        '"MSCU1234565",BL1,1,1,2026-11-27,,"multi\nline note"\nTGHU7654321,BL2,2,2,2026-11-27,,x\n'
    )
    rows, quarantine = read_frame(_write(tmp_path, "blocks.csv", HEADER + body))
    assert quarantine.height == 0
    assert rows.get_column("notes").to_list() == ["multi\nline note", "x"]
    assert rows.get_column(SOURCE_LINE).to_list() == [2, 4]


def test_oversize_record_is_quarantined_and_reading_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_text, "BLOCK_BYTES", 64)
    monkeypatch.setattr(_text, "MAX_RECORD_BYTES", 100)
    huge = "MSCU1234565,BL9,1,1,2026-11-27,," + "x" * 1000 + "\n"
    path = _write(tmp_path, "huge.csv", HEADER + GOOD[0] + huge + GOOD[1])
    read, kept, quarantined = _accounting(path)
    assert (read, kept, quarantined) == (3, 2, 1)
    _, quarantine = read_frame(path)
    assert quarantine.get_column("source_line").to_list() == [3]
    assert "longer than" in quarantine.get_column("reason").item()


@pytest.mark.parametrize("fmt", ["parquet", "ipc", "ndjson"])
def test_other_formats_read_the_same_rows(tmp_path: Path, fmt: str) -> None:
    csv_rows, _ = read_frame(_write(tmp_path, "m.csv", HEADER + "".join(GOOD)))
    source = pl.DataFrame(
        {
            "container_number": ["MSCU1234565", "TGHU7654321"],
            "bl_number": ["BL1", "BL2"],
            "gross_weight_kg": [1250.5, 1234.5],
            "packages": [10, 3],
            "filed_at": ["2026-11-27T08:15:00Z", "2026-11-27"],
            "transshipment_ports": [["ESALG", "NLRTM"], []],
            "notes": ["first", "quoted, with comma"],
        }
    )
    path = tmp_path / f"m.{fmt}"
    if fmt == "parquet":
        source.write_parquet(path)
    elif fmt == "ipc":
        source.write_ipc(path)
    else:
        source.write_ndjson(path)
    rows, quarantine = read_frame(path)
    assert quarantine.height == 0
    cols = [
        "container_number",
        "gross_weight_kg",
        "packages",
        "filed_at",
        "transshipment_ports",
        "notes",
    ]
    assert rows.select(cols).equals(csv_rows.select(cols))


def test_ndjson_bad_lines_are_quarantined(tmp_path: Path) -> None:
    lines = [
        '{"container_number":"MSCU1234565","bl_number":"BL1"}',
        "{not json",
        "[1,2]",
        '{"container_number":"TGHU7654321","bl_number":"BL2"}',
    ]
    path = _write(tmp_path, "m.ndjson", "\n".join(lines) + "\n")
    rows, quarantine = read_frame(path)
    assert rows.get_column("bl_number").to_list() == ["BL1", "BL2"]
    assert rows.get_column(SOURCE_LINE).to_list() == [1, 4]
    assert quarantine.get_column("source_line").to_list() == [2, 3]


def test_format_detected_from_content_not_extension(tmp_path: Path) -> None:
    path = tmp_path / "really_parquet.csv"
    pl.DataFrame({"container_number": ["MSCU1234565"], "bl_number": ["B"]}).write_parquet(path)
    assert detect_format(path)[0] == "parquet"
    assert read_frame(path)[0].height == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02\x00\x00\x00garbage\x00\x00" * 50, "binary"),
        (b"bl_number,weight\nB1,3\n", "required manifest fields are missing: container_number"),
        (b"container_number,container_number,bl_number\n", "appears twice"),
    ],
)
def test_unreadable_inputs_raise_clear_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = _write(tmp_path, "bad.csv", content)
    with pytest.raises((IngestError, SpecError)) as err:
        read_frame(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_missing_column_hint_suggests_the_close_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "typo.csv", "container_numbr,bl_number\nX,Y\n")
    with pytest.raises(SpecError) as err:
        read_frame(path)
    assert "did you mean 'container_numbr'" in str(err.value)


def test_directory_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="is a directory"):
        read_frame(tmp_path)
    with pytest.raises(IngestError, match="no such file"):
        read_frame(tmp_path / "nope.csv")


def test_glob_reads_several_files_as_one_batch(tmp_path: Path) -> None:
    _write(tmp_path, "a.csv", HEADER + GOOD[0])
    _write(tmp_path, "b.csv", HEADER + GOOD[1])
    rows, _ = read_frame(str(tmp_path / "*.csv"))
    assert rows.get_column(ROW_INDEX).to_list() == [0, 1]
    assert rows.get_column("source_file").str.ends_with(".csv").all()


def test_latin1_file_with_declared_encoding(tmp_path: Path) -> None:
    from engine.spec import DatasetSpec, default_spec

    spec = default_spec()
    spec = DatasetSpec(**{**spec.__dict__, "csv": type(spec.csv)(encoding="latin-1")})
    path = _write(
        tmp_path, "l1.csv", (HEADER + "MSCU1234565,BL1,1,1,2026-11-27,,Société\n").encode("latin-1")
    )
    rows, quarantine = read_frame(path, spec)
    assert quarantine.height == 0
    assert rows.get_column("notes").item() == "Société"


def test_ndjson_field_changing_type_between_lines(tmp_path: Path) -> None:
    lines = [
        '{"container_number":"MSCU1234565","bl_number":"B1","seals":["S1","S2"],"x":true}',
        '{"container_number":"TGHU7654321","bl_number":"B2","seals":"S3","x":[1]}',
    ]
    path = _write(tmp_path, "mixed.ndjson", "\n".join(lines) + "\n")
    rows, quarantine = read_frame(path)
    assert quarantine.height == 0
    assert rows.get_column("seals").to_list() == [["S1", "S2"], ["S3"]]
    assert rows.height == 2


def _numbered_parquet(tmp_path: Path, n: int, *, row_group_size: int) -> tuple[pl.DataFrame, Path]:
    """``n`` numbered manifest lines written to Parquet in row groups of ``row_group_size``."""
    source = pl.DataFrame(
        {
            "container_number": [f"C{i:06d}" for i in range(n)],
            "bl_number": [f"B{i}" for i in range(n)],
            "packages": list(range(n)),
        }
    )
    path = tmp_path / "m.parquet"
    source.write_parquet(path, row_group_size=row_group_size)
    return source, path


def test_parquet_chunks_keep_record_numbers_across_row_groups(tmp_path: Path) -> None:
    """Parquet is read by polars in slices: every row once, in order, numbered from 1."""
    n = 1_050
    source, path = _numbered_parquet(tmp_path, n, row_group_size=256)
    chunks = list(read_chunks(path, chunk_rows=400))
    assert [c.rows.height for c in chunks] == [400, 400, 250]
    rows = pl.concat([c.rows for c in chunks])
    assert rows.get_column("bl_number").to_list() == source.get_column("bl_number").to_list()
    assert rows.get_column(SOURCE_LINE).to_list() == list(range(1, n + 1))
    assert rows.get_column(ROW_INDEX).to_list() == list(range(n))


def test_parquet_chunks_reach_the_stages_in_one_piece_per_column(tmp_path: Path) -> None:
    """A slice across row groups can come out of the reader in pieces; every later stage
    pays for them, so a chunk is handed on with one buffer per column."""
    _, path = _numbered_parquet(tmp_path, 20_000, row_group_size=5_000)
    chunks = list(read_chunks(path, chunk_rows=7_500))
    assert [c.rows.height for c in chunks] == [7_500, 7_500, 5_000]
    assert [max(c.rows.n_chunks("all")) for c in chunks] == [1, 1, 1]


def test_truncated_parquet_is_refused_with_the_file_named(tmp_path: Path) -> None:
    path = tmp_path / "cut.parquet"
    rows = {"container_number": ["MSCU1234565"] * 100, "bl_number": ["B"] * 100}
    pl.DataFrame(rows).write_parquet(path)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(IngestError) as err:
        read_frame(path)
    assert "not a readable Parquet file" in str(err.value)
    assert str(path) in str(err.value)


def test_text_fields_from_text_numbers_and_categories_parse_as_before(tmp_path: Path) -> None:
    """Text read from text or numbers never counts as unparseable; a blank category value
    still does (its check is kept for sources that are neither)."""
    path = tmp_path / "m.parquet"
    pl.DataFrame(
        {
            "container_number": ["MSCU1234565", "TGHU7654321"],
            "bl_number": ["BL1", "BL2"],
            "hs_code": [847130, None],
            "goods_description": ["  ", "shoes"],
            "carrier_scac": pl.Series(["  ", "MAEU"], dtype=pl.Categorical),
        }
    ).write_parquet(path)
    rows, _ = read_frame(path)
    assert rows.get_column("hs_code").to_list() == ["847130", None]
    assert rows.get_column("goods_description").to_list() == [None, "shoes"]
    assert rows.get_column("dq_unparseable_fields").to_list() == [["carrier_scac"], []]


def test_repeated_text_converted_per_distinct_value_as_row_by_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Codes that repeat are converted once per distinct value; every row gets what the
    row-by-row conversion gives it (padding, case, separators, blanks and nulls); free text
    (a name, the B/L number) is converted row by row."""
    from engine import _canonical
    from engine.spec import default_spec, resolve_columns

    messy = {
        "container_number": ["msku 123456-7", " MSKU1234567 ", "tcnu7654321 ", "TCNU-7654321", "x"],
        "port_of_loading": ["cn sha", "CNSHA", "  ", None, "nl-rtm"],
        "bl_type": ["Sea Waybill", "sea-waybill", "", None, "ORIGINAL"],
        "hs_code": ["8471.30", "8471 30", "", None, "0901.11-00"],
        "vessel_imo": ["IMO 9321483", "imo:9321483", " ", None, "9321483"],
        "freight_terms": ["PREPAID", "Collect", "", None, "prepaid"],
        "shipper_name": ["ACME LTD ", "acme ltd", "", None, "  Blue Sky  "],
        "bl_number": ["BL1", "BL2", "BL3", "BL4", "BL5"],
        # parsed from text, also per distinct value: times in several layouts, numbers with
        # separators, flags and lists, each with a value that does not parse
        "filed_at": ["2026-11-27T04:36:00Z", "2026-11-27 04:36", "27/11/2026", "", None],
        "gross_weight_kg": ["1,234.5", " 12 000 ", "n/a", "", None],
        "packages": ["12", "12.0", "12.5", " ", None],
        "inspected": ["yes", "N", "maybe", "", None],
        "transshipment_ports": ["sg sin;my pkg", "SGSIN", ";", "", None],
    }
    raw = pl.DataFrame({k: v * 40 for k, v in messy.items()})  # 200 rows, 5 distinct each
    spec = resolve_columns(default_spec(), raw.columns, "messy.parquet")
    lines = pl.Series(range(1, raw.height + 1))

    def canonical() -> tuple[pl.DataFrame, pl.DataFrame]:
        return _canonical.to_canonical(raw, spec, source_file="messy", source_lines=lines)

    by_distinct = canonical()
    seen: list[int] = []
    real = _canonical._text_by_distinct
    monkeypatch.setattr(_canonical, "_text_by_distinct", lambda v, e: seen.append(1) or real(v, e))
    canonical()
    assert len(seen) == 11  # the distinct path ran for every code and parsed column, not free text
    monkeypatch.setattr(_canonical, "_text_by_distinct", lambda v, e: None)
    row_by_row = canonical()
    assert by_distinct[0].equals(row_by_row[0])
    assert by_distinct[1].equals(row_by_row[1])
    assert by_distinct[0].get_column("port_of_loading").to_list()[:5] == [
        "CNSHA",
        "CNSHA",
        None,
        None,
        "NLRTM",
    ]
    first = by_distinct[0].head(5)
    assert first.get_column("filed_at").dt.strftime("%Y-%m-%d %H:%M").to_list() == [
        "2026-11-27 04:36",
        "2026-11-27 04:36",
        None,
        None,
        None,
    ]
    assert first.get_column("gross_weight_kg").to_list() == [1234.5, 12000.0, None, None, None]
    assert first.get_column("packages").to_list() == [12, 12, None, None, None]
    assert first.get_column("inspected").to_list() == [True, False, None, False, None]
    # what does not parse is reported, per row, whichever way it was converted
    assert first.get_column("dq_unparseable_fields").to_list()[:3] == [
        [],
        [],
        ["filed_at", "packages", "gross_weight_kg", "inspected"],
    ]


def test_codes_whose_first_rows_barely_repeat_are_not_numbered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Container numbers hardly repeat in a batch: their first rows tell, and the column is
    converted row by row without numbering all of it first; a code that repeats further down
    is still numbered. Either way the rows are the same."""
    from engine import _canonical
    from engine.spec import default_spec, resolve_columns

    n = 3 * _canonical._SAMPLE_ROWS
    raw = pl.DataFrame(
        {
            "container_number": [f"msku {i:06d}-7" for i in range(n)],
            # distinct at first, then a few values for the rest: numbered
            "port_of_loading": [f"cn{i:03d}" for i in range(1000)] + ["nl rtm"] * (n - 1000),
            "bl_number": [f"BL{i}" for i in range(n)],
        }
    )
    spec = resolve_columns(default_spec(), raw.columns, "boxes.parquet")
    lines = pl.Series(range(1, n + 1))
    numbered: list[str] = []
    real = _canonical.distinct_codes
    monkeypatch.setattr(_canonical, "distinct_codes", lambda v: numbered.append(v.name) or real(v))
    rows, bad = _canonical.to_canonical(raw, spec, source_file="boxes", source_lines=lines)
    assert numbered == ["port_of_loading"]
    monkeypatch.setattr(_canonical, "_text_by_distinct", lambda v, e: None)
    row_by_row, bad_too = _canonical.to_canonical(
        raw, spec, source_file="boxes", source_lines=lines
    )
    assert rows.equals(row_by_row) and bad.equals(bad_too)
    assert rows.get_column("container_number")[5] == "MSKU0000057"
