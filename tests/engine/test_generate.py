"""Tests for the demo data generator (engine.generate)."""

from __future__ import annotations

import csv
import doctest
import html
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal, assert_series_equal

import engine.generate as generate_module
import engine.generate._codes as codes_module
from engine.generate import (
    DEMO_WATCHLIST_NAMES,
    TYPOLOGIES,
    GeneratedData,
    GeneratorError,
    TypologyRates,
    generate,
)
from engine.generate._codes import imo_numbers, iso6346_check_digits
from engine.generate._day import CURRENCY_RATES
from engine.generate._words import CHAPTER_PROFILE, VAGUE_DESCRIPTIONS
from engine.schema import AIR_FIELDS, CANONICAL, LABEL_FIELDS, canonical_schema

MANIFEST_COLUMNS = [n for n in CANONICAL if n not in LABEL_FIELDS and n not in AIR_FIELDS]
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
HIGH_RATES = TypologyRates(**{name: 0.01 for name in TYPOLOGIES})


# ------------------------------------------------------------------ reference checks
def reference_check_digit(number: str) -> int:
    """ISO 6346 check digit, written out plainly (A=10, skipping multiples of 11)."""
    values: dict[str, int] = {}
    value = 10
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        if value % 11 == 0:
            value += 1
        values[letter] = value
        value += 1
    total = 0
    for i, char in enumerate(number[:10]):
        total += (values[char] if char.isalpha() else int(char)) * 2**i
    return total % 11 % 10


def reference_imo_valid(imo: str) -> bool:
    digits = [int(c) for c in imo]
    return sum(d * w for d, w in zip(digits[:6], range(7, 1, -1), strict=True)) % 10 == digits[6]


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> GeneratedData:
    """Default typology rates, with enough history for rates to be measurable."""
    return generate(
        days=2,
        rows_per_day=1200,
        seed=14,
        history_days=30,
        out_dir=tmp_path_factory.mktemp("default"),
        formats=("csv", "parquet"),
    )


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory: pytest.TempPathFactory) -> GeneratedData:
    """Every typology at 1 % so each shows up in a small manifest."""
    return generate(
        days=2,
        rows_per_day=1200,
        seed=5,
        history_days=3,
        rates=HIGH_RATES,
        out_dir=tmp_path_factory.mktemp("planted"),
        formats=("csv", "parquet"),
    )


def _manifest(run: GeneratedData, day: int = 0) -> pl.DataFrame:
    parquet = [p for p in run.manifests if p.suffix == ".parquet"]
    return pl.read_parquet(parquet[day])


# ------------------------------------------------------------------ reference kernels
def test_check_digit_kernel_matches_published_vectors(fixture_data: Path) -> None:
    rows = list(csv.DictReader((fixture_data / "check-digits/container_test_vectors.csv").open()))
    valid = [
        r["container_number"]
        for r in rows
        if r["expected_valid"] == "True" and re.fullmatch(r"[A-Z]{4}\d{7}", r["container_number"])
    ]
    owners = np.asarray([v[:4] for v in valid])
    serials = np.asarray([int(v[4:10]) for v in valid])
    assert iso6346_check_digits(owners, serials).tolist() == [int(v[10]) for v in valid]


@settings(max_examples=200, deadline=None)
@given(
    owner=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3),
    serial=st.integers(0, 999_999),
)
def test_check_digit_kernel_matches_reference(owner: str, serial: int) -> None:
    got = iso6346_check_digits(np.asarray([owner + "U"]), np.asarray([serial]))[0]
    assert got == reference_check_digit(f"{owner}U{serial:06d}")


@settings(max_examples=200, deadline=None)
@given(body=st.integers(100_000, 999_999))
def test_imo_kernel_matches_reference(body: int) -> None:
    assert reference_imo_valid(str(imo_numbers(np.asarray([body]))[0]))


@pytest.mark.parametrize("module", [codes_module, generate_module])
def test_docstring_examples_run(module: object) -> None:
    result = doctest.testmod(module, raise_on_error=False)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------------ determinism
