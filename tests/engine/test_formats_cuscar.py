"""CUSCAR reader: fixtures written from the UN/EDIFACT message specification score end to end;
a broken segment quarantines its consignment (or message) with the segment's position."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydifact.segmentcollection import RawSegmentCollection

from engine.formats._edifact import parse_segments, split_segments
from engine.ingest import detect_format, read_chunks, read_frame
from engine.pipeline import run_batch
from engine.schema import SOURCE_LINE
from engine.scorer import Scorer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cuscar"
MANIFEST = FIXTURES / "manifest.edi"
BROKEN = FIXTURES / "broken.edi"


def _segment_texts(path: Path) -> list[str]:
    """Plain reference: one segment per line in the fixtures, UNA first."""
    return [
        line.rstrip("\n").removesuffix("'")
        for line in path.read_text().splitlines()
        if line.strip()
    ]


def _cni_positions(path: Path) -> dict[str, int]:
    """B/L number → 1-based position of its CNI segment."""
    return {
        text.split("+")[2]: i
        for i, text in enumerate(_segment_texts(path), start=1)
        if text.startswith("CNI+")
    }


def test_detected_as_cuscar() -> None:
    assert detect_format(MANIFEST) == ("cuscar", "UN/EDIFACT interchange header (UNA/UNB)")


# pydifact's default parser warns that it ships no directory to validate against.
@pytest.mark.filterwarnings("ignore::pydifact.exceptions.MissingImplementationWarning")
def test_segments_agree_with_pydifact() -> None:
    segments = parse_segments(MANIFEST.read_bytes())
    texts = _segment_texts(MANIFEST)
    assert [s.position for s in segments] == list(range(1, len(texts) + 1))
    assert [s.text for s in segments] == texts
    reference = RawSegmentCollection.from_str(MANIFEST.read_text())
    ours = [(s.tag, s.elements) for s in segments if s.tag != "UNA"]
    theirs = [(s.tag, s.elements) for s in reference.segments if s.tag != "UNA"]
    assert ours == theirs
    assert all(s.error is None for s in segments)


def test_manifest_rows() -> None:
    rows, quarantine = read_frame(MANIFEST)
    assert quarantine.height == 0
    cni = _cni_positions(MANIFEST)
    assert rows.select("container_number", "bl_number", SOURCE_LINE).rows() == [
        ("MAEU1234567", "MAEUBL0001", cni["MAEUBL0001"]),
        ("CMAU3456787", "MAEUBL0002", cni["MAEUBL0002"]),
        ("TCLU9876543", "MAEUBL0002", cni["MAEUBL0002"]),
        ("OOLU7654320", "MAEUBL0003", cni["MAEUBL0003"]),
    ]
    first = rows.row(0, named=True)
    assert first["iso_type"] == "45R1" and first["seals"] == ["SL778001"]
    assert first["is_empty"] is False
    assert first["goods_description"] == "FROZEN SHRIMP, PEELED IN CARTONS"  # release char
    assert (first["hs_code"], first["packages"], first["package_type"]) == ("030617", 1200, "CT")
    assert (first["shipper_country"], first["consignee_id"]) == ("CN", "NL812345678B01")
    assert first["notify_name"] == "SAME AS CONSIGNEE"
    assert (first["vessel_imo"], first["vessel_name"], first["voyage"]) == (
        "9811000",
        "EVER GIVEN",
        "612W",
    )
    assert first["carrier_scac"] == "MAEU"
    assert first["filed_at"].isoformat() == "2026-11-27T08:15:00+00:00"
    assert first["departed_at"].isoformat() == "2026-11-01T06:00:00+00:00"
    assert first["arrival_eta"].isoformat() == "2026-11-30T08:00:00+00:00"
    assert (first["port_of_loading"], first["port_of_discharge"]) == ("CNSHA", "NLRTM")


def test_goods_items_split_and_shared_across_containers() -> None:
    rows, _ = read_frame(MANIFEST)
    by_container = {r["container_number"]: r for r in rows.iter_rows(named=True)}
    cmau = by_container["CMAU3456787"]
    # 3.5 t + 2204.62 lb + 25 of the 100 pallets of a 6000 kg goods item
    assert cmau["gross_weight_kg"] == pytest.approx(3500 + 2204.62 * 0.45359237 + 6000 * 0.25)
    assert cmau["packages"] == 300 + 40 + 25
    assert cmau["hs_code"] == "732393" and cmau["hs_codes"] == "732393;691110;392690"
    assert cmau["goods_description"] == (
        "KITCHEN UTENSILS OF STAINLESS STEEL | CERAMIC TABLEWARE | PLASTIC STORAGE BOXES"
    )
    assert cmau["goods_items"] == "3" and cmau["un_dg_number"] == "1993"
    assert cmau["seals"] == ["SL778002", "SL778003"]
    assert cmau["transshipment_ports"] == ["SGSIN"]
    tclu = by_container["TCLU9876543"]
    assert tclu["gross_weight_kg"] == pytest.approx(4500.0) and tclu["packages"] == 75
    oolu = by_container["OOLU7654320"]  # goods item without SGP, container from its own EQD
    assert (oolu["house_bl_number"], oolu["origin_country"]) == ("HBL778899", "VN")
    assert (oolu["gross_weight_kg"], oolu["packages"], oolu["seals"]) == (1800.0, 60, ["SL990001"])


def test_broken_segments_quarantine_their_consignment() -> None:
    rows, quarantine = read_frame(BROKEN)
    cni = _cni_positions(BROKEN)
    texts = _segment_texts(BROKEN)
    assert rows.select("container_number", "bl_number", SOURCE_LINE).rows() == [
        ("MEDU7777778", "MSCUBL1001", cni["MSCUBL1001"]),
        ("TRLU5555550", "MSCUBL1004", cni["MSCUBL1004"]),
        ("HLXU1234561", "MSCUBL3001", cni["MSCUBL3001"]),
    ]
    unit = texts.index("MEA+WT+G+XYZ:5000") + 1
    tag = texts.index("EQ D+CN+HLXU1234561+22G1:102:5") + 1
    date = texts.index("DTM+137:2026-11-27:203") + 1
    assert quarantine.get_column("source_line").to_list() == [unit, tag, date, date]
    reasons = quarantine.get_column("reason").to_list()
    assert "B/L MSCUBL1002" in reasons[0] and "unknown unit of measure 'XYZ'" in reasons[0]
    assert "B/L MSCUBL1003" in reasons[1] and "not valid EDIFACT" in reasons[1]
    assert "B/L MSCUBL2001" in reasons[2] and "B/L MSCUBL2002" in reasons[3]
    assert "does not match format code 203" in reasons[2]
    assert quarantine.get_column("raw").to_list()[0] == "MEA+WT+G+XYZ:5000"


def test_truncated_interchange_and_wrong_segment_count(tmp_path: Path) -> None:
    text = MANIFEST.read_text()
    cut = tmp_path / "cut.edi"
    cut.write_text(text[: text.index("CNI+3")] + "CNI+3+MAEUBL0003'\nGID+1+60:P", encoding="utf-8")
    read = kept = quarantined = 0
    for chunk in read_chunks(cut):
        read += chunk.records_read
        kept += chunk.rows.height
        quarantined += chunk.quarantine.height
    assert (read, kept, quarantined) == (3, 0, 3)  # the message has no UNT: nothing is trusted
    miscount = tmp_path / "miscount.edi"
    miscount.write_text(text.replace("UNT+67+1", "UNT+66+1"), encoding="utf-8")
    quarantine = pl.concat([c.quarantine for c in read_chunks(miscount)])
    assert quarantine.height == 3
    assert "UNT declares 66 segments but the message has 67" in quarantine.get_column("reason")[0]


def test_not_cuscar_message(tmp_path: Path) -> None:
    other = tmp_path / "baplie.edi"
    other.write_text(
        MANIFEST.read_text().replace("CUSCAR:D:95B:UN", "BAPLIE:D:95B:UN"), encoding="utf-8"
    )
    quarantine = pl.concat([c.quarantine for c in read_chunks(other)])
    assert quarantine.height == 3
    assert "message type 'BAPLIE' is not CUSCAR" in quarantine.get_column("reason")[0]


@pytest.fixture(scope="module")
def scorer(tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    from api.wiring import build_scorer

    # The shipped model reads history features: score against an (empty) history store.
    return build_scorer(history_dir=tmp_path_factory.mktemp("history"))


def test_fixtures_score_end_to_end(scorer: Scorer, tmp_path: Path) -> None:
    record = run_batch(str(FIXTURES / "*.edi"), scorer=scorer, out_dir=tmp_path)
    assert record.counts["rows_scored"] == 4 + 3
    assert record.counts["rows_quarantined"] == 4
    assert record.counts["rows_in"] == 11
    assert {f["format"] for f in record.input["formats"]} == {"cuscar"}
    scored = pl.read_parquet(tmp_path / "scored.parquet").sort("row_index")
    assert scored.get_column("container_number").to_list() == [  # broken.edi sorts first
        "MEDU7777778",
        "TRLU5555550",
        "HLXU1234561",
        "MAEU1234567",
        "CMAU3456787",
        "TCLU9876543",
        "OOLU7654320",
    ]
    assert scored.get_column("dq_invalid_container_number").sum() == 0


_TEXT = st.text(alphabet="AB9 -+:'?.", min_size=1, max_size=6)


def _escape(text: str) -> str:
    return "".join("?" + c if c in "+:'?" else c for c in text)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["FTX", "LOC", "NAD", "RFF"]),
            st.lists(st.lists(_TEXT, min_size=1, max_size=3), min_size=1, max_size=4),
        ),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from(["", "\n", "\r\n"]),
)
def test_segments_round_trip_through_escaping(
    segments: list[tuple[str, list[list[str]]]], newline: str
) -> None:
    body = "".join(
        tag
        + "+"
        + "+".join(":".join(_escape(c) for c in element) for element in elements)
        + "'"
        + newline
        for tag, elements in segments
    )
    parsed = parse_segments(("UNA:+.? '" + newline + body).encode())
    assert [s.position for s in parsed] == list(range(1, len(segments) + 2))
    assert all(s.error is None for s in parsed)
    expected = [(tag, [e[0] if len(e) == 1 else e for e in elements]) for tag, elements in segments]
    assert [(s.tag, s.elements) for s in parsed[1:]] == expected


def test_without_una_and_with_other_service_characters(tmp_path: Path) -> None:
    want, _ = read_frame(MANIFEST)
    text = MANIFEST.read_text()
    bare = tmp_path / "bare.edi"  # no UNA: the default service characters apply
    bare.write_text(text.split("\n", 1)[1], encoding="utf-8")
    got, _ = read_frame(bare)
    assert got.get_column(SOURCE_LINE).to_list() == [p - 1 for p in want.get_column(SOURCE_LINE)]
    # UNA declaring '*' as data separator, '!' as release and ',' as decimal mark
    other = text.replace("+", "*").replace("?", "!").replace("UNA:*.! '", "UNA:*,! '")
    other = other.replace("TNE:3.5", "TNE:3,5")
    starred = tmp_path / "starred.edi"
    starred.write_text(other, encoding="utf-8")
    got, quarantine = read_frame(starred)
    assert quarantine.height == 0
    fields = ["container_number", "bl_number", "gross_weight_kg", "goods_description", "seals"]
    assert got.select(fields).rows() == want.select(fields).rows()


def test_a_file_cut_off_after_a_release_character_keeps_its_last_segment() -> None:
    # The last segment is unterminated and ends with the release character: it is reported
    # as cut off, not lost; and a long one does not make the splitter retry every position
    # to the end of the text (quadratic: a fuzzed 140 kB file of this shape took minutes).
    _, pieces = split_segments("UNA:+.? 'UNB+UNOC:3+MAEU'UNH+1+CUSCAR:D:95B:UN'DTM+137:2026?")
    assert [(p[2], p[3]) for p in pieces[1:]] == [
        ("UNB+UNOC:3+MAEU", True),
        ("UNH+1+CUSCAR:D:95B:UN", True),
        ("DTM+137:2026?", False),
    ]
    # service characters where the terminator never comes: one unterminated segment
    long = "UNA;;;:+.\nUNB+UNOC:3+" + "y" * 100_000 + "+DTM+137:2026:"
    _, pieces = split_segments(long)
    assert len(pieces) == 2 and pieces[1][3] is False and pieces[1][2].endswith("2026:")
    segments = parse_segments(long.encode())
    assert segments[-1].error == "the segment has no terminator (the file is cut off?)"
