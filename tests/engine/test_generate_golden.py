"""The generator's output is pinned: fixed-seed runs must reproduce recorded digests.

The digests were recorded from the generator as it was before it became the
``engine.generate`` package with its tables in data files; any change to a word list's order,
a weight, or the drawing code shows up here. CSV files are compared byte for byte; Parquet
files by content (schema and every value), so that a Parquet writer upgrade alone does not
fail the test.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from engine.generate import TYPOLOGIES, TypologyRates, generate

RUNS: dict[str, dict[str, Any]] = {
    "a": {"days": 2, "rows_per_day": 600, "seed": 11, "history_days": 4},
    "b": {
        "days": 1,
        "rows_per_day": 400,
        "seed": 5,
        "history_days": 3,
        "rates": TypologyRates(**dict.fromkeys(TYPOLOGIES, 0.02)),
        "history_rows_per_day": 300,
        "universe_rows": 2000,
    },
}

DIGESTS = {
    "a/history.parquet": "25d2c687a04f618f69969d0407be5e17a9029eb8ae46edd4cd28526e03ad9217",
    "a/history_truth.parquet": "5076649bcf71c1aa9569520fa20d9b2743049f6f3fef3fe854a99440e1fa047d",
    "a/manifests/manifest_2026-11-27.csv": (
        "aa89d96802303c53b984f58cf65427fc15eea1185e3e8c675dc6ca490423b210"
    ),
    "a/manifests/manifest_2026-11-27.parquet": (
        "08600ab8bea6eb09d86ae06ce301c2a8fbfa34ab2a54bc2967ac2ab5b2c5af11"
    ),
    "a/manifests/manifest_2026-11-28.csv": (
        "5e169c35a05b42f01f42ab9472ed8254f5d99c6b754656aceba2bd88a2dbe1d3"
    ),
    "a/manifests/manifest_2026-11-28.parquet": (
        "8113fc83526bb31bb650a48c9575722ae52cc6cfe3d4567347c55c861d7c8281"
    ),
    "a/truth/truth_2026-11-27.parquet": (
        "dccbe9a5b4d199aa804f78874bbd4dac91180ca596f64b1363250a312b1887f1"
    ),
    "a/truth/truth_2026-11-28.parquet": (
        "b62b667694e1a89d03f9db73f80fcf4f37a68b4ce11ceb53adba0281b1b8e2ae"
    ),
    "b/history.parquet": "7d0ea95d1161626b0dff77135f4e04f917c369364869beee93302e6767429592",
    "b/history_truth.parquet": "84d6713980dc9177dc102302224ca746e4fb865be90b2e14d6712b2d950b84b0",
    "b/manifests/manifest_2026-11-27.csv": (
        "d8f3fe08d852626c7984dc0705e058c787608a0a041e9e352a4eccc7b0c7a613"
    ),
    "b/manifests/manifest_2026-11-27.parquet": (
        "123d14c5182ced54f16a09393b8db94420dbb99e54ab1d8b685591c40acdc03e"
    ),
    "b/truth/truth_2026-11-27.parquet": (
        "b65e4ce7ff7aff1f4ad26a9adffac0ad2ae08c9a95b32c07daad2c5ff210dbe0"
    ),
}


def digest(path: Path) -> str:
    """CSV: sha256 of the bytes. Parquet: sha256 of the schema and the values as CSV text."""
    if path.suffix == ".csv":
        return hashlib.sha256(path.read_bytes()).hexdigest()
    frame = pl.read_parquet(path)
    lists = [n for n, dtype in frame.schema.items() if isinstance(dtype, pl.List)]
    text = frame.with_columns(pl.col(n).list.join("|") for n in lists).write_csv()
    return hashlib.sha256(f"{frame.schema}\n{text}".encode()).hexdigest()


@pytest.mark.parametrize("run", sorted(RUNS))
def test_fixed_seed_generation_matches_recorded_digests(run: str, tmp_path: Path) -> None:
    generate(out_dir=tmp_path / run, formats=("csv", "parquet"), **RUNS[run])
    got = {
        str(p.relative_to(tmp_path)): digest(p)
        for p in sorted((tmp_path / run).rglob("*"))
        if p.is_file()
    }
    want = {name: value for name, value in DIGESTS.items() if name.startswith(f"{run}/")}
    assert got == want


def test_digest_sees_a_changed_value(tmp_path: Path) -> None:
    """The content digest is sensitive to one changed cell (so the pin can fail)."""
    frame = pl.DataFrame({"a": [1, 2], "b": [["x"], ["y", "z"]]})
    frame.write_parquet(tmp_path / "one.parquet")
    frame.with_columns(a=pl.Series([1, 3])).write_parquet(tmp_path / "two.parquet")
    assert digest(tmp_path / "one.parquet") != digest(tmp_path / "two.parquet")


def test_word_lists_are_read_from_shipped_data_files() -> None:
    """The tables come from package data (importlib.resources), in their recorded order."""
    from importlib import resources

    from engine.generate import _words as words

    data = resources.files("engine.generate") / "data"
    assert (data / "vessel_words.txt").read_text(encoding="utf-8").split()[:2] == [
        "AURORA",
        "ISABELLA",
    ]
    assert words.VESSEL_WORDS[:2] == ["AURORA", "ISABELLA"]
    assert words.CHAPTER_PROFILE["02"] == (25.0, 4.0, "CT", "reefer")
    assert isinstance(words.CARRIERS[0], tuple)
    assert list(words.LOADING_PORTS)[:3] == ["CNSGH", "CNNBO", "CNSNZ"]
