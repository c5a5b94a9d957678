"""Shipped dataset specs: each loads, and reads a small file with its columns correctly."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from engine.ingest import read_frame
from engine.schema import RECORD_ID
from engine.spec import SHIPPED_SPECS_DIR, load_spec, shipped_specs

REPO = Path(__file__).resolve().parent.parent.parent


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_every_shipped_spec_loads_by_name_and_path() -> None:
    names = set(shipped_specs())
    assert {"us-ams", "ics2", "korea-customs"} <= names
    for name in names:
        by_name = load_spec(name)
        by_path = load_spec(SHIPPED_SPECS_DIR / f"{name}.yaml")
        assert by_name.content_hash == by_path.content_hash
        assert by_name.name == name


AMS_ROW = {
    "identifier": "2026112700001",
    "master_bol_number": "MAEU261100123",
    "house_bol_number": "HBL55",
    "container_number": "MSKU1234565",
    "equipment_description_code": "45R1",
    "seal_number": "SL1|SL2",
    "shipper_party_name": "ACME EXPORT SA",
    "shipper_party_address": "1 PORT ROAD, GUAYAQUIL",
    "shipper_country_code": "EC",
    "consignee_name": "FRUIT IMPORTS LLC",
    "consignee_address": "9 PIER ST, NEWARK NJ",
    "consignee_country_code": "US",
    "notify_party_name": "SAME AS CONSIGNEE",
    "harmonized_number": "0803.90",
    "description_text": "FRESH BANANAS",
    "piece_count": "1,080",
    "manifest_unit": "CTN",
    "weight": "21600.5",
    "weight_unit": "Kilograms",
    "hazmat_code": "",
    "vessel_name": "MAERSK SELETAR",
    "conveyance_id": "9811000",
    "voyage_number": "047N",
    "carrier_code": "MAEU",
    "run_date": "2026-11-27",
    "estimated_arrival_date": "2026-12-05",
    "foreign_port_of_lading": "35180",
    "port_of_unlading": "4601",
    "place_of_receipt": "GUAYAQUIL",
    "load_status": "LCL",
    "type_of_service": "FCL",
    "mode_of_transportation": "Vessel",
    "actual_arrival_date": "",
}


def test_us_ams_spec_reads_an_export(tmp_path: Path) -> None:
    spec = load_spec("us-ams")
    assert set(AMS_ROW) == set(spec.required_sources())
    second = {**AMS_ROW, "container_number": "TGHU7654320", "seal_number": "", "weight": "3000"}
    rows, quarantine = read_frame(_write_csv(tmp_path / "ams.csv", [AMS_ROW, second]), spec)
    assert quarantine.height == 0
    first = rows.row(0, named=True)
    assert first[RECORD_ID] == "MAEU261100123/MSKU1234565"
    assert (first["hs_code"], first["packages"], first["gross_weight_kg"]) == (
        "080390",
        1080,
        21600.5,
    )
    assert first["seals"] == ["SL1", "SL2"]
    assert rows.get_column("seals").to_list()[1] == []  # a blank cell is "no seals"
    assert first["filed_at"] == datetime(2026, 11, 27, tzinfo=UTC)
    assert first["arrival_eta"] == datetime(2026, 12, 5, tzinfo=UTC)
    assert (first["foreign_port_of_lading"], first["weight_unit"]) == ("35180", "Kilograms")
    assert first["place_of_receipt_text"] == "GUAYAQUIL" and first["port_of_loading"] is None
    assert rows.get_column("dq_unparseable_fields").list.len().sum() == 0


ICS2_ROW = {
    "movement_reference_number": "26NL000000000001A1",
    "master_transport_document_number": "MSCUBL1001",
    "house_transport_document_number": "",
    "container_identification_number": "MEDU7777778",
    "container_size_and_type": "45R1",
    "seal_identifiers": "EC445566",
    "container_packed_status": "1",
    "consignor_name": "GUAYAQUIL BANANA EXPORT SA",
    "consignor_address": "AV 9 DE OCTUBRE 100",
    "consignor_country": "EC",
    "consignor_identification_number": "EC0991234567001",
    "consignee_name": "NORTH SEA FRUIT BV",
    "consignee_address": "HAVENWEG 1, ROTTERDAM",
    "consignee_country": "NL",
    "consignee_identification_number": "NL812345678",
    "notify_party_name": "",
    "commodity_code_harmonized_system_sub_heading_code": "080390",
    "combined_nomenclature_code": "08039010",
    "description_of_goods": "FRESH BANANAS",
    "number_of_packages": "1080",
    "type_of_packages": "CT",
    "gross_mass": "21600",
    "un_dangerous_goods_code": "",
    "place_of_acceptance": "ECGYE",
    "place_of_loading": "ECGYE",
    "place_of_unloading": "NLRTM",
    "place_of_delivery": "NLRTM",
    "active_border_transport_means_identification_number": "9839131",
    "active_border_transport_means_nationality": "PA",
    "conveyance_reference_number": "047E",
    "carrier_identification_number": "CH123456789",
    "lodgement_date_and_time": "2026-11-20T10:15:00Z",
    "expected_date_and_time_of_arrival": "2026-12-04T06:00:00Z",
    "countries_of_routing_of_consignment": "EC|PA|NL",
}


def test_ics2_spec_reads_an_ens_export(tmp_path: Path) -> None:
    spec = load_spec("ics2")
    assert set(ICS2_ROW) == set(spec.required_sources())
    empty = {
        **ICS2_ROW,
        "container_identification_number": "TGHU7654320",
        "container_packed_status": "0",
        "gross_mass": "0",
    }
    rows, quarantine = read_frame(_write_csv(tmp_path / "ens.csv", [ICS2_ROW, empty]), spec)
    assert quarantine.height == 0
    first = rows.row(0, named=True)
    assert (first["port_of_loading"], first["port_of_discharge"]) == ("ECGYE", "NLRTM")
    assert (first["shipper_id"], first["vessel_imo"], first["voyage"]) == (
        "EC0991234567001",
        "9839131",
        "047E",
    )
    assert first["filed_at"] == datetime(2026, 11, 20, 10, 15, tzinfo=UTC)
    assert first["countries_of_routing_of_consignment"] == ["EC", "PA", "NL"]
    assert first["house_bl_number"] is None and first["ens_mrn"] == "26NL000000000001A1"
    assert rows.get_column("is_empty").to_list() == [False, True]
    assert rows.get_column("dq_unparseable_fields").list.len().sum() == 0


def test_korea_spec_reads_the_declarations(fixture_data: Path) -> None:
    path = fixture_data / "korea-customs" / "valid-2000.csv"
    spec = load_spec("korea-customs")
    rows, quarantine = read_frame(path, spec)
    with path.open(encoding="utf-8") as fh:
        expected = sum(1 for _ in fh) - 1
    assert quarantine.height == 0 and rows.height == expected
    raw = pl.read_csv(path, infer_schema=False)
    assert rows.get_column(RECORD_ID).to_list() == raw.get_column("Declaration ID").to_list()
    assert rows.schema["Fraud"] == pl.Int64 and rows.schema["Critical Fraud"] == pl.Int64
    assert set(rows.get_column("Critical Fraud").unique().to_list()) <= {0, 1, 2}
    assert rows.get_column("Date").null_count() == 0
    assert rows.schema["Net Mass"] == pl.Float64
    assert rows.get_column("dq_unparseable_fields").list.len().sum() == 0


def test_korea_spec_matches_the_model_example() -> None:
    example = REPO / "models" / "examples" / "korea-customs" / "spec.yaml"
    if not example.is_file():
        pytest.fail("models/examples/korea-customs/spec.yaml is gone: drop this consistency check")
    ours, theirs = load_spec("korea-customs"), load_spec(example)
    assert ours.extra == theirs.extra and ours.columns == theirs.columns
    assert (ours.record_id, ours.time_field, ours.model) == (
        theirs.record_id,
        theirs.time_field,
        theirs.model,
    )
