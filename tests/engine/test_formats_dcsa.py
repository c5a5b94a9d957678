"""DCSA eBL 3.0 reader: every sample scores end to end; bad documents are quarantined."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.formats._jsonsplit import split_documents
from engine.formats.dcsa import looks_like_dcsa, read_dcsa_chunks
from engine.ingest import detect_format, read_chunks, read_frame
from engine.pipeline import run_batch
from engine.schema import SOURCE_LINE
from engine.scorer import Scorer
from engine.spec import default_spec


def _samples(fixture_data: Path) -> list[Path]:
    paths = sorted((fixture_data / "dcsa" / "ebl").glob("*.json"))
    assert len(paths) == 11, "the DCSA samples changed"
    return paths


# A plain reference walk over the JSON, independent of the reader's code.
def _equipment_ref(ute: dict[str, Any]) -> str:
    return str((ute.get("equipment") or {}).get("equipmentReference") or ute["equipmentReference"])


def _reference(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """container → {kg, packages, hs (ordered)} from the master consignment items."""
    out: dict[str, dict[str, Any]] = {}
    for ute in doc.get("utilizedTransportEquipments", []):
        out.setdefault(_equipment_ref(ute), {"kg": 0.0, "packages": 0, "hs": []})
    for item in doc.get("consignmentItems", []):
        for cargo in item.get("cargoItems", []):
            entry = out.setdefault(
                cargo["equipmentReference"], {"kg": 0.0, "packages": 0, "hs": []}
            )
            weight = cargo["cargoGrossWeight"]
            factor = {"KGM": 1.0, "LBR": 0.45359237}[weight["unit"]]
            entry["kg"] += weight["value"] * factor
            entry["packages"] += (cargo.get("outerPackaging") or {}).get("numberOfPackages", 0)
            entry["hs"] += [h for h in item.get("HSCodes", []) if h not in entry["hs"]]
    for house in doc.get("houseBillOfLadings", []):  # house goods: HS codes only, no weights
        for item in house.get("consignmentItems", []):
            for cargo in item.get("cargoItems", []):
                entry = out[cargo["equipmentReference"]]
                entry["hs"] += [h for h in item.get("HSCodes", []) if h not in entry["hs"]]
    return out


def _load(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def test_every_sample_reads_one_row_per_container(fixture_data: Path) -> None:
    for path in _samples(fixture_data):
        doc = _load(path)
        expected = _reference(doc)
        rows, quarantine = read_frame(path)
        assert quarantine.height == 0, path.name
        assert rows.get_column("container_number").to_list() == list(expected), path.name
        assert rows.get_column("gross_weight_kg").to_list() == [e["kg"] for e in expected.values()]
        assert rows.get_column("hs_code").to_list() == [e["hs"][0] for e in expected.values()]
        assert rows.get_column("hs_codes").to_list() == [
            ";".join(e["hs"]) for e in expected.values()
        ]
        assert rows.get_column(SOURCE_LINE).to_list() == [1] * len(expected)
        assert rows.get_column("bl_number").null_count() == 0


def test_several_consignment_items_in_one_container_are_all_kept(fixture_data: Path) -> None:
    rows, _ = read_frame(fixture_data / "dcsa" / "ebl" / "ebl-api-3.0.0-2c2u.json")
    by_container = {r["container_number"]: r for r in rows.iter_rows(named=True)}
    abcu = by_container["ABCU1234567"]
    assert abcu["hs_code"] == "87089900"
    assert abcu["hs_codes"] == "87089900;85423100"
    assert abcu["goods_description"] == "Automotive Parts | Electronic Components"
    assert abcu["packages"] == 200 and abcu["gross_weight_kg"] == 10000.0
    assert abcu["consignment_items"] == "2"
    assert by_container["XYZU9876543"]["packages"] == 204
    assert by_container["XYZU9876543"]["seals"] == ["NSL13387"]


def test_transport_document_fields(fixture_data: Path) -> None:
    rows, _ = read_frame(fixture_data / "dcsa" / "ebl" / "pint-3.0.0-transport-document.json")
    row = rows.row(0, named=True)
    assert row["bl_number"] == "TRANSPORT_DOCUMENT_REFERENCE_PLACEHOLDER"
    assert row["bl_number_source"] == "transportDocumentReference"
    assert row["dcsa_document_kind"] == "transport_document"
    assert (row["iso_type"], row["seals"], row["fcl_lcl"]) == ("22G1", ["DCSA-CTK-1234"], "FCL")
    assert (row["port_of_loading"], row["port_of_discharge"]) == ("DKAAR", "DEBRV")
    assert (row["vessel_name"], row["voyage"]) == ("HMM Algeciras", "402E")
    assert row["bl_type"] == "straight" and row["freight_terms"] == "prepaid"
    assert row["departed_at"].isoformat() == "2023-12-19T00:00:00+00:00"
    assert row["carrier_code"] == "SMDG:HMM" and row["carrier_scac"] is None


def test_to_order_and_house_bills(fixture_data: Path) -> None:
    ebl = fixture_data / "dcsa" / "ebl"
    negotiable, _ = read_frame(ebl / "ebl-api-3.0.0-negotiable-bl.json")
    assert negotiable.get_column("bl_type").to_list() == ["to_order"]
    assert negotiable.get_column("notify_name").to_list() == ["DCSA CTK"]
    request, _ = read_frame(ebl / "ebl-api-3.0.0-request.json")
    row = request.row(0, named=True)
    assert row["house_bl_number"] == "HBOL001"
    assert row["hs_codes"] == "15152100;64041900"  # the house B/L's goods are not lost
    assert row["gross_weight_kg"] == 12000.0  # ... nor counted twice
    assert row["iso_type"] == "42G0"  # known only from the house B/L's equipment


def _array(fixture_data: Path, names: list[str]) -> list[dict[str, Any]]:
    return [_load(fixture_data / "dcsa" / "ebl" / n) for n in names]


def test_malformed_document_is_quarantined_rest_read(fixture_data: Path, tmp_path: Path) -> None:
    docs = _array(
        fixture_data,
        ["ebl-api-3.0.0-amf.json", "ebl-api-3.0.0-clad.json", "ebl-api-3.0.0-2c2u.json"],
    )
    texts = [json.dumps(d, indent=1) for d in docs]
    texts[1] = texts[1].replace('"isToOrder": false', '"isToOrder" false', 1)  # a missing colon
    path = tmp_path / "batch.json"
    path.write_text("[\n" + ",\n".join(texts) + "\n]\n", encoding="utf-8")
    assert detect_format(path)[0] == "dcsa"
    rows, quarantine = read_frame(path)
    assert rows.get_column("container_number").to_list() == [
        "MSCU1234567",
        "ABCU1234567",
        "XYZU9876543",
    ]
    assert rows.get_column(SOURCE_LINE).to_list() == [1, 3, 3]
    assert quarantine.get_column("source_line").to_list() == [2]
    reason = quarantine.get_column("reason")[0]
    assert reason.startswith("malformed JSON in document 2 (line ")
    first_line_of_doc2 = 2 + texts[0].count("\n") + 1
    bad_line = first_line_of_doc2 + texts[1].split('"isToOrder" false')[0].count("\n")
    assert f"(line {bad_line})" in reason


def test_truncated_array_and_non_objects(fixture_data: Path, tmp_path: Path) -> None:
    doc = json.dumps(_array(fixture_data, ["ebl-api-3.0.0-dg.json"])[0])
    path = tmp_path / "cut.json"
    path.write_text(f"[{doc}, 42, {doc[: len(doc) // 2]}", encoding="utf-8")
    read = kept = quarantined = 0
    for chunk in read_chunks(path):
        read += chunk.records_read
        kept += chunk.rows.height
        quarantined += chunk.quarantine.height
    assert (read, kept, quarantined) == (3, 1, 2)
    _, quarantine = read_frame(path)
    assert quarantine.get_column("source_line").to_list() == [2, 3]
    reasons = quarantine.get_column("reason").to_list()
    assert "not a JSON object" in reasons[0] and "cut off" in reasons[1]


def test_units_converted_and_unknown_unit_quarantined(fixture_data: Path, tmp_path: Path) -> None:
    doc = _array(fixture_data, ["ebl-api-3.0.0-2c2u.json"])[0]
    doc["consignmentItems"][0]["cargoItems"][0]["cargoGrossWeight"] = {"value": 1000, "unit": "LBR"}
    doc["consignmentItems"][1]["cargoItems"][1]["cargoGrossWeight"] = {"value": 5, "unit": "STONE"}
    path = tmp_path / "units.json"
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    rows, quarantine = read_frame(path, default_spec())
    assert rows.get_column("container_number").to_list() == ["ABCU1234567"]
    assert rows.get_column("gross_weight_kg").to_list() == [pytest.approx(453.59237 + 5000)]
    assert quarantine.get_column("field").to_list() == ["gross_weight_kg"]
    assert "XYZU9876543" in quarantine.get_column("reason")[0]
    assert "'STONE'" in quarantine.get_column("reason")[0]


def test_pint_envelope_and_json_lines(fixture_data: Path, tmp_path: Path) -> None:
    doc = _array(fixture_data, ["pint-3.0.0-transport-document.json"])[0]
    path = tmp_path / "envelope.json"
    path.write_text(
        json.dumps({"transportDocument": doc, "envelopeManifestSignedContent": "x"}),
        encoding="utf-8",
    )
    chunks = list(read_dcsa_chunks(path, default_spec(), 1000))
    assert chunks[0].frame.get_column("container_number").to_list() == ["NARU3472484"]
    lines = tmp_path / "docs.json"  # pretty-printed documents one after another
    lines.write_text(json.dumps(doc, indent=2) + "\n" + json.dumps(doc, indent=2), encoding="utf-8")
    rows, _ = read_frame(lines)
    assert rows.get_column(SOURCE_LINE).to_list() == [1, 2]
    minified = tmp_path / "docs.jsonl"  # one document per line: read alike once routed here
    minified.write_text(json.dumps(doc) + "\n" + json.dumps(doc) + "\n", encoding="utf-8")
    chunks = list(read_dcsa_chunks(minified, default_spec(), 1000))
    assert chunks[0].lines.tolist() == [1, 2] and chunks[0].quarantine.height == 0


def test_looks_like_dcsa(fixture_data: Path) -> None:
    for path in _samples(fixture_data):
        assert looks_like_dcsa(_load(path)), path.name
    assert looks_like_dcsa({"transportDocument": {}})
    assert not looks_like_dcsa({"container_number": "MSCU1234565", "bl_number": "B1"})
    assert not looks_like_dcsa([{"consignmentItems": []}])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.text(max_size=5),
            st.recursive(
                st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                lambda inner: (
                    st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=4), inner, max_size=3)
                ),
                max_leaves=8,
            ),
            max_size=4,
        ),
        max_size=6,
    ),
    st.booleans(),
)
def test_splitter_matches_json_loads(docs: list[dict[str, Any]], as_array: bool) -> None:
    text = json.dumps(docs) if as_array else "\n".join(json.dumps(d) for d in docs)
    data = text.encode()
    starts, ends, flags, _ = split_documents(data)
    assert flags.tolist() == [0] * len(docs)
    assert [json.loads(data[s:e]) for s, e in zip(starts, ends, strict=True)] == docs


@pytest.fixture(scope="module")
def scorer(tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    from api.wiring import build_scorer

    # The shipped model reads history features: score against an (empty) history store.
    return build_scorer(history_dir=tmp_path_factory.mktemp("history"))


def test_samples_score_end_to_end(fixture_data: Path, scorer: Scorer, tmp_path: Path) -> None:
    expected = [c for p in _samples(fixture_data) for c in _reference(_load(p))]
    record = run_batch(
        str(fixture_data / "dcsa" / "ebl" / "*.json"), scorer=scorer, out_dir=tmp_path
    )
    assert record.counts["rows_in"] == len(expected) == 12
    assert record.counts["rows_scored"] == 12 and record.counts["rows_quarantined"] == 0
    assert {f["format"] for f in record.input["formats"]} == {"dcsa"}
    scored = pl.read_parquet(tmp_path / "scored.parquet").sort("row_index")
    assert scored.get_column("container_number").to_list() == expected
    assert scored.get_column("risk_score").null_count() == 0


def test_equipment_level_weight_unit_is_checked_too(fixture_data: Path, tmp_path: Path) -> None:
    doc = _array(fixture_data, ["pint-3.0.0-transport-document.json"])[0]
    doc["consignmentItems"][0]["cargoItems"][0].pop("cargoGrossWeight")
    path = tmp_path / "ute.json"
    path.write_text(
        json.dumps(
            [
                doc,
                {
                    **doc,
                    "utilizedTransportEquipments": [
                        {**doc["utilizedTransportEquipments"][0], "cargoGrossWeightUnit": "LBR"}
                    ],
                },
            ],
            indent=1,
        ),
        encoding="utf-8",
    )
    rows, quarantine = read_frame(path)
    assert rows.get_column("gross_weight_kg").to_list() == [12000.0, pytest.approx(5443.10844)]
    doc["utilizedTransportEquipments"][0]["cargoGrossWeightUnit"] = "BAGS"
    path.write_text(json.dumps([doc, doc], indent=1), encoding="utf-8")
    chunks = list(read_chunks(path))
    quarantine = pl.concat([c.quarantine for c in chunks])
    assert quarantine.get_column("source_line").to_list() == [1, 2]
    assert "'BAGS'" in quarantine.get_column("reason")[0]


def test_weight_that_is_not_a_number_is_quarantined(fixture_data: Path, tmp_path: Path) -> None:
    doc = _array(fixture_data, ["ebl-api-3.0.0-2c2u.json"])[0]
    doc["consignmentItems"][0]["cargoItems"][1]["cargoGrossWeight"]["value"] = "5 tonnes"
    doc["consignmentItems"][0]["cargoItems"][0]["outerPackaging"]["numberOfPackages"] = "100"
    path = tmp_path / "value.json"
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    rows, quarantine = read_frame(path)
    assert rows.select("container_number", "packages").rows() == [("ABCU1234567", 200)]
    assert "cargoGrossWeight value '5 tonnes' is not a number" in quarantine["reason"][0]


def test_splitter_grows_past_its_first_capacity() -> None:
    data = json.dumps([{"n": i, "s": "}{,]["} for i in range(5000)]).encode()
    starts, ends, flags, lines = split_documents(data)
    assert len(starts) == 5000 and not flags.any() and set(lines.tolist()) == {1}
    assert json.loads(data[starts[-1] : ends[-1]]) == {"n": 4999, "s": "}{,]["}
