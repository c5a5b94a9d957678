"""Reference data: the shipped tables load, a user copy loads, broken files say where."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal, assert_series_equal

from engine.errors import ReferenceDataError
from engine.reference import (
    FILES,
    PORT_ALIASES_FILE,
    SHIPPED_DIRECTORY,
    ReferenceData,
    _dictionary_codes,
    distinct_codes,
    hs_code_is_well_formed,
    lookup_distinct,
    normalised_code,
)


@pytest.fixture(scope="module")
def refs() -> ReferenceData:
    return ReferenceData.load()


@pytest.fixture
def copy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "refs"
    shutil.copytree(SHIPPED_DIRECTORY, target, ignore=shutil.ignore_patterns("README.md"))
    return target


def test_shipped_tables_have_expected_shape(refs: ReferenceData) -> None:
    assert refs.seaports.columns == ["locode", "country", "name", "lat", "lon", "alias_of"]
    assert refs.hs.columns == ["code", "level", "description", "chapter"]
    assert refs.countries.columns == ["alpha2", "alpha3", "name", "region"]
    assert refs.seaports["locode"].is_unique().all()
    assert refs.hs["code"].is_unique().all()
    assert refs.countries["alpha2"].is_unique().all()
    levels = refs.hs.group_by("level").len().sort("level")
    # 97 chapters, 1,229 headings, 5,613 subheadings, less the three "not specified" codes
    assert levels["len"].to_list() == [96, 1228, 5612]
    assert refs.countries.height == 249


def test_known_codes(refs: ReferenceData) -> None:
    port = refs.seaports.filter(pl.col("locode") == "NLRTM").row(0, named=True)
    assert (port["country"], port["name"]) == ("NL", "Rotterdam")
    assert refs.countries.filter(pl.col("alpha2") == "NA")["name"].item() == "Namibia"
    assert "NAWVB" in refs.seaports["locode"].to_list()  # Walvis Bay: "NA" is not null
    assert refs.hs.filter(pl.col("code") == "0101")["chapter"].item() == "01"
    assert not refs.hs["code"].is_in(["99", "9999", "999999"]).any()
    assert refs.iso_types.filter(pl.col("code") == "R1")["group"].item() == "R"
    assert set(refs.iso_lengths["code"]) >= {"2", "4", "L"}
    assert set(refs.iso_heights["code"]) >= {"2", "5"}


def test_names_never_carry_replacement_characters(refs: ReferenceData) -> None:
    assert not refs.seaports["name"].str.contains("\ufffd", literal=True).any()


def test_load_is_cached_per_directory(refs: ReferenceData, copy_dir: Path) -> None:
    assert ReferenceData.load() is refs
    assert ReferenceData.load(SHIPPED_DIRECTORY) is refs
    other = ReferenceData.load(copy_dir)
    assert other is not refs
    assert other.digests == refs.digests
    assert set(refs.fingerprint()["sha256"]) == {*FILES, PORT_ALIASES_FILE}


def test_user_copy_with_new_rows_is_used(copy_dir: Path) -> None:
    with (copy_dir / "unlocode_seaports.csv").open("a", encoding="utf-8") as handle:
        handle.write("ZZ,ZZZ,Testport,Testport,,AI,1-------,,,,,\n")
    refs = ReferenceData.load(copy_dir)
    assert refs.seaports.filter(pl.col("locode") == "ZZZZZ")["name"].item() == "Testport"


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError, match="does not exist") as err:
        ReferenceData.load(tmp_path / "nowhere")
    assert err.value.hint and "--reference-dir" in err.value.hint


@pytest.mark.parametrize("name", FILES)
def test_missing_file_is_named(copy_dir: Path, name: str) -> None:
    (copy_dir / name).unlink()
    with pytest.raises(ReferenceDataError) as err:
        ReferenceData.load(copy_dir)
    assert err.value.location is not None
    assert err.value.location.file == str(copy_dir / name)


def test_missing_column_is_named(copy_dir: Path) -> None:
    path = copy_dir / "hs2022.csv"
    text = path.read_text(encoding="utf-8").replace("hscode", "code", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="required column") as err:
        ReferenceData.load(copy_dir)
    assert "hscode" in str(err.value)
    assert str(path) in str(err.value)


def test_malformed_code_points_at_line(copy_dir: Path) -> None:
    path = copy_dir / "country-codes.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].split(",")
    column = header.index("ISO3166-1-Alpha-2")
    cells = lines[3].split(",")
    cells[column] = "X1"
    lines[3] = ",".join(cells)
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="malformed code 'X1'") as err:
        ReferenceData.load(copy_dir)
    assert err.value.location is not None
    assert err.value.location.line == 4
    assert err.value.location.field == "alpha2"


def test_bad_coordinates(copy_dir: Path) -> None:
    with (copy_dir / "unlocode_seaports.csv").open("a", encoding="utf-8") as handle:
        handle.write("ZZ,ZZZ,Testport,Testport,,AI,1-------,,north,,,\n")
    with pytest.raises(ReferenceDataError, match="lat/lon"):
        ReferenceData.load(copy_dir)


def test_bad_json_points_at_line(copy_dir: Path) -> None:
    (copy_dir / "iso6346" / "type.json").write_text('{\n  "G1": "x",\n  oops\n}\n')
    with pytest.raises(ReferenceDataError, match="not valid JSON") as err:
        ReferenceData.load(copy_dir)
    assert err.value.location is not None and err.value.location.line == 3


def test_json_of_wrong_shape(copy_dir: Path) -> None:
    (copy_dir / "iso6346" / "size.json").write_text('{"length": {"22": "x"}}')
    with pytest.raises(ReferenceDataError, match="1-character codes"):
        ReferenceData.load(copy_dir)


def test_empty_table(copy_dir: Path) -> None:
    path = copy_dir / "hs2022.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n")
    with pytest.raises(ReferenceDataError, match="no rows"):
        ReferenceData.load(copy_dir)


def test_normalised_code() -> None:
    frame = pl.DataFrame({"v": ["nl rtm", " cn-sgh ", "22g1", "8471.30", "", "  ", None, "ß"]})
    result = frame.select(normalised_code(pl.col("v")))["v"].to_list()
    assert result == ["NLRTM", "CNSGH", "22G1", "847130", None, None, None, "ß"]


def test_hs_code_well_formed() -> None:
    codes = ["01", "0101", "010121", "0101210000", "8471300", "101", "0", "01012100001", "84a1"]
    result = pl.DataFrame({"c": codes}).select(hs_code_is_well_formed(pl.col("c")))["c"]
    assert result.to_list() == [True, True, True, True, True, False, False, False, False]


_CODES = st.one_of(
    st.none(),
    st.sampled_from(["nl rtm", "NLRTM", "", " x "]),
    st.text(st.characters(codec="utf-8"), max_size=4),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_CODES, max_size=80))
def test_lookup_distinct_equals_row_by_row_evaluation(values: list[str | None]) -> None:
    frame = pl.DataFrame(
        {"code": values, "row": range(len(values))}, schema_overrides={"code": pl.String}
    )
    derive = {"normal": normalised_code(pl.col("code")), "length": pl.col("code").str.len_bytes()}
    expected = frame.select(**derive)
    result = lookup_distinct(frame, "code", derive)
    assert_frame_equal(result, expected)


def _assert_codes(values: pl.Series, distinct: pl.Series, codes: pl.Series) -> None:
    assert codes.dtype == pl.UInt32
    assert distinct.n_unique() == distinct.len()  # each value once, null included
    assert_series_equal(distinct.gather(codes), values, check_names=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(_CODES, max_size=80))
def test_distinct_codes_number_every_row(values: list[str | None]) -> None:
    series = pl.Series("code", values, dtype=pl.String)
    _assert_codes(series, *distinct_codes(series))
    _assert_codes(series, *_dictionary_codes(series))
    stacked = pl.concat([series, series.reverse()])  # several chunks
    _assert_codes(stacked, *distinct_codes(stacked))


def test_distinct_codes_do_not_trust_equal_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.kernels

    numbered = engine.kernels.first_occurrence_codes

    def every_hash_equal(
        hashes: npt.NDArray[np.uint64],
    ) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
        return numbered(np.zeros_like(hashes))

    monkeypatch.setattr(engine.kernels, "first_occurrence_codes", every_hash_equal)
    series = pl.Series("code", ["NLRTM", None, "CNSHA", "NLRTM", ""], dtype=pl.String)
    distinct, codes = distinct_codes(series)
    _assert_codes(series, distinct, codes)
    assert distinct.len() == 4