def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    args = dict(
        days=2,
        rows_per_day=300,
        seed=42,
        history_days=2,
        rates=HIGH_RATES,
        formats=("csv", "parquet"),
    )
    a = generate(out_dir=tmp_path / "a", **args)  # type: ignore[arg-type]
    b = generate(out_dir=tmp_path / "b", **args)  # type: ignore[arg-type]
    files_a = _files(tmp_path / "a")
    files_b = _files(tmp_path / "b")
    assert files_a == files_b and len(files_a) == 2 * 2 + 2 + 2
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    assert (
        replace(
            a,
            out_dir=b.out_dir,
            manifests=b.manifests,
            truth=b.truth,
            history=b.history,
            history_truth=b.history_truth,
        )
        == b
    )


def test_other_seed_and_other_day_differ(tmp_path: Path) -> None:
    a = generate(days=2, rows_per_day=300, seed=1, out_dir=tmp_path / "a")
    b = generate(days=2, rows_per_day=300, seed=2, out_dir=tmp_path / "b")
    assert a.manifests[0].read_bytes() != b.manifests[0].read_bytes()
    day1, day2 = (pl.read_csv(p, infer_schema=False) for p in a.manifests)
    assert day1["container_number"].is_in(day2["container_number"].implode()).mean() < 0.1
    assert day1["bl_number"].is_in(day2["bl_number"].implode()).sum() == 0


@settings(max_examples=6, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    rows=st.integers(1, 60),
    days=st.integers(1, 2),
    history=st.integers(0, 2),
    rate=st.sampled_from([0.0, 0.05, 0.2]),
)
def test_any_small_request_gives_consistent_files(
    seed: int, rows: int, days: int, history: int, rate: float
) -> None:
    import tempfile

    rates = TypologyRates(**{name: rate for name in TYPOLOGIES})
    with tempfile.TemporaryDirectory() as tmp:
        run = generate(
            days=days,
            rows_per_day=rows,
            seed=seed,
            history_days=history,
            out_dir=Path(tmp),
            formats=("parquet",),
            rates=rates,
        )
        frames = [pl.read_parquet(p) for p in run.manifests]
        truths = [pl.read_parquet(p) for p in run.truth]
        assert [f.height for f in frames] == [rows] * days
        assert all(f.columns == MANIFEST_COLUMNS for f in frames)
        for frame, truth in zip(frames, truths, strict=True):
            assert truth["row_index"].is_between(0, rows - 1).all()
            assert_series_equal(
                frame[truth["row_index"].to_numpy()]["bl_number"], truth["bl_number"]
            )
        if rate == 0.0:
            assert run.manifest_planted_rows == 0
        if history:
            assert pl.read_parquet(run.history).height == rows * history  # type: ignore[arg-type]


# ------------------------------------------------------------------ columns and encoding
def test_manifest_columns_are_canonical_without_labels(default_run: GeneratedData) -> None:
    for path in default_run.manifests:
        columns = (
            pl.read_parquet_schema(path).names()
            if path.suffix == ".parquet"
            else path.open().readline().strip().split(",")
        )
        assert columns == MANIFEST_COLUMNS
        assert not set(columns) & set(LABEL_FIELDS)
        assert not {"typology", "truth", "planted"} & set(columns)
    schema = canonical_schema()
    frame = _manifest(default_run)
    assert frame.schema == pl.Schema({n: schema[n] for n in MANIFEST_COLUMNS})


def test_history_has_labels_and_canonical_types(default_run: GeneratedData) -> None:
    assert default_run.history is not None
    history = pl.read_parquet(default_run.history)
    # a sea history: every canonical field but those only an air waybill carries
    sea = [name for name in CANONICAL if name not in AIR_FIELDS]
    assert history.columns == sea
    assert history.schema == pl.Schema({n: canonical_schema()[n] for n in sea})
    assert history.height == 30 * 1200


def test_csv_lists_and_times_round_trip(planted_run: GeneratedData) -> None:
    csv_path = next(p for p in planted_run.manifests if p.suffix == ".csv")
    text = pl.read_csv(csv_path, infer_schema=False)
    frame = _manifest(planted_run)
    for column in ("seals", "transshipment_ports"):
        assert text[column].str.contains(";").any(), column
        split = (
            text[column]
            .fill_null("")
            .str.split(";")
            .list.eval(pl.element().filter(pl.element() != ""))
        )
        assert_series_equal(split, frame[column], check_dtypes=False)
    for column in ("filed_at", "departed_at", "arrival_eta"):
        assert text[column].str.contains(ISO_UTC.pattern).all(), column
        parsed = text[column].str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC")
        assert_series_equal(parsed, frame[column], check_dtypes=False)
    assert text["last_amended_at"].drop_nulls().str.contains(ISO_UTC.pattern).all()


