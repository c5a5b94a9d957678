"""Watchlist loading (UN SC XML, national CSV), screening columns, vessels, containers,
quality floors on the screening probe."""

from __future__ import annotations

import random
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal, assert_series_equal

from engine.schema import DERIVED
from engine.stages import Stage
from engine.watchlist import (
    DEFAULT_THRESHOLD,
    UN_LIST_PATH,
    WATCHLIST_COLUMNS,
    Watchlist,
    WatchlistError,
    WatchlistStage,
)

NATIONAL = """kind,name,imo,container_number,list,reference,note
party,Kappa Trading LLC,,,National sanctions,NS-1,front company
vessel,OCEAN STAR,IMO 9074729,,National sanctions,NS-2,
container,,,MSCU 123456-5,PCU alerts,A-17,
"""


@pytest.fixture(scope="module")
def un_list() -> Watchlist:
    return Watchlist.load([UN_LIST_PATH])


def _national(tmp_path: Path, text: str = NATIONAL) -> Path:
    path = tmp_path / "national.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_un_list_parsed_by_its_schema(un_list: Watchlist) -> None:
    parties = un_list.parties
    assert parties.filter(pl.col("party_type") == "individual")["entry"].n_unique() == 682
    assert parties.filter(pl.col("party_type") == "entity")["entry"].n_unique() == 193
    qaida = parties.filter(pl.col("reference") == "QDe.004")
    assert qaida["entry"][0] == "UN SC: QDe.004 AL-QAIDA"
    asc = parties.filter(pl.col("reference") == "QDe.069")
    assert "Jamiat Ihya ul Turath al Islamia" in asc["alias"].to_list()
    assert "AFGHAN SUPPORT COMMITTEE" in asc["alias"].to_list()  # bracketed acronym dropped
    assert "Peshawar" in asc["address"][0]
    # "Low" quality aliases are skipped unless asked for.
    anwari = parties.filter(pl.col("reference") == "TAi.005")["alias"].to_list()
    assert "Haji Mudir" not in anwari and "Muhammad Tahir Anwari" in anwari
    with_low = Watchlist.load([UN_LIST_PATH], low_quality_aliases=True)
    assert "Haji Mudir" in with_low.parties["alias"].to_list()


def test_national_csv(tmp_path: Path) -> None:
    wl = Watchlist.load([_national(tmp_path)])
    assert wl.parties["entry"].to_list() == ["National sanctions: NS-1 Kappa Trading LLC"]
    assert wl.vessels.rows() == [("National sanctions: NS-2 OCEAN STAR", "9074729", "OCEAN STAR")]
    assert wl.containers["container_number"].to_list() == ["MSCU1234565"]
    summary = wl.summary()
    assert set(summary["kind"]) == {"party", "vessel", "container"}


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("kind,name,list\nparty,,L\n", 2, "name"),
        ("kind,name,list\nperson,A,L\n", 2, "kind"),
        ("kind,name,imo,list\nparty,A,,L\nvessel,V,9074728,L\n", 3, "imo"),
        ("kind,container_number,list\ncontainer,MSC123,L\n", 2, "container_number"),
        ("kind,name,list,colour\nparty,A,L,red\n", 1, "colour"),
        ("kind,name\nparty,A\n", 1, "list"),
    ],
)
def test_national_csv_errors_name_line_and_field(
    tmp_path: Path, text: str, line: int, field: str
) -> None:
    with pytest.raises(WatchlistError) as err:
        Watchlist.load([_national(tmp_path, text)])
    assert err.value.location is not None
    assert (err.value.location.line, err.value.location.field) == (line, field)
    assert err.value.hint


def test_xml_with_entities_or_wrong_root_is_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.xml"
    evil.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
        "<CONSOLIDATED_LIST><ENTITIES><ENTITY><REFERENCE_NUMBER>X</REFERENCE_NUMBER>"
        "<FIRST_NAME>&e;</FIRST_NAME></ENTITY></ENTITIES></CONSOLIDATED_LIST>"
    )
    with pytest.raises(WatchlistError, match="DOCTYPE"):
        Watchlist.load([evil])
    other = tmp_path / "other.xml"
    other.write_text("<LIST/>")
    with pytest.raises(WatchlistError, match="CONSOLIDATED_LIST"):
        Watchlist.load([other])
    broken = tmp_path / "broken.xml"
    broken.write_text("<CONSOLIDATED_LIST>\n<ENTITY>")
    with pytest.raises(WatchlistError) as err:
        Watchlist.load([broken])
    assert err.value.location is not None and err.value.location.line is not None
    with pytest.raises(WatchlistError, match="format"):
        Watchlist.load([_national(tmp_path).rename(tmp_path / "list.txt")])
    with pytest.raises(WatchlistError, match="not found"):
        Watchlist.load([tmp_path / "missing.xml"])


