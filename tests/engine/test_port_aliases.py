"""Ports carriers write that the UN/LOCODE snapshot lists under another code (CNSHA), and the
unknown-port rate of a batch in its run record."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from engine.errors import ReferenceDataError
from engine.ingest import read_frame
from engine.reference import PORT_ALIASES_FILE, SEAPORTS_FILE, SHIPPED_DIRECTORY, ReferenceData
from engine.validate import unknown_port_summary, validate


def test_carrier_codes_are_known_seaports_with_their_ports_place(tmp_path: Path) -> None:
    refs = ReferenceData.load()
    path = tmp_path / "m.csv"
    path.write_text(
        "container_number,bl_number,port_of_loading,port_of_discharge\n"
        "MSKU1234565,B1,CNSHA,NLRTM\nTGHU7654320,B2,CNNGB,XXZZZ\n"
    )
    rows, _ = read_frame(path)
    flags = validate(rows, refs)
    assert flags.get_column("dq_unknown_port_of_loading").to_list() == [False, False]
    assert flags.get_column("dq_unknown_port_of_discharge").to_list() == [False, True]
    shanghai = refs.seaports.filter(pl.col("locode") == "CNSHA").row(0, named=True)
    assert shanghai["alias_of"] == "CNSGH" and shanghai["name"] == "Shanghai"
    assert shanghai["lat"] == pytest.approx(31.23, abs=0.01)
    assert "unlocode_aliases.csv" in refs.fingerprint()["sha256"]


def test_every_shipped_alias_names_its_port_and_is_no_seaport_code() -> None:
    aliases = pl.read_csv(SHIPPED_DIRECTORY / PORT_ALIASES_FILE, infer_schema=False)
    raw = pl.read_csv(SHIPPED_DIRECTORY / SEAPORTS_FILE, infer_schema=False).select(
        locode=pl.col("country") + pl.col("location"), name="name"
    )
    assert aliases["alias"].is_unique().all()
    assert not aliases["alias"].is_in(raw["locode"].implode()).any()
    joined = aliases.join(raw, on="locode", how="left", suffix="_snapshot")
    assert joined.filter(pl.col("name") != pl.col("name_snapshot")).height == 0
    assert joined.get_column("source").str.contains("carriers").all()


def test_an_alias_that_is_a_seaport_code_is_refused(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED_DIRECTORY, tmp_path, dirs_exist_ok=True)  # every shipped table
    (tmp_path / PORT_ALIASES_FILE).write_text("alias,locode,name,source\nNLRTM,CNSGH,x,y\n")
    with pytest.raises(ReferenceDataError) as err:
        ReferenceData.load(tmp_path)
    assert f"{PORT_ALIASES_FILE}:2" in str(err.value)


def test_unknown_port_summary() -> None:
    scored = pl.LazyFrame(
        {
            "port_of_loading": ["CNSHA", "XXAAA", "xx aaa", None],
            "port_of_discharge": ["UZTAS", "NLRTM", "UZTAS", "NLRTM"],
            "dq_unknown_port_of_loading": [False, True, True, False],
            "dq_unknown_port_of_discharge": [True, False, True, False],
        }
    )
    summary = unknown_port_summary(scored)
    assert summary["port_of_loading"] == {"rows_with_value": 3, "unknown": 2, "rate": 0.666667}
    assert summary["port_of_discharge"] == {"rows_with_value": 4, "unknown": 2, "rate": 0.5}
    assert summary["most_common_unknown"] == {"UZTAS": 2, "XXAAA": 2}
