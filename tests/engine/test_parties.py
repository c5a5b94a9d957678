"""Party keys: normalisation, legal forms, transliteration, near-duplicate resolution."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal, assert_series_equal
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Indel

from engine._indel_bound import CAPACITY, bucket_counts
from engine.kernels import sorted_token_keys
from engine.parties import (
    LEGAL_FORMS,
    CanonicalKeys,
    normalise_name,
    normalised_names,
    party_key,
    party_key_values,
    party_keys,
    ratio_blocks,
    resolve_near_duplicates,
    spelling_variant,
)


def _keys(names: list[str | None]) -> list[str | None]:
    return (
        pl.DataFrame({"n": names}, schema={"n": pl.String})
        .select(party_key(pl.col("n")))
        .to_series()
        .to_list()
    )


def test_spellings_of_one_company_share_a_key() -> None:
    keys = _keys(
        [
            "Acme Trading Co., Ltd.",
            "ACME TRADING LIMITED",
            "acme  trading company",
            "Trading Acme L.L.C.",
            "The Acme Trading Corp",
        ]
    )
    assert set(keys) == {"ACME TRADING"}


def test_diacritics_cyrillic_and_legal_forms() -> None:
    assert _keys(["Müller & Söhne GmbH", "MULLER SOHNE"]) == ["MULLER SOHNE"] * 2
    assert _keys(["ООО «Ромашка»", "OOO Romashka", "ТОО Ромашка"]) == ["ROMASHKA"] * 3
    assert _keys(["Société Générale S.A."]) == ["GENERALE SOCIETE"]
    assert _keys(["ЖШС Қазақ Сауда"]) == ["QAZAQ SAUDA"]


def test_empty_and_legal_only_names() -> None:
    assert _keys([None, "", "  ...  ", "Co. Ltd"]) == [None, None, None, "CO LTD"]


def test_normalise_name_keeps_order() -> None:
    out = pl.select(normalise_name(pl.lit("Acme-Trading (HK) Co.,Ltd"))).item()
    assert out == "ACME TRADING HK CO LTD"


@given(
    st.lists(
        st.sampled_from(["ACME", "TRADING", "GLOBAL", "LTD", "KAPPA", "CO"]), min_size=1, max_size=6
    ),
    st.randoms(),
)
def test_key_is_token_order_insensitive(tokens: list[str], rnd: object) -> None:
    shuffled = list(tokens)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a, b = _keys([" ".join(tokens), ", ".join(shuffled).lower()])
    assert a == b


def test_resolve_maps_typos_to_canonical_and_keeps_distinct_names() -> None:
    out = resolve_near_duplicates(
        ["ACME TRADNG", "ACME TRADING", "KAPPA IMPORTS", "KAPA IMPORTS", "ZETA"],
        ["ACME TRADING"],
    ).sort("party_key")
    assert dict(out.iter_rows()) == {
        "ACME TRADNG": "ACME TRADING",
        "KAPA IMPORTS": "KAPA IMPORTS",
        "KAPPA IMPORTS": "KAPA IMPORTS",
        "ZETA": "ZETA",
    }


def test_resolve_without_candidates_is_identity() -> None:
    out = resolve_near_duplicates(["B", "A"], [])
    assert_series_equal(out["party_key"], out["canonical_key"], check_names=False)


def test_resolve_merges_misspellings_but_not_different_words() -> None:
    out = resolve_near_duplicates(
        ["COMMERCE KANGDA SHANGHAI", "PACIFICO SHIPPING", "ACME FOODS TRADING"],
        ["COMMERCE GUANGDA SHANGHAI", "PACIFIC SHIPPING", "ACME TRADING"],
    )
    assert dict(out.iter_rows()) == {
        "COMMERCE KANGDA SHANGHAI": "COMMERCE KANGDA SHANGHAI",
        "PACIFICO SHIPPING": "PACIFIC SHIPPING",
        "ACME FOODS TRADING": "ACME FOODS TRADING",
    }


def test_prepared_canonical_keys_resolve_like_the_plain_list() -> None:
    new = ["ACME TRADNG", "KAPPA IMPORTS", "KAPA IMPORTS", "PACIFICO SHIPPING", "ZETA", ""]
    canon = ["ACME TRADING", "PACIFIC SHIPPING", "", "ACME TRADING", "KAPPA IMPORT"]
    prepared = CanonicalKeys(canon)
    assert prepared.sorted == ["ACME TRADING", "KAPPA IMPORT", "PACIFIC SHIPPING"]
    for _ in range(2):  # the prepared keys are not changed by a call
        assert_frame_equal(
            resolve_near_duplicates(new, prepared), resolve_near_duplicates(new, canon)
        )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.none() | st.text(st.sampled_from([*"ACEKZ ", "Ж", "Ü", "ß", "0"]), max_size=6)))
def test_canonical_keys_are_the_distinct_keys_in_python_order_by_first_letter(
    keys: list[str | None],
) -> None:
    # Sorted and grouped by polars: the order and groups Python's sorted() and key[0] give.
    prepared = CanonicalKeys(keys)  # type: ignore[arg-type]
    plain = sorted({k for k in keys if k})
    assert prepared.sorted == plain and prepared.set == frozenset(plain)
    groups: dict[str, list[str]] = {}
    for key in plain:
        groups.setdefault(key[0], []).append(key)
    assert prepared.by_letter == groups


def test_a_call_never_reads_the_canonical_matches_another_call_is_working_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chunks scored at once in threads share the canonical matches: a call made while
    another is working out matches for the same keys (here: from inside the first one's
    comparisons, deterministically) resolves as it would alone."""
    import engine.parties

    canon = CanonicalKeys(["ACME TRADING", "KAPPA IMPORT", "PACIFIC SHIPPING"])
    outer = ["ACME TRADNG", "PACIFICO SHIPPING", "ZETA"]
    inner = ["PACIFICO SHIPPING", "ACME TRADNG", "KAPA IMPORT"]
    alone = resolve_near_duplicates(inner, canon)
    shared: dict[str, str | None] = {}
    real = engine.parties.ratio_blocks
    seen: list[pl.DataFrame] = []
    started: list[bool] = []

    def meanwhile(*args: Any, **kwargs: Any) -> Any:
        if not started:
            started.append(True)
            seen.append(resolve_near_duplicates(inner, canon, canonical_matches=shared))
        return real(*args, **kwargs)

    monkeypatch.setattr(engine.parties, "ratio_blocks", meanwhile)
    got = resolve_near_duplicates(outer, canon, canonical_matches=shared)
    assert_frame_equal(seen[0], alone)
    assert_frame_equal(got, resolve_near_duplicates(outer, canon))
    assert shared == {
        "ACME TRADNG": "ACME TRADING",
        "KAPA IMPORT": "KAPPA IMPORT",
        "PACIFICO SHIPPING": "PACIFIC SHIPPING",
        "ZETA": None,
    }


