"""`lookout spec infer`: a proposed spec reads a renamed-column CSV into the same canonical rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from api.spec_cli import app
from engine.errors import IngestError
from engine.ingest import read_frame
from engine.schema import CANONICAL
from engine.spec import load_spec
from engine.spec_infer import infer_spec, name_score

CANONICAL_CSV = """\
container_number,bl_number,port_of_loading,port_of_discharge,consignee_name,hs_code,gross_weight_kg,arrival_eta,seals,shipper_country
MSKU1234565,BL001,ECGYE,NLRTM,Fruit Imports BV,080390,21600.5,2026-12-05,SL1;SL2,EC
TGHU7654320,BL002,SGSIN,NLRTM,Europa Retail GmbH,732393,2000,2026-12-06,SL3,SG
OOLU7654320,BL003,SGSIN,DEHAM,Lowlands Interiors,940161,1500.25,2026-12-17,,VN
"""
RENAMED_CSV = (
    "CNTR NO;B/L No.;Port of Loading;POD;Consignee;HS;Gross Weight (KG);ETA;Seal Nos;"
    "Shipper Country;Remarks\n"
    """\
MSKU1234565;BL001;ECGYE;NLRTM;Fruit Imports BV;0803.90;21600.5;05/12/2026;SL1|SL2;EC;urgent
TGHU7654320;BL002;SGSIN;NLRTM;Europa Retail GmbH;732393;2000;06/12/2026;SL3;SG;
OOLU7654320;BL003;SGSIN;DEHAM;Lowlands Interiors;940161;1500.25;17/12/2026;;VN;fragile
"""
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_inferred_spec_reads_the_same_canonical_rows(tmp_path: Path) -> None:
    renamed = _write(tmp_path, "renamed.csv", RENAMED_CSV)
    proposal = infer_spec(renamed)
    spec_path = _write(tmp_path, "spec.yaml", proposal.yaml)
    spec = load_spec(spec_path)
    assert spec.csv.separator == ";" and spec.list_separator == "|"
    assert spec.columns["arrival_eta"].format == "%d/%m/%Y"
    got, quarantine = read_frame(renamed, spec)
    want, _ = read_frame(_write(tmp_path, "canonical.csv", CANONICAL_CSV))
    assert quarantine.height == 0
    fields = [f for f in CANONICAL if f in want.columns]
    assert_frame_equal(got.select(fields), want.select(fields))
    assert got.get_column("Remarks").to_list() == ["urgent", None, "fragile"]  # nothing lost


def test_synonyms_and_fuzzy_names() -> None:
    assert name_score("CNTR NO", "container_number") == 100
    assert name_score("Equipment Number", "container_number") == 100
    assert name_score("POL", "port_of_loading") == 100
    assert name_score("Port of Loading", "port_of_loading") == 100
    assert name_score("Gross Weight (KG)", "gross_weight_kg") == 100
    assert name_score("Consignee", "consignee_name") == 100
    assert name_score("Consigne Nme", "consignee_name") >= 85  # a typo still matches
    assert name_score("Remarks", "container_number") < 60


def test_content_patterns_without_telling_names(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "opaque.csv",
        (
            "c1,c2,c3,c4,c5,c6\n"
            "MSKU1234565,ECGYE,080390,9811000,2026-11-27,12000\n"
            "TGHU7654320,SGSIN,732393,9839131,2026-11-28,800\n"
            "OOLU7654320,NLRTM,940161,9811000,2026-11-29,1500\n"
        ),
    )
    proposal = infer_spec(path)
    targets = {d.column: d.target for d in proposal.decisions if d.canonical}
    # A check-digit-valid container number is evidence enough; the other kinds are
    # recognised but left for a person to map without a name that agrees.
    assert targets == {"c1": "container_number"}
    evidence = proposal.evidence
    assert evidence["c2"].kind == "locode" and evidence["c3"].kind == "hs"
    assert evidence["c4"].kind == "imo" and evidence["c5"].kind == "date"


def test_weight_units_from_the_column_name(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "lbs.csv", "container_number,bl_number,Gross Weight (LBS)\nMSKU1234565,B1,1000\n"
    )
    spec = load_spec(_write(tmp_path, "s.yaml", infer_spec(path).yaml))
    rows, _ = read_frame(path, spec)
    assert rows.get_column("gross_weight_kg").to_list() == [pytest.approx(453.59237)]


def test_declarations_get_their_own_record_id(fixture_data: Path, tmp_path: Path) -> None:
    source = fixture_data / "korea-customs" / "valid-2000.csv"
    proposal = infer_spec(source, rows=2000)
    assert proposal.record_id == "Declaration ID"
    roles = {d.column: d.role for d in proposal.decisions if not d.canonical}
    assert roles["Fraud"] == "label" and roles["Critical Fraud"] == "label"
    spec = load_spec(_write(tmp_path, "korea.yaml", proposal.yaml))
    sample = _write(tmp_path, "k.csv", "\n".join(source.read_text().splitlines()[:50]) + "\n")
    rows, quarantine = read_frame(sample, spec)
    assert rows.height == 49 and quarantine.height == 0
    assert rows.get_column("hs_code").str.len_chars().min() == 6


def test_cli(tmp_path: Path) -> None:
    renamed = _write(tmp_path, "renamed.csv", RENAMED_CSV)
    runner = CliRunner()
    printed = runner.invoke(app, [str(renamed)])
    assert printed.exit_code == 0 and 'container_number: "CNTR NO"' in printed.output
    out = tmp_path / "proposed.yaml"
    written = runner.invoke(app, [str(renamed), "--out", str(out)])
    assert written.exit_code == 0 and load_spec(out).columns["bl_number"].source == "B/L No."
    missing = runner.invoke(app, [str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2


def test_unreadable_input(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="empty"):
        infer_spec(_write(tmp_path, "empty.csv", ""))
    with pytest.raises(IngestError, match="separator"):
        infer_spec(_write(tmp_path, "one.csv", "justonecolumn\nvalue\n"))


@pytest.mark.parametrize("name", ["us-ams", "ics2"])
def test_inference_agrees_with_the_shipped_specs(name: str, tmp_path: Path) -> None:
    import csv

    from tests.engine.test_shipped_specs import AMS_ROW, ICS2_ROW

    row = AMS_ROW if name == "us-ams" else ICS2_ROW
    path = tmp_path / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(row))
        writer.writeheader()
        writer.writerows([row, row])
    inferred = {d.target: d.column for d in infer_spec(path).decisions if d.canonical}
    shipped = {target: m.source for target, m in load_spec(name).columns.items()}
    assert {t: c for t, c in inferred.items() if t in shipped} == {
        t: c for t, c in shipped.items() if t in inferred
    }  # every mapping proposed for a field the shipped spec maps is the same one
    assert len(set(inferred) & set(shipped)) >= len(shipped) - 3
    assert {"bl_number", "container_number", "house_bl_number"} <= set(inferred)