def test_csv_ingests_like_the_parquet_twin(planted_run: GeneratedData) -> None:
    from engine.ingest import read_frame

    csv_path = next(p for p in planted_run.manifests if p.suffix == ".csv")
    pq_path = csv_path.with_suffix(".parquet")
    from_csv, quarantine = read_frame(csv_path)
    from_pq, _ = read_frame(pq_path)
    assert quarantine.height == 0 and from_csv.height == 1200
    empty_to_null = [
        pl.when(pl.col(c).list.len() > 0).then(pl.col(c)).alias(c)
        for c in ("seals", "transshipment_ports")
    ]
    assert_frame_equal(
        from_csv.select(MANIFEST_COLUMNS).with_columns(empty_to_null),
        from_pq.select(MANIFEST_COLUMNS).with_columns(empty_to_null),
    )


# ------------------------------------------------------------------ realistic content
def test_container_check_digits_valid_except_a_small_share(default_run: GeneratedData) -> None:
    history = pl.read_parquet(default_run.history)  # type: ignore[arg-type]
    numbers = history["container_number"].to_list()
    assert all(re.fullmatch(r"[A-Z]{3}U\d{7}", n) for n in numbers)
    wrong = sum(reference_check_digit(n) != int(n[10]) for n in numbers) / len(numbers)
    assert 0.002 < wrong < 0.01, wrong


def test_vessel_imo_numbers_valid(default_run: GeneratedData) -> None:
    frame = _manifest(default_run)
    assert all(reference_imo_valid(i) for i in frame["vessel_imo"].unique().to_list())


def test_codes_come_from_the_reference_tables(default_run: GeneratedData) -> None:
    root = Path(__file__).resolve().parents[2] / "engine" / "reference_data"
    ports = pl.read_csv(root / "unlocode_seaports.csv", infer_schema=False, encoding="utf8-lossy")
    seaports = (ports["country"] + ports["location"]).implode()
    hs = pl.read_csv(root / "hs2022.csv", infer_schema=False)["hscode"].implode()
    frame = pl.read_parquet(default_run.history)  # type: ignore[arg-type]
    known_pol = frame["port_of_loading"].is_in(seaports).mean()
    assert 0.99 < known_pol < 1.0  # natural dirt: a few mistyped codes
    assert frame["port_of_discharge"].is_in(seaports).all()
    assert frame["transshipment_ports"].explode().drop_nulls().is_in(seaports).all()
    assert frame["hs_code"].drop_nulls().is_in(hs).all()
    assert frame["hs_code"].drop_nulls().str.len_chars().eq(6).all()
    landlocked = frame.filter(pl.col("consignee_country").is_in(["UZ", "KZ", "KG", "TJ"]))
    assert landlocked.height > 0.4 * frame.height
    gateways = landlocked["port_of_discharge"].value_counts(sort=True)["port_of_discharge"]
    assert "GEPTI" in gateways.head(3).to_list()


def test_rows_are_one_container_on_one_bill(default_run: GeneratedData) -> None:
    frame = _manifest(default_run)
    key = ["bl_number", "house_bl_number", "container_number"]
    assert frame.select(pl.struct(key).is_unique().all()).item()
    # FCL containers belong to one bill; an LCL container carries several house bills
    fcl = frame.filter(pl.col("fcl_lcl") == "FCL")
    assert fcl["container_number"].is_unique().all()
    lcl = frame.filter(pl.col("fcl_lcl") == "LCL")
    houses = lcl.group_by("container_number").agg(
        pl.col("house_bl_number").n_unique(),
        pl.col("bl_number").n_unique().alias("bl"),
        pl.col("iso_type").n_unique().alias("iso"),
    )
    assert (houses["house_bl_number"] > 1).mean() > 0.8  # type: ignore[operator]
    assert (houses["bl"] == 1).all() and (houses["iso"] == 1).all()