def test_stage_columns_roles_and_exact_hits(un_list: Watchlist, tmp_path: Path) -> None:
    national = Watchlist.load([_national(tmp_path)])
    both = Watchlist(
        parties=pl.concat([un_list.parties, national.parties]),
        vessels=national.vessels,
        containers=national.containers,
    )
    frame = pl.DataFrame(
        {
            "shipper_name": ["Acme Foods Ltd", "Al-Qaida Co.", None, "Acme Foods Ltd"],
            "consignee_name": ["KAPPA TRADNG", "Beta", None, "Trading Kappa Limited"],
            "notify_name": [None, "Al Qaida", None, None],
            "vessel_imo": ["9074729", "IMO 9074729", None, "9321483"],
            "container_number": ["MSCU1234565", "mscu 1234565", None, "TGHU1234560"],
        }
    )
    stage = WatchlistStage(both)
    assert isinstance(stage, Stage)
    out = stage.apply(frame)
    assert out.columns == frame.columns + list(WATCHLIST_COLUMNS)
    for name in WATCHLIST_COLUMNS:
        assert out.schema[name] == DERIVED[name].dtype, name
    assert out["watchlist_party_role"].to_list() == ["consignee", "shipper", None, "consignee"]
    assert out["watchlist_entry"].to_list() == [
        "National sanctions: NS-1 Kappa Trading LLC",
        "UN SC: QDe.004 AL-QAIDA",
        None,
        "National sanctions: NS-1 Kappa Trading LLC",
    ]
    scores = out["watchlist_party_score"].to_list()
    assert scores[1] == scores[3] == 100.0 and DEFAULT_THRESHOLD <= scores[0] < 100
    assert scores[2] == 0.0
    assert out["watchlist_vessel_hit"].to_list() == [True, True, False, False]
    assert out["watchlist_container_hit"].to_list() == [True, True, False, False]
    assert stage.fingerprint()["threshold"] == DEFAULT_THRESHOLD


def test_names_are_screened_once_per_distinct_key(un_list: Watchlist) -> None:
    stage = WatchlistStage(un_list)
    frame = pl.DataFrame(
        {
            "shipper_name": ["Acme Ltd", "ACME LIMITED", "acme"] * 100,
            "consignee_name": ["Beta", "Acme", None] * 100,
        }
    )
    out = stage.apply(frame)
    assert (stage.cache.misses, stage.cache.hits) == (2, 0)  # ACME and BETA
    assert out.height == 300
    stage.apply(frame)
    assert (stage.cache.misses, stage.cache.hits) == (2, 2)