# Letters, digits, the space, lower case and code points outside ASCII (several UTF-8
# lengths, a lone surrogate), so every bucket and byte path of the filter is exercised.
_CHARS = st.sampled_from(
    [*"ABCEKMNORSTZ", " ", "0", "5", "9", "a", "z", "É", "Ж", "中", "🙂", "\ud800"]
)


@st.composite
def _near_strings(draw: st.DrawFn, alphabet: st.SearchStrategy[str] = _CHARS) -> list[str]:
    """Strings and spelling variants of them (a few code points inserted, deleted or
    replaced), so that many pairs score near the thresholds."""
    bases = draw(st.lists(st.text(alphabet, max_size=30), min_size=1, max_size=8))
    out = list(bases)
    for base in bases:
        for _ in range(draw(st.integers(0, 3))):
            chars = list(base)
            for _ in range(draw(st.integers(0, 3))):
                at = draw(st.integers(0, len(chars)))
                op = draw(st.sampled_from(["insert", "delete", "replace"]))
                if op == "insert" or not chars:
                    chars.insert(at, draw(alphabet))
                elif op == "delete":
                    del chars[min(at, len(chars) - 1)]
                else:
                    chars[min(at, len(chars) - 1)] = draw(alphabet)
            out.append("".join(chars))
    return draw(st.permutations(out))