def test_bill_level_fields_agree_across_its_containers(default_run: GeneratedData) -> None:
    history = pl.read_parquet(default_run.history)  # type: ignore[arg-type]
    bill_fields = [
        "shipper_name",
        "consignee_name",
        "notify_name",
        "hs_code",
        "origin_country",
        "port_of_loading",
        "transshipment_ports",
        "port_of_discharge",
        "vessel_imo",
        "departed_at",
        "bl_type",
        "freight_payment",
        "is_empty",
        "place_of_receipt",
    ]
    fcl = history.filter(pl.col("fcl_lcl") == "FCL").with_columns(
        pl.col("transshipment_ports").list.join(";")
    )
    spread = fcl.group_by("bl_number").agg([pl.col(c).n_unique() for c in bill_fields])
    assert (spread.select(pl.max_horizontal(bill_fields)).to_series() == 1).all()
    assert (fcl.group_by("bl_number").len()["len"] > 1).any()


def test_times_follow_the_voyage(default_run: GeneratedData) -> None:
    frame = _manifest(default_run)
    assert (frame["departed_at"] > frame["filed_at"]).all()
    assert (frame["arrival_eta"] > frame["departed_at"]).all()
    assert frame["filed_at"].dt.date().eq(default_run.dates[0]).all()
    amended = frame.filter(pl.col("amendments") > 0)
    assert amended["last_amended_at"].is_not_null().all()
    assert frame.filter(pl.col("amendments") == 0)["last_amended_at"].is_null().all()
    assert (frame["amendments"] == 0).mean() > 0.8


def test_parties_recur_and_few_are_new(default_run: GeneratedData) -> None:
    history = pl.read_parquet(default_run.history)  # type: ignore[arg-type]
    manifest = _manifest(default_run, 1)
    real = manifest.filter(~pl.col("consignee_name").str.starts_with("TO "))
    seen = real["consignee_name"].is_in(history["consignee_name"].implode()).mean()
    assert seen > 0.85, seen
    assert history["consignee_name"].n_unique() < history.height / 5


def test_history_size_and_universe_can_differ_from_the_batch(tmp_path: Path) -> None:
    small = generate(
        days=1,
        rows_per_day=3_000,
        seed=5,
        out_dir=tmp_path / "a",
        history_days=4,
        history_rows_per_day=500,
        universe_rows=300,
        formats=("parquet",),
    )
    assert small.history_rows == 2_000 and small.manifest_rows == 3_000
    history = pl.read_parquet(small.history)  # type: ignore[arg-type]
    manifest = _manifest(small)
    assert history.height == 2_000 and manifest.height == 3_000
    # A 3,000-line day from a 300-lines-a-day universe repeats its traders...
    assert manifest["shipper_name"].n_unique() < 400
    seen = manifest["shipper_name"].is_in(history["shipper_name"].implode()).mean()
    assert seen > 0.9, seen
    # ...where the same day from its own (default) universe mostly does not.
    own_run = generate(
        days=1, rows_per_day=3_000, seed=5, out_dir=tmp_path / "b", formats=("parquet",)
    )
    own = _manifest(own_run)
    assert own["shipper_name"].n_unique() > 2 * manifest["shipper_name"].n_unique()


def test_natural_dirt_is_present(default_run: GeneratedData) -> None:
    frame = pl.read_parquet(default_run.history)  # type: ignore[arg-type]
    assert (frame["gross_weight_kg"] <= 0).sum() > 0
    assert frame["goods_description"].is_in(["FAK", "GENERAL CARGO", "SAMPLES"]).sum() > 0
    assert frame["notify_name"].is_in(["SAME AS CONSIGNEE", "N/A", "TO ORDER"]).sum() > 0
    assert frame["bl_type"].eq("to_order").mean() < 0.15


# ------------------------------------------------------------------ history labels
def test_inspection_and_positive_rates(default_run: GeneratedData) -> None:
    history = pl.read_parquet(default_run.history)  # type: ignore[arg-type]
    inspected = history.filter("inspected")
    assert 0.03 <= inspected.height / history.height <= 0.08
    positive = inspected["inspection_result"].is_in(["seizure", "irregularity"])
    assert 0.01 <= positive.mean() <= 0.03, positive.mean()  # type: ignore[operator]
    assert history.filter(~pl.col("inspected"))["inspection_result"].is_null().all()
    assert set(inspected["inspection_result"].unique()) <= {"seizure", "irregularity", "clean"}
    negative = history.filter(~pl.col("inspection_result").is_in(["seizure", "irregularity"]))
    assert negative["finding_type"].is_null().all()
    found = history.filter(pl.col("inspection_result").is_in(["seizure", "irregularity"]))
    assert found["finding_type"].is_not_null().all()
    assert set(found["finding_type"].unique()) <= {
        "drugs",
        "precursors",
        "weapons",
        "counterfeit",
        "wildlife",
        "tobacco",
        "revenue",
    }


