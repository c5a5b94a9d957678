"""Screening results cached per (list version, name key), in memory and on disk."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from engine.watchlist import UN_LIST_PATH, WATCHLIST_CACHE, Watchlist, WatchlistStage

LIST = "kind,name,list,reference\nparty,OOO EKOGRUPP,National sanctions,NS-1\n"
DAY_ONE = ["EKOGRUPP (HK)", "ACME FOODS", "Acme Foods Ltd", None]
DAY_TWO = ["ACME FOODS", "EKOGRUPP (HK)", "BETA TRADING"]


def _list(tmp_path: Path, text: str = LIST) -> Watchlist:
    path = tmp_path / "national.csv"
    path.write_text(text, encoding="utf-8")
    return Watchlist.load([path])


def _screen(stage: WatchlistStage, names: list[str | None]) -> pl.DataFrame:
    return stage.apply(pl.DataFrame({"shipper_name": names}, schema={"shipper_name": pl.String}))


def test_each_distinct_key_reaches_the_matcher_once(tmp_path: Path) -> None:
    stage = WatchlistStage(_list(tmp_path))
    first = _screen(stage, DAY_ONE)
    assert (stage.cache.misses, stage.cache.hits) == (2, 0)  # EKOGRUPP HK, ACME FOODS
    second = _screen(stage, DAY_TWO)
    assert (stage.cache.misses, stage.cache.hits) == (3, 2)  # only BETA TRADING is new
    assert second["watchlist_entry"].to_list()[1] == first["watchlist_entry"].to_list()[0]
    assert second["watchlist_party_match"].to_list()[1] == first["watchlist_party_match"][0]
    assert len(stage.cache) == 3  # clean names are cached too


def test_results_persist_across_processes_and_equal_fresh_ones(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fresh = _screen(WatchlistStage(_list(tmp_path), cache_dir=cache), DAY_ONE)
    later = WatchlistStage(_list(tmp_path), cache_dir=cache)  # a new run, same list
    assert len(later.cache) == 2
    again = _screen(later, DAY_ONE)
    assert (later.cache.misses, later.cache.hits) == (0, 2)
    assert again.equals(fresh)
    parts = list(cache.glob("*/part-*.parquet"))
    assert parts and all(p.parent.name == later.cache.version for p in parts)


def test_a_changed_list_is_a_new_version_never_a_stale_hit(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    before = WatchlistStage(_list(tmp_path), cache_dir=cache)
    assert _screen(before, ["ACME FOODS"])["watchlist_party_score"].to_list() == [0.0]
    changed = _list(tmp_path, LIST + "party,ACME FOODS LLC,National sanctions,NS-2\n")
    after = WatchlistStage(changed, cache_dir=cache)
    assert after.cache.version != before.cache.version and len(after.cache) == 0
    out = _screen(after, ["ACME FOODS"])
    assert out["watchlist_party_score"].to_list() == [100.0]
    assert after.cache.misses == 1
    # one folder per list version, and one per list's built index
    assert len([p for p in cache.iterdir() if p.name != "index"]) == 2
    assert len(list((cache / "index").iterdir())) == 2


def test_report_floor_is_part_of_the_version(tmp_path: Path) -> None:
    wl = _list(tmp_path)
    assert (
        WatchlistStage(wl, report_floor=70).cache.version
        != WatchlistStage(wl, report_floor=80).cache.version
    )


def test_many_parts_are_merged_on_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine._screen_cache as screen_cache

    monkeypatch.setattr(screen_cache, "MAX_PARTS", 2)
    cache = tmp_path / "cache"
    for name in ("A ONE", "B TWO", "C THREE"):
        _screen(WatchlistStage(_list(tmp_path), cache_dir=cache), [name])
    folder = next(p for p in cache.iterdir() if p.name != "index")
    assert len(list(folder.glob("part-*.parquet"))) == 3
    merged = WatchlistStage(_list(tmp_path), cache_dir=cache)
    assert len(merged.cache) == 3
    assert len(list(folder.glob("part-*.parquet"))) == 1


def test_the_scorer_keeps_the_cache_in_the_history_store(tmp_path: Path) -> None:
    from api.wiring import build_scorer
    from engine.watchlist import UN_LIST_PATH

    store = tmp_path / "history"
    scorer = build_scorer(history_dir=store, watchlists=[UN_LIST_PATH], use_model=False)
    stage = next(s for s in scorer.enrichers if isinstance(s, WatchlistStage))
    assert stage.cache.directory is not None
    assert stage.cache.directory.parent == store / WATCHLIST_CACHE
    _screen(stage, ["AL-QAIDA"])
    assert list((store / WATCHLIST_CACHE).glob("*/part-*.parquet"))


def test_a_stage_crosses_to_another_process_with_its_cache(tmp_path: Path) -> None:
    import pickle

    stage = WatchlistStage(_list(tmp_path))
    _screen(stage, DAY_ONE)
    copy = pickle.loads(pickle.dumps(stage))  # what a Ray worker receives
    out = _screen(copy, DAY_ONE)
    assert copy.cache.misses == 2 and copy.cache.hits == 2
    assert out["watchlist_entry"][0] == "National sanctions: NS-1 OOO EKOGRUPP"


def test_the_service_keeps_one_cache_beside_the_units_history(tmp_path: Path) -> None:
    from api.services._engine import ScorerCache
    from api.settings import Settings

    scorer = ScorerCache(Settings(data_dir=tmp_path, model_dir=None)).get()
    stage = next(s for s in scorer.enrichers if isinstance(s, WatchlistStage))
    assert stage.cache.directory is not None
    assert stage.cache.directory.parent == tmp_path / WATCHLIST_CACHE
    off = ScorerCache(Settings(data_dir=tmp_path / "b", history=False)).get()
    quiet = next(s for s in off.enrichers if isinstance(s, WatchlistStage))
    assert quiet.cache.directory is None


def test_the_list_index_is_built_once_per_cache_and_read_back_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from polars.testing import assert_frame_equal

    from engine import _screen_list
    from engine._screen_list import ListIndex

    un_list = Watchlist.load([UN_LIST_PATH])
    cache = tmp_path / "cache"
    built = ListIndex.load_or_build(un_list.parties, cache)
    (folder,) = list((cache / "index").iterdir())  # nothing else: no temporary folder left

    def refuse(parties: pl.DataFrame) -> ListIndex:
        raise AssertionError("built again")

    monkeypatch.setattr(ListIndex, "build", refuse)
    read = ListIndex.load_or_build(un_list.parties, cache)
    assert read.version == built.version
    for name in _screen_list._TABLES:
        assert_frame_equal(getattr(read, name), getattr(built, name))
    # screening with the index read back finds what screening with a fresh one finds
    monkeypatch.undo()
    names = ["KOREA KWANGSON BANKING CORP", "ACME FOODS", "Korea Kwangson Bankng Corp."]
    fresh = _screen(WatchlistStage(un_list), names)
    cached = _screen(WatchlistStage(un_list, cache_dir=cache), names)
    assert fresh["watchlist_entry"][0] is not None
    assert_frame_equal(cached, fresh)
    # a damaged copy is built again and replaced
    (folder / "tokens.parquet").write_bytes(b"PAR1 cut short")
    again = ListIndex.load_or_build(un_list.parties, cache)
    assert_frame_equal(again.tokens, built.tokens)
    assert_frame_equal(pl.read_parquet(folder / "tokens.parquet"), built.tokens)
    # a cache that cannot be written is skipped, not an error
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    assert ListIndex.load_or_build(un_list.parties, blocked).version == built.version


def test_the_list_index_key_follows_the_names_and_the_matcher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine import _screen_list

    parties = _list(tmp_path).parties
    key = _screen_list._build_key(parties)
    assert _screen_list._build_key(parties) == key
    renamed = parties.with_columns(pl.col("alias").str.replace("EKOGRUPP", "EKOGRUP"))
    assert _screen_list._build_key(renamed) != key
    retyped = parties.with_columns(pl.lit("individual").alias("party_type"))
    assert _screen_list._build_key(retyped) != key
    monkeypatch.setattr(_screen_list, "MATCHER_VERSION", "next")
    assert _screen_list._build_key(parties) != key
    monkeypatch.undo()
    monkeypatch.setattr(_screen_list, "_BUILT_BY", (*_screen_list._BUILT_BY, "scorer.py"))
    assert _screen_list._build_key(parties) != key  # the building code is part of the key
