"""Party-name screening: the miss classes of issue 17, the entry named, the explanation."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from engine.watchlist import UN_LIST_PATH, Watchlist, WatchlistStage

NATIONAL = """kind,name,imo,container_number,list,reference,note
party,OOO EKOGRUPP,,,National sanctions,NS-1,
party,AO RADIOTEKHSNAB,,,National sanctions,NS-2,
party,CIMEX,,,National sanctions,NS-3,
party,VABO SYSTEMS,,,National sanctions,NS-4,
party,MELLI BANK PLC,,,National sanctions,NS-5,
party,BANK MELLI IRAN,,,National sanctions,NS-6,
party,KHIMPROMEKSPORT OOO,,,National sanctions,NS-7,
party,ООО «ХИМПРОМЭКСПОРТ»,,,National sanctions,NS-7,Cyrillic name of the same entry
party,ZAO SIBENERGOSERVIS,,,National sanctions,NS-8,
"""
ENTRY = {
    "NS-1": "National sanctions: NS-1 OOO EKOGRUPP",
    "NS-2": "National sanctions: NS-2 AO RADIOTEKHSNAB",
    "NS-3": "National sanctions: NS-3 CIMEX",
    "NS-4": "National sanctions: NS-4 VABO SYSTEMS",
    "NS-5": "National sanctions: NS-5 MELLI BANK PLC",
    "NS-6": "National sanctions: NS-6 BANK MELLI IRAN",
    "NS-7": "National sanctions: NS-7 KHIMPROMEKSPORT OOO",
    "NS-8": "National sanctions: NS-8 ZAO SIBENERGOSERVIS",
}


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> WatchlistStage:
    path = tmp_path_factory.mktemp("lists") / "national.csv"
    path.write_text(NATIONAL, encoding="utf-8")
    return WatchlistStage(Watchlist.load([UN_LIST_PATH, path]))


def _screen(stage: WatchlistStage, names: list[str]) -> pl.DataFrame:
    out = stage.apply(pl.DataFrame({"shipper_name": names}))
    return out.select(
        "shipper_name",
        pl.col("watchlist_party_score").alias("score"),
        pl.col("watchlist_entry").alias("entry"),
    )


def _assert_hits(stage: WatchlistStage, expected: dict[str, str]) -> None:
    out = _screen(stage, list(expected))
    for name, score, entry in out.iter_rows():
        assert entry == ENTRY[expected[name]], (name, score, entry)
        assert score >= 90, (name, score, entry)


def test_short_core_name_plus_an_extra_word(stage: WatchlistStage) -> None:
    # With the legal form dropped these names are one word; the manifest adds one.
    _assert_hits(
        stage,
        {
            "EKOGRUPP (HK)": "NS-1",
            "RADIOTEKHSNAB TRADING": "NS-2",
            "CIMEX GROUP": "NS-3",
            "OOO EKOGRUPP DUBAI BRANCH": "NS-1",
        },
    )


def test_merged_and_split_words(stage: WatchlistStage) -> None:
    _assert_hits(
        stage,
        {
            "VABOESYSTEMS": "NS-4",
            "VABOSYSTEMS LTD": "NS-4",
            "RADIOTEKH SNAB": "NS-2",
            "SIBENERGO SERVIS ZAO": "NS-8",
        },
    )


def test_one_typo_in_a_short_name_is_still_a_hit(stage: WatchlistStage) -> None:
    # 8 and 15 letters with one substitution (ratio on the key: 87.5 and 93.3).
    _assert_hits(stage, {"OOO EKOGRUPR": "NS-1", "SIBENERGOSERVYS": "NS-8"})


def test_a_short_name_needs_a_closer_match_than_a_long_one(stage: WatchlistStage) -> None:
    scores = dict(
        _screen(stage, ["CIMAX", "RADIOTEKHSNAP", "CIMEX"]).select("shipper_name", "score").rows()
    )
    assert scores["CIMEX"] == 100
    # one edit in five letters is a possible match at most; in thirteen it is a hit
    assert scores["CIMAX"] < 90 <= scores["RADIOTEKHSNAP"]


def test_the_most_specific_entry_is_named(stage: WatchlistStage) -> None:
    _assert_hits(
        stage,
        {
            "BANK MELLI IRAN FZE": "NS-6",
            "Bank Melli Iran, Dubai Branch": "NS-6",
            "MELLI BANK": "NS-5",
            "MELLI BANK PLC LONDON": "NS-5",
        },
    )


def test_transliterations(stage: WatchlistStage) -> None:
    _assert_hits(
        stage,
        {"RADIOTECHSNAB": "NS-2", "HIMPROMEXPORT": "NS-7", "ТОО ЭКОГРУПП": "NS-1"},
    )


def test_aliases_are_names_of_their_entry(stage: WatchlistStage) -> None:
    # a national list gives an alias as another row with the same reference
    _assert_hits(stage, {"ХИМПРОМЭКСПОРТ": "NS-7"})
    # UN aliases that hold several names ("A; B; C", "script (A; B)") are each a name
    out = _screen(stage, ["ABDUR RAHMAN", "HASSAN GHUL", "Hasan Gul"])
    assert out["entry"].to_list() == [
        "UN SC: QDi.309 ABDUR REHMAN",
        "UN SC: QDi.306 MUSTAFA HAJJI MUHAMMAD KHAN",
        "UN SC: QDi.306 MUSTAFA HAJJI MUHAMMAD KHAN",
    ]
    assert out["score"].min() == 100  # type: ignore[operator]


def test_common_given_names_with_a_trade_word_are_not_hits(stage: WatchlistStage) -> None:
    # "ALI OMAR" is a listed alias; two common given names plus HOLDING is not that person
    out = _screen(stage, ["ALI OMAR HOLDING", "HASSAN TRADING BALTIC SRL", "ALI OMAR"])
    holding, hassan, alias = out["score"].to_list()
    assert holding < 90 and hassan < 90
    assert alias == 100


def test_each_hit_says_which_words_matched_and_which_differed(stage: WatchlistStage) -> None:
    out = stage.apply(
        pl.DataFrame({"consignee_name": ["EKOGRUPR (HK)", "VABOESYSTEMS", "ACME FOODS", None]})
    )
    detail = out["watchlist_party_match"].to_list()
    assert detail[0] is not None and detail[1] is not None
    assert "EKOGRUPR~EKOGRUPP" in detail[0] and "HK" in detail[0]
    assert "'OOO EKOGRUPP'" in detail[0]  # the listed name as written
    assert "VABOESYSTEMS~VABO SYSTEMS (written together, 1 edit)" in detail[1]
    assert detail[2:] == [None, None]
    split = stage.screen(pl.Series(["RADIOTEKH SNAB", "RADIOTECHSNAB"]))["match"].to_list()
    assert split == [
        "'AO RADIOTEKHSNAB': RADIOTEKH SNAB~RADIOTEKHSNAB (written apart)",
        "'AO RADIOTEKHSNAB': RADIOTECHSNAB~RADIOTEKHSNAB (spelling)",
    ]


def test_shipped_rule_reasons_carry_the_explanation(stage: WatchlistStage) -> None:
    from rules import load_pack

    frame = stage.apply(pl.DataFrame({"shipper_name": ["CIMEX GROUP"], "bl_number": ["B1"]}))
    reasons = load_pack().compile(frame.schema).apply(frame)["rule_reasons"].to_list()[0]
    assert any("CIMEX" in r and "extra GROUP" in r for r in reasons), reasons


def test_csv_alias_rows_must_agree_on_nothing_but_the_reference(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text("kind,name,list,reference\nparty,A ONE,L,R1\nparty,A UNO,L,R1\n")
    wl = Watchlist.load([path])
    assert wl.parties["entry"].unique().to_list() == ["L: R1 A ONE"]
    assert sorted(wl.parties["alias"].to_list()) == ["A ONE", "A UNO"]


def test_deletion_variants_are_capped_by_the_length_of_a_word() -> None:
    from engine._screen_text import deletions, edit_budget

    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    words = pl.Series(["TRADINGS", (alphabet * 2)[:30], (alphabet * 3)[:50], "Q" * 200_000])
    made = deletions(words, edit_budget(pl.col("word").str.len_chars()))
    counts = dict(made.group_by("word").len().iter_rows())
    assert counts["TRADINGS"] == 37  # itself, 8 with one letter deleted, 28 distinct with two
    assert counts[(alphabet * 2)[:30]] > 31  # two deletions up to 32 letters
    assert counts[(alphabet * 3)[:50]] == 51  # one deletion up to 64 letters
    assert counts["Q" * 200_000] == 1  # as written only: not 4·10^10 variants


def test_deletion_matches_made_in_slices_are_those_made_at_once(
    stage: WatchlistStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine import _screen_text
    from engine._screen_text import deletion_matches, edit_budget

    index = stage.index.variants
    words = pl.Series(
        ["EKOGRUPP", "RADIOTEHSNAB", "SIBENERGOSERVIS", "MELLI", "VABOSYSTEM", "ACME"]
    )
    depth = edit_budget(pl.col("word").str.len_chars())
    at_once = deletion_matches(words, depth, index).sort("word", "word_right")
    assert at_once.height >= 5
    monkeypatch.setattr(_screen_text, "VARIANTS_AT_ONCE", 40)  # a slice a word or two
    assert_frame_equal(deletion_matches(words, depth, index).sort("word", "word_right"), at_once)


def test_a_name_with_an_enormous_word_is_screened_and_the_others_still_hit(
    stage: WatchlistStage,
) -> None:
    # A fuzzed upload's party name with a 140,000-letter word took the server past 22 GB.
    huge = "ACME " + "QX" * 100_000 + " TRADING"
    flood = [
        f"{i:05d}".translate(str.maketrans("0123456789", "ABCDEFGHIJ")) * 6 for i in range(3000)
    ]
    out = _screen(stage, [huge, "OOO EKOGRUP", *flood])
    assert out.row(0)[1] is None or out.row(0)[1] < 90
    assert out.row(1)[2] == ENTRY["NS-1"]