def test_planted_rows_are_targeted_and_often_positive(default_run: GeneratedData) -> None:
    truth = pl.read_parquet(default_run.history_truth)  # type: ignore[arg-type]
    history = pl.read_parquet(default_run.history)  # type: ignore[arg-type]
    planted_inspected = truth["inspected"].mean()
    assert planted_inspected > 3 * history["inspected"].mean()  # type: ignore[operator]
    hit = truth.filter("inspected")["inspection_result"].is_in(["seizure", "irregularity"]).mean()
    assert 0.15 < hit < 0.9  # realistic: not every tip-off finds something  # type: ignore[operator]


# ------------------------------------------------------------------ truth
def test_truth_names_every_typology_and_points_at_its_rows(planted_run: GeneratedData) -> None:
    truth = pl.concat([pl.read_parquet(p) for p in planted_run.truth])
    assert set(truth["typology"].unique()) == set(TYPOLOGIES)
    assert truth["finding_type"].is_not_null().all()
    frame = _manifest(planted_run, 0)
    day = pl.read_parquet(planted_run.truth[0])
    rows = frame[day["row_index"].to_numpy()]
    assert_series_equal(rows["container_number"], day["container_number"])
    assert_series_equal(rows["bl_number"], day["bl_number"])
    assert planted_run.manifest_planted_rows == truth.height


def test_typologies_look_like_their_description(planted_run: GeneratedData) -> None:
    frames = [_manifest(planted_run, i) for i in range(2)]
    truths = [pl.read_parquet(p) for p in planted_run.truth]
    rows = pl.concat(
        [
            f.with_row_index("row_index")
            .with_columns(pl.col("row_index").cast(pl.Int64))
            .join(t.select("row_index", "typology"), on="row_index", how="left")
            for f, t in zip(frames, truths, strict=True)
        ]
    )

    def of(name: str) -> pl.DataFrame:
        return rows.filter(pl.col("typology") == name)

    coke = of("cocaine_reefer")
    assert coke["iso_type"].str.slice(2, 1).eq("R").all()
    assert coke["port_of_loading"].str.slice(0, 2).is_in(["EC", "CO", "PE", "BR", "PA", "CR"]).all()
    assert coke["transshipment_ports"].list.len().gt(0).all()
    front = of("front_company")
    assert front["consignee_address"].str.starts_with("P.O. BOX").all()
    assert front["freight_payment"].eq("cash").all()
    history = pl.read_parquet(planted_run.history)  # type: ignore[arg-type]
    assert not front["consignee_name"].is_in(history["consignee_name"].implode()).any()
    cash = of("cash_to_order")
    assert cash["bl_type"].eq("to_order").all() and cash["freight_payment"].eq("cash").all()
    late = of("late_amendment")
    assert (late["last_amended_at"] > late["departed_at"]).all()
    chem = of("precursor_chemicals")
    assert chem["hs_code"].str.slice(0, 2).is_in(["28", "29", "32", "34", "38"]).all()
    # weight anomalies: kg per package far from what the HS chapter packs (either way)
    typical = {chapter: profile[0] for chapter, profile in CHAPTER_PROFILE.items()}
    ratio = (
        pl.col("gross_weight_kg")
        / pl.col("packages")
        / pl.col("hs_code").str.slice(0, 2).replace_strict(typical, default=50.0)
    )
    odd = ratio.is_between(0.3, 3.5).not_()
    assert of("weight_anomaly").select(odd.mean()).item() > 0.9
    clean_fcl = rows.filter(
        pl.col("typology").is_null()
        & (pl.col("fcl_lcl") == "FCL")
        & ~pl.col("is_empty")
        & (pl.col("gross_weight_kg") > 0)
    )
    assert clean_fcl.select(odd.mean()).item() < 0.05
    # undervaluation: USD per kg far below what the goods are worth
    usd_per_kg = {chapter: profile[1] for chapter, profile in CHAPTER_PROFILE.items()}
    worth = (
        pl.col("declared_value")
        / pl.col("currency").replace_strict(CURRENCY_RATES)
        / pl.col("gross_weight_kg")
        / pl.col("hs_code").str.slice(0, 2).replace_strict(usd_per_kg, default=2.0)
    )
    assert of("undervaluation").select((worth < 0.2).mean()).item() > 0.9
    assert clean_fcl.select((worth < 0.2).mean()).item() < 0.02
    # vague descriptions with a high value
    vague = of("vague_high_value")
    assert vague["declared_value"].min() > 50_000  # type: ignore[operator]
    assert vague["goods_description"].is_in(list(VAGUE_DESCRIPTIONS)).all()