@settings(max_examples=300, deadline=None)
@given(
    _near_strings(),
    _near_strings(),
    st.sampled_from([0.3, 0.6, 50.0, 80.0, 85.5, 90.0, 91.7, 92.0, 95.0, 99.6, 100.0]),
    st.sampled_from([1, 7, 10_000]),
)
def test_ratio_blocks_equal_rapidfuzz_on_every_pair(
    queries: list[str], choices: list[str], threshold: float, budget: int
) -> None:
    # The bag-distance filter only drops pairs rapidfuzz scores 0: the blocks are the full
    # score matrix, in query order, whatever the block size.
    blocks = list(ratio_blocks(queries, choices, threshold=threshold, workers=1, budget=budget))
    assert [q for _, chunk, _ in blocks for q in chunk] == queries
    assert [start for start, _, _ in blocks] == [
        sum(len(c) for _, c, _ in blocks[:n]) for n in range(len(blocks))
    ]
    got = np.concatenate([scores for _, _, scores in blocks])
    want = process.cdist(
        queries, choices, scorer=fuzz.ratio, score_cutoff=threshold, dtype=np.uint8
    )
    np.testing.assert_array_equal(got, want)


def _resolve_reference(new: list[str], canonical: list[str], threshold: float) -> dict[str, str]:
    """resolve_near_duplicates as first written: every pair scored by rapidfuzz."""

    def first_variant(key: str, targets: list[str], row: np.ndarray) -> str | None:
        for j in sorted(np.flatnonzero(row), key=lambda j: -int(row[j])):
            if spelling_variant(key, targets[j]):
                return targets[j]
        return None

    def by_letter(keys: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for k in keys:
            out.setdefault(k[0], []).append(k)
        return out

    canon = sorted({k for k in canonical if k})
    fresh = sorted({k for k in new if k} - set(canon))
    result = {k: k for k in fresh}
    canon_by = by_letter(canon)
    for letter, block in by_letter(fresh).items():
        targets = canon_by.get(letter, [])
        orphans = []
        for n, key in enumerate(block):
            match = None
            if targets:
                row = process.cdist(
                    [key], targets, scorer=fuzz.ratio, score_cutoff=threshold, dtype=np.uint8
                )[0]
                match = first_variant(key, targets, row)
            if match is None:
                orphans.append((n, key))
            else:
                result[key] = match
        for n, key in orphans:
            row = process.cdist(
                [key], block, scorer=fuzz.ratio, score_cutoff=threshold, dtype=np.uint8
            )[0]
            row[n:] = 0
            match = first_variant(key, block, row)
            if match is not None:
                result[key] = match
    out = {}
    for key, target in result.items():
        seen = {key}
        while target in result and result[target] != target and target not in seen:
            seen.add(target)
            target = result[target]
        out[key] = target
    return out


_KEY_CHARS = st.sampled_from([*"ACEKMNORST", " ", "Ж"])  # polars holds no lone surrogate


@settings(max_examples=300, deadline=None)
@given(_near_strings(_KEY_CHARS), st.data(), st.sampled_from([80.0, 85.5, 92.0, 95.0]))
def test_resolution_equals_scoring_every_pair(
    pool: list[str], data: st.DataObject, threshold: float
) -> None:
    # Spelling variants on both sides: some new keys merge onto canonical ones, some onto
    # each other, some stay.
    cut = data.draw(st.integers(0, len(pool)))
    canonical, new = pool[:cut], pool[cut:]
    want = _resolve_reference(new, canonical, threshold)
    out = resolve_near_duplicates(new, canonical, threshold=threshold, workers=1)
    assert dict(out.iter_rows()) == want
    # The same with the canonical keys prepared and matches memoised by an earlier call.
    prepared, memo = CanonicalKeys(canonical), {}
    resolve_near_duplicates(new[::2], prepared, threshold=threshold, canonical_matches=memo)
    out = resolve_near_duplicates(new, prepared, threshold=threshold, canonical_matches=memo)
    assert dict(out.iter_rows()) == want


@settings(max_examples=300, deadline=None)
@given(st.text(_CHARS, max_size=40), st.text(_CHARS, max_size=40))
def test_bag_distance_is_a_lower_bound_of_the_indel_distance(a: str, b: str) -> None:
    (ca, cb), lengths = bucket_counts([a, b])
    assert list(lengths) == [len(a), len(b)]
    bag = int(np.abs(ca.astype(np.int64) - cb.astype(np.int64)).sum())
    assert bag <= Indel.distance(a, b)


def test_ratio_blocks_with_more_candidates_than_the_filter_holds() -> None:
    # More near choices for one query than the kernel keeps: that query is compared with
    # every choice.
    queries = ["ACME TRADING", "ZETA", "ACME TRADNG"]
    choices = ["ACME TRADING"] * (CAPACITY + 3) + ["ACME TRADINGS", "ZETA", "OTHER"] * 4
    got = np.concatenate(
        [s for _, _, s in ratio_blocks(queries, choices, threshold=92.0, workers=1, budget=64)]
    )
    want = process.cdist(queries, choices, scorer=fuzz.ratio, score_cutoff=92.0, dtype=np.uint8)
    np.testing.assert_array_equal(got, want)
    assert (got[0] > 0).sum() > CAPACITY


_WORDS = st.sampled_from(["LTD", "CO", "THE", "AND", "ACME", "ÄCME", "Ω", "A", "AB", "B", ""])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.lists(_WORDS, max_size=40).map(" ".join),  # past the kernel's 16 words
            st.text(alphabet=st.sampled_from(list("AB Ωä ")), max_size=12),
        ),
        max_size=20,
    )
)
def test_sorted_token_keys_are_the_list_expression(values: list[str | None]) -> None:
    # Repeated, dropped, empty (two spaces) and non-ASCII words, rows of dropped words only.
    drop = LEGAL_FORMS | {"THE", "AND"}
    series = pl.Series("n", values, dtype=pl.String)
    tokens = pl.col("n").str.split(" ")
    dropped = pl.lit(sorted(drop), dtype=pl.List(pl.String))
    kept = tokens.list.filter(~pl.element().is_in(dropped.first()))
    chosen = pl.when(kept.list.len() > 0).then(kept).otherwise(tokens)
    expected = series.to_frame().select(chosen.list.unique().list.sort().list.join(" "))
    assert_series_equal(sorted_token_keys(series, drop), expected.to_series())