def test_chunks_screened_at_once_in_two_threads_get_their_own_rows(
    un_list: Watchlist, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API's batch workers share one stage: two chunks with names new to it, keyed at
    the same moment, each keep one row per row and the columns a lone chunk gets."""
    import engine.watchlist

    frames = [
        pl.DataFrame(
            {
                "shipper_name": ["Kappa Trading", "AL-QAIDA", f"Zeta {i}"] * 20,
                "consignee_name": ["Beta", None, "Acme"] * 20,
            }
        )
        for i in range(2)
    ]
    alone = [WatchlistStage(un_list).apply(f) for f in frames]
    both_new = threading.Barrier(2, timeout=30)
    real_key = engine.watchlist.screen_key

    def key_after_both_looked(name: pl.Expr) -> pl.Expr:
        both_new.wait()  # each thread has found its names missing from the memo
        return real_key(name)

    monkeypatch.setattr(engine.watchlist, "screen_key", key_after_both_looked)
    shared = WatchlistStage(un_list)
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(shared.apply, frames))
    for got, expected in zip(together, alone, strict=True):
        assert_frame_equal(got, expected)
    assert shared._names["name"].is_unique().all()


def test_missing_columns_and_threshold_validation(un_list: Watchlist) -> None:
    out = WatchlistStage(un_list).apply(pl.DataFrame({"bl_number": ["B1", "B2"]}))
    no_parties = Watchlist(
        parties=un_list.parties.clear(), vessels=un_list.vessels, containers=un_list.containers
    )
    screened = WatchlistStage(no_parties).apply(pl.DataFrame({"shipper_name": ["Acme"]}))
    assert screened["watchlist_party_score"].to_list() == [0.0]
    expected = pl.Series("watchlist_party_score", [0.0, 0.0])
    assert_series_equal(out["watchlist_party_score"], expected)
    assert out["watchlist_vessel_hit"].to_list() == [False, False]
    with pytest.raises(WatchlistError, match="threshold"):
        WatchlistStage(un_list, threshold=0)


def test_screening_quality_on_the_probe() -> None:
    from benchmarks.probe_screening import PERTURBATIONS, build_probe, report, screen

    probe = build_probe(per_class=120, n_negatives=1500, n_synthetic=300)
    stage = WatchlistStage(probe.watchlist)
    rep = report(probe, screen(probe, stage), DEFAULT_THRESHOLD)
    assert rep.positives == 120 * len(PERTURBATIONS)
    # Floors a little under the full probe's figures (engine/watchlists/README.md).
    assert rep.recall >= 0.96, rep.by_class
    assert min(r["recall"] for r in rep.by_class.values()) >= 0.85, rep.by_class
    assert rep.correct_entry >= 0.97, rep.wrong_entry
    assert rep.false_positive_rate <= 0.005, rep.false_positives


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.integers(min_value=0, max_value=10_000),
    st.randoms(use_true_random=False),
    st.sampled_from(["", " LLC", " Co., Ltd.", " GmbH", " ТОО"]),
)
def test_score_ignores_word_order_case_and_legal_form(
    un_list: Watchlist, pick: int, rnd: random.Random, suffix: str
) -> None:
    names = un_list.parties["alias"]
    name = names[pick % names.len()]
    words = name.split()
    rnd.shuffle(words)
    variant = (" ".join(words) + suffix).lower()
    out = WatchlistStage(un_list).apply(pl.DataFrame({"shipper_name": [name, variant]}))
    scores = out["watchlist_party_score"].to_list()
    assert scores[0] == scores[1]


def test_vessels_by_imo_number_and_by_name(tmp_path: Path) -> None:
    lists = _national(
        tmp_path,
        "kind,name,imo,container_number,list,reference\n"
        "vessel,OCEAN STAR,9074729,,National sanctions,NS-2\n"
        "vessel,DARK PEARL,,,PCU alerts,A-9\n",
    )
    stage = WatchlistStage(Watchlist.load([lists]))
    frame = pl.DataFrame(
        {
            "vessel_imo": ["IMO 9074729", "9321483", None, "9321483", None],
            "vessel_name": [
                "RENAMED ONE",
                "M/V Ocean Star",
                "dark  pearl",
                "OCEAN STARLIGHT",
                None,
            ],
        }
    )
    out = stage.apply(frame)
    # the IMO number identifies the ship whatever its name; a name alone is weaker
    assert out["watchlist_vessel_hit"].to_list() == [True, False, False, False, False]
    assert out["watchlist_vessel_name_hit"].to_list() == [False, True, True, False, False]
    assert out["watchlist_vessel_entry"].to_list() == [
        "National sanctions: NS-2 OCEAN STAR",
        "National sanctions: NS-2 OCEAN STAR",
        "PCU alerts: A-9 DARK PEARL",
        None,
        None,
    ]


def test_container_numbers_name_their_entries(tmp_path: Path) -> None:
    lists = _national(
        tmp_path,
        "kind,container_number,list,reference\n"
        "container,MSCU1234566,PCU alerts,A-17\n"
        "container,mscu 123456-6,Partner unit KZ,KZ-3\n"
        "container,TGHU1234560,PCU alerts,A-18\n",
    )
    stage = WatchlistStage(Watchlist.load([lists]))
    out = stage.apply(pl.DataFrame({"container_number": ["MSCU 1234566", "TGHU1234560", "X"]}))
    assert out["watchlist_container_hit"].to_list() == [True, True, False]
    assert out["watchlist_container_entry"].to_list() == [
        "PCU alerts: A-17 MSCU1234566; Partner unit KZ: KZ-3 MSCU1234566",
        "PCU alerts: A-18 TGHU1234560",
        None,
    ]


def test_a_vessel_entry_needs_an_imo_number_or_a_name(tmp_path: Path) -> None:
    with pytest.raises(WatchlistError) as err:
        Watchlist.load([_national(tmp_path, "kind,name,imo,list\nvessel,,,L\n")])
    assert err.value.location is not None and err.value.location.line == 2
    assert err.value.hint is not None and "name" in err.value.hint


def test_match_explanation_reads_russian_word_for_word() -> None:
    """Every word the explanation is made of has its Russian; the names stay as written."""
    from engine.i18n import localised_value

    cases = {
        "'EXAMPLE TRADING': matched TRADING; EXAMPEL~EXAMPLE (2 edits); missing CO; "
        "extra LLC; extra THE (ignored)": "'EXAMPLE TRADING': совпали: TRADING; "
        "EXAMPEL~EXAMPLE (правок: 2); не хватает: CO; лишние: LLC; лишние: THE (не учтены)",
        "'AL RASHID': ALRASHID~AL RASHID (written together)": "'AL RASHID': "
        "ALRASHID~AL RASHID (слитно)",
        "'KIM IL SUNG': KIM~KIM; ILSUNG~IL SUNG (written apart, 3 edits)": "'KIM IL SUNG': "
        "KIM~KIM; ILSUNG~IL SUNG (раздельно, правок: 3)",
        "'RABITA': RABYTA~RABITA (spelling)": "'RABITA': RABYTA~RABITA (вариант написания)",
        "'ACME': same words": "'ACME': те же слова",
        "'MATCHED MISSING EXTRA': matched MATCHED": "'MATCHED MISSING EXTRA': совпали: MATCHED",
    }
    for english, russian in cases.items():
        assert localised_value("watchlist_party_match", english, "ru") == russian
        assert localised_value("watchlist_party_match", english, "en") == english
    assert not re.search("[a-z]", "".join(cases.values()).replace("'", ""))