def test_watchlist_hook_plants_lookalikes_of_given_names(tmp_path: Path) -> None:
    from rapidfuzz import fuzz

    name = "ACME ROCKET WORKS INTERNATIONAL LLC"
    rates = TypologyRates(sanctioned_lookalike=0.02)
    run = generate(
        days=1, rows_per_day=800, seed=9, out_dir=tmp_path, rates=rates, watchlist_names=[name]
    )
    truth = pl.read_parquet(run.truth[0]).filter(pl.col("typology") == "sanctioned_lookalike")
    assert truth.height > 0
    frame = pl.read_csv(run.manifests[0], infer_schema=False)[truth["row_index"].to_numpy()]
    parties = frame.select(
        pl.concat_list("shipper_name", "consignee_name", "notify_name").alias("p")
    )["p"].to_list()

    def normal(text: str | None) -> str:  # what a screening step would compare
        return re.sub(r"[^A-Z0-9]+", " ", (text or "").upper()).strip()

    best = [max(fuzz.ratio(normal(p), normal(name)) for p in row) for row in parties]
    assert min(best) >= 80 and all(name not in row for row in parties)


def test_default_lookalikes_come_from_the_shipped_un_list(tmp_path: Path) -> None:
    from engine.generate._watchlist import UN_LIST, default_watchlist_names

    names = default_watchlist_names()
    assert len(names) >= 10
    xml = re.sub(r"\s+", " ", re.sub(r"\s*\(.*?\)", "", UN_LIST.read_text(encoding="utf-8")))
    entities = {
        html.unescape(e).strip(" ,")
        for e in re.findall(r"<FIRST_NAME>(.*?)</FIRST_NAME>", xml.upper())
    }
    assert all(name in entities for name in names)
    trading = r"TRADING|CORPORATION|COMPANY|SHIPPING|BANK|INDUSTR|LIMITED|LTD|LLC|IMPEX|MARITIME"
    assert all(re.search(trading, name) for name in names)
    assert default_watchlist_names(tmp_path / "absent.xml") == DEMO_WATCHLIST_NAMES


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"formats": ("xlsx",)}, "formats"),
        ({"rows_per_day": 0}, "rows_per_day"),
        ({"days": -1}, "days"),
        ({"days": 0, "history_days": 0}, "days"),
        ({"watchlist_names": ["  "]}, "watchlist_names"),
        ({"seed": -3}, "seed"),
        ({"history_days": 2, "history_rows_per_day": 0}, "history_rows_per_day"),
        ({"universe_rows": 0}, "universe_rows"),
    ],
)
def test_bad_arguments_raise_clear_errors(
    tmp_path: Path, kwargs: dict[str, object], field: str
) -> None:
    args: dict[str, object] = {"days": 1, "rows_per_day": 10, "seed": 1, "out_dir": tmp_path}
    args.update(kwargs)
    with pytest.raises(GeneratorError) as info:
        generate(**args)  # type: ignore[arg-type]
    assert info.value.location is not None and info.value.location.field == field
    assert info.value.hint


def test_rates_outside_range_are_refused() -> None:
    with pytest.raises(GeneratorError, match=r"outside 0\.\.0\.2") as info:
        TypologyRates(cocaine_reefer=0.5)
    assert info.value.location is not None
    assert info.value.location.field == "rates.cocaine_reefer"


def test_unwritable_output_folder_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(GeneratorError, match="cannot create") as info:
        generate(days=1, rows_per_day=10, seed=1, out_dir=blocker / "out")
    assert info.value.location is not None and info.value.location.file == str(blocker / "out")