def test_party_key_values_are_party_key() -> None:
    names = [
        "Acme Trading Co., Ltd.",
        "TRADING ACME LIMITED",
        "ТОО Акме",
        "Müller & Söhne GmbH.",
        "CO LTD",
        "the the and",
        "  ",
        None,
        "Zeta Alpha Zeta",
        "北京 贸易 有限公司",
        " ".join(f"W{i % 23}" for i in range(60)),
    ]
    series = pl.Series("name", names, dtype=pl.String)
    expected = series.to_frame().select(party_key(pl.col("name"))).to_series()
    assert_series_equal(party_key_values(series), expected)
    assert party_keys(pl.Series("n", names * 3)).to_list() == expected.to_list() * 3


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(alphabet=st.sampled_from(list("aZ9 .&'`-,\t_(/")), max_size=16),
            st.text(st.characters(codec="utf-8"), max_size=10),
            st.sampled_from(["Müller & Söhne GmbH.", "ТОО «Акме»", "O’Brien & Co.", "  ", ""]),
        ),
        max_size=25,
    )
)
def test_normalised_names_are_normalise_name(values: list[str | None]) -> None:
    # ASCII names take the compiled pass, the others the expression: one result.
    series = pl.Series("name", values, dtype=pl.String)
    expected = series.to_frame().select(normalise_name(pl.col("name"))).to_series()
    assert_series_equal(normalised_names(series), expected)
