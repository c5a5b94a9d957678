"""Party identity: one stable key per shipper / consignee / notify party.

Manifests spell the same company many ways ("Acme Trading Co., Ltd.", "ACME TRADING LTD",
"Trading Acme Company Limited", "ТОО Акме Трейдинг"). ``party_key`` turns a name column into
a key that is equal for those spellings, in one vectorised polars expression:

1. Unicode NFKD, then combining marks dropped (``Müller`` → ``MULLER``);
2. upper case, Cyrillic transliterated to Latin (ICAO 9303 style, with the Kazakh and Uzbek
   letters used by IREN units), so ``ООО`` and ``OOO`` are the same token;
3. ``&`` → ``AND``; dots and apostrophes removed (``L.L.C.`` → ``LLC``, ``CO.`` → ``CO``);
   any other non-letter/digit becomes a space; whitespace collapsed;
4. legal-form tokens (:data:`LEGAL_FORMS`: LTD, LIMITED, LLC, CO, GMBH, OOO, TOO, SRL, SA,
   ...) and the article THE dropped, unless the name is nothing else;
5. the remaining tokens de-duplicated and sorted, joined by one space.

Step 5 makes the key insensitive to word order. Spelling variants (typos, transliteration
drift) are not equal after normalisation; :func:`resolve_near_duplicates` maps such keys onto
an existing canonical key with rapidfuzz (``ratio`` on the sorted-token keys, i.e. a
token-sort ratio), blocked by first letter so cost stays proportional to the new keys, and
only for the pairs a bag-distance bound (:mod:`engine._indel_bound`) leaves possible. The
history store runs it once per appended batch and persists the mapping, so a party keeps one
key for life.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

if TYPE_CHECKING:
    from engine._indel_bound import BagFilter

__all__ = [
    "LEGAL_FORMS",
    "CanonicalKeys",
    "normalise_name",
    "normalised_names",
    "party_key",
    "party_key_values",
    "party_keys",
    "resolve_near_duplicates",
    "spelling_variant",
]

LEGAL_FORMS: frozenset[str] = frozenset(
    {
        # English-speaking jurisdictions
        "LTD",
        "LIMITED",
        "LLC",
        "LLP",
        "LP",
        "INC",
        "INCORPORATED",
        "CORP",
        "CORPORATION",
        "CO",
        "COMPANY",
        "PLC",
        "PTE",
        "PTY",
        "PVT",
        "PRIVATE",
        # continental Europe
        "GMBH",
        "AG",
        "KG",
        "OHG",
        "UG",
        "SA",
        "SAS",
        "SARL",
        "SRL",
        "SPA",
        "BV",
        "NV",
        "AB",
        "AS",
        "OY",
        "KFT",
        "SRO",
        "DOO",
        "LTDA",
        "SL",
        "EIRL",
        "SPZOO",
        # CIS / IREN (transliterated): OOO, ZAO, OAO, PAO, AO, TOO (Kazakhstan),
        # ZHSHS (Kazakh LLP), MCHJ (Uzbek LLC), AJ (Uzbek JSC), XK / QK (Uzbek private /
        # joint enterprise), IP (sole trader)
        "OOO",
        "ZAO",
        "OAO",
        "PAO",
        "AO",
        "TOO",
        "ZHSHS",
        "MCHJ",
        "AJ",
        "XK",
        "QK",
        "IP",
        # corporate-form abbreviations common on manifests
        "JSC",
        "PJSC",
        "CJSC",
        "OJSC",
        "FZE",
        "FZCO",
        "FZC",
        "FZLLC",
        "SDN",
        "BHD",
    }
)
"""Tokens dropped from party names: legal-form words carry no identity."""

_STOP_WORDS: frozenset[str] = frozenset({"THE", "AND"})

# Uppercase Cyrillic → Latin. Letters with a diacritic (Ё, Й, Ў) arrive here already
# decomposed by NFKD and stripped of the mark, so they need no entry of their own.
_CYRILLIC: dict[str, str] = {
    "А": "A",
    "Б": "B",
    "В": "V",
    "Г": "G",
    "Д": "D",
    "Е": "E",
    "Ж": "ZH",
    "З": "Z",
    "И": "I",
    "К": "K",
    "Л": "L",
    "М": "M",
    "Н": "N",
    "О": "O",
    "П": "P",
    "Р": "R",
    "С": "S",
    "Т": "T",
    "У": "U",
    "Ф": "F",
    "Х": "KH",
    "Ц": "TS",
    "Ч": "CH",
    "Ш": "SH",
    "Щ": "SHCH",
    "Ъ": "",
    "Ы": "Y",
    "Ь": "",
    "Э": "E",
    "Ю": "YU",
    "Я": "YA",
    "Ә": "A",
    "Ғ": "G",
    "Қ": "Q",
    "Ң": "N",
    "Ө": "O",
    "Ұ": "U",
    "Ү": "U",
    "Һ": "H",
    "І": "I",
    "Ҳ": "H",
    "Є": "E",
    "Ї": "I",
    "Ґ": "G",
}


def normalise_name(expr: pl.Expr) -> pl.Expr:
    """Normalise a party-name column to upper-case Latin words separated by one space.

    Word order is kept and legal forms are not removed (see :func:`party_key` for the key).
    Null, empty and punctuation-only names give null.

    >>> pl.select(normalise_name(pl.lit("Müller & Söhne GmbH."))).item()
    'MULLER AND SOHNE GMBH'
    """
    text = (
        expr.cast(pl.String)
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_uppercase()
        .str.replace_many(list(_CYRILLIC), list(_CYRILLIC.values()))
        .str.replace_all("&", " AND ", literal=True)
        .str.replace_all(r"[.'`’]", "")
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
    )
    return pl.when(text.str.len_bytes() > 0).then(text).otherwise(None)


def party_key(expr: pl.Expr) -> pl.Expr:
    """Stable identity key of a party name: normalised, legal forms dropped, tokens sorted.

    >>> names = pl.Series(["Acme Trading Co., Ltd.", "TRADING ACME LIMITED", "ТОО Акме"])
    >>> pl.select(party_key(pl.lit(names))).to_series().to_list()
    ['ACME TRADING', 'ACME TRADING', 'AKME']
    """
    tokens = normalise_name(expr).str.split(" ")
    dropped = pl.lit(sorted(LEGAL_FORMS | _STOP_WORDS), dtype=pl.List(pl.String))
    kept = tokens.list.filter(~pl.element().is_in(dropped.first()))
    # A name made only of legal forms ("CO LTD") keeps them rather than becoming empty.
    chosen = pl.when(kept.list.len() > 0).then(kept).otherwise(tokens)
    return chosen.list.unique().list.sort().list.join(" ")


def party_key_values(names: pl.Series) -> pl.Series:
    """:func:`party_key` of each value of ``names``: ASCII names normalised and every key's
    words sorted by compiled passes (:func:`normalised_names`,
    :func:`engine.kernels.sorted_token_keys`) instead of regular expressions and polars' list
    operations — the same keys (tests compare both), in about a seventh of the time on a
    manifest's names."""
    from engine.kernels import sorted_token_keys  # numba: not at import (start-up)

    return sorted_token_keys(normalised_names(names), LEGAL_FORMS | _STOP_WORDS).alias(names.name)


def normalised_names(names: pl.Series) -> pl.Series:
    """:func:`normalise_name` of each value: ASCII names (most of a manifest's) by one
    compiled pass (:func:`engine.kernels.normalise_ascii_names`), the others by the
    expression itself; the same text (a test compares both)."""
    from engine.kernels import normalise_ascii_names  # numba: not at import (start-up)

    text = names.cast(pl.String)
    normal, ascii_only = normalise_ascii_names(text)
    others = (~ascii_only & text.is_not_null()).arg_true()
    if others.len() == 0:
        return normal
    rest = text.gather(others).to_frame("name").select(normalise_name(pl.col("name")))
    return normal.scatter(others, rest.to_series())


def party_keys(names: pl.Series) -> pl.Series:
    """:func:`party_key` of a name column, computed once per distinct name.

    Manifests repeat the same few thousand names over millions of rows, so normalising the
    distinct values and joining back is much cheaper than normalising every row.
    """
    frame = names.cast(pl.String).to_frame("name")
    distinct = frame.unique()
    distinct = distinct.with_columns(party_key_values(distinct["name"]).alias("key"))
    joined = frame.join(distinct, on="name", how="left", maintain_order="left", nulls_equal=True)
    return joined["key"].alias(names.name)


class CanonicalKeys:
    """Canonical keys as :func:`resolve_near_duplicates` reads them (sorted, as a set, by
    first letter), prepared once for callers that resolve many sets of keys against the
    same canonical keys."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.sorted, self.by_letter = _sorted_by_first_letter(keys)
        self.set = frozenset(self.sorted)
        self._bags: dict[tuple[str, float], BagFilter] = {}

    def bag(self, letter: str, threshold: float) -> BagFilter:
        """The bag-distance filter of the keys under ``letter`` (built once per threshold)."""
        from engine._indel_bound import BagFilter  # numba: imported when first needed

        bag = self._bags.get((letter, threshold))
        if bag is None:
            bag = self._bags[(letter, threshold)] = BagFilter(self.by_letter[letter], threshold)
        return bag


def resolve_near_duplicates(
    new_keys: Iterable[str],
    canonical_keys: Iterable[str] | CanonicalKeys,
    *,
    threshold: float = 92.0,
    workers: int = 2,
    canonical_matches: dict[str, str | None] | None = None,
) -> pl.DataFrame:
    """Map party keys onto near-duplicate canonical keys.

    Each key in ``new_keys`` that is not itself canonical is compared (rapidfuzz ``ratio``
    on the sorted-token keys) with the canonical keys and with the other new keys that share
    its first letter. It maps to the best canonical match scoring at least ``threshold``;
    failing that, to a new key earlier in sorted order (so spelling variants seen together
    for the first time collapse onto one of them); otherwise to itself.

    A key's canonical match depends only on the key, the canonical keys and ``threshold``,
    not on the other new keys: ``canonical_matches`` (key → match, None for none), when
    given, is read and filled in so a key seen again by a later call with the same
    canonical keys and threshold is not compared with them again. The caller must drop it
    when either changes. The new keys among themselves are compared on every call.

    Returns a frame ``party_key, canonical_key`` with one row per distinct new key.
    """
    canon = (
        canonical_keys
        if isinstance(canonical_keys, CanonicalKeys)
        else CanonicalKeys(canonical_keys)
    )
    fresh, by_letter_fresh = _sorted_by_first_letter(k for k in new_keys if k not in canon.set)
    result: dict[str, str] = {k: k for k in fresh}
    if not fresh:
        return _mapping_frame(result)
    shared: dict[str, str | None] = {} if canonical_matches is None else canonical_matches
    # This call's own matches join the shared ones only once all are worked out: a call
    # running at the same time in another thread never reads a match half worked out.
    found: dict[str, str | None] = {}
    by_letter_canon = canon.by_letter
    for letter, block in by_letter_fresh.items():
        targets = by_letter_canon.get(letter, [])
        todo = [k for k in block if k not in shared]
        for key in todo:
            found[key] = None
        if todo and targets:
            for _, chunk, scores in ratio_blocks(
                todo,
                targets,
                threshold=threshold,
                workers=workers,
                budget=16_000_000,
                bag=canon.bag(letter, threshold),
            ):
                for i in np.flatnonzero(scores.max(axis=1, initial=0) > 0):  # keys with hits
                    found[chunk[i]] = _first_variant(chunk[i], targets, scores[i])
        # Keys without a canonical match may map to a new key before them in sorted order.
        position = {k: n for n, k in enumerate(block)}
        orphans = []
        for key in block:
            match = found[key] if key in found else shared[key]
            if match is None:
                orphans.append(key)
            else:
                result[key] = match
        if len(block) < 2 or not orphans:
            continue
        for _, chunk, scores in ratio_blocks(
            orphans, block, threshold=threshold, workers=workers, budget=16_000_000
        ):
            before = np.array([position[k] for k in chunk])[:, None]
            scores[np.arange(len(block))[None, :] >= before] = 0
            for i in np.flatnonzero(scores.max(axis=1, initial=0) > 0):
                match = _first_variant(chunk[i], block, scores[i])
                if match is not None:
                    result[chunk[i]] = match
    shared.update(found)
    return _mapping_frame(_compress(result))


def _sorted_by_first_letter(
    keys: Iterable[str | None],
) -> tuple[list[str], dict[str, list[str]]]:
    """The distinct non-empty ``keys`` in Python's order, and grouped by first letter.

    Sorted by polars (UTF-8 byte order is code point order, Python's order for str); keys
    sharing a first letter are then one run, cut from the list by run length."""
    values = pl.Series("key", list(keys), dtype=pl.String)
    distinct = values.filter(values.str.len_bytes() > 0).unique().sort()
    ordered: list[str] = distinct.to_list()
    runs = distinct.str.slice(0, 1).rle().struct.unnest()
    letters, lengths = runs["value"].to_list(), runs["len"].to_list()
    ends = runs["len"].cum_sum().to_list()
    groups = {
        letter: ordered[end - n : end]
        for letter, n, end in zip(letters, lengths, ends, strict=True)
    }
    return ordered, groups


def _first_variant(key: str, targets: list[str], scores: np.ndarray) -> str | None:
    """The target with the best nonzero score that passes :func:`spelling_variant` (ties:
    the earlier target), or None; a whole-string score alone never merges two parties."""
    hits = np.flatnonzero(scores)
    for j in sorted(hits, key=lambda j: -int(scores[j])):
        if spelling_variant(key, targets[j]):
            return targets[j]
    return None


def spelling_variant(a: str, b: str, *, token_cutoff: float = 80.0) -> bool:
    """True when the keys differ only by misspelt words, not by added or changed words.

    Every token on one side but not the other must pair with a similar token (ratio ≥
    ``token_cutoff``) on the other side: ``PACIFICO`` ~ ``PACIFIC`` merges, ``KANGDA`` vs
    ``GUANGDA`` or an extra word does not.
    """
    only_a = sorted(set(a.split()) - set(b.split()))
    only_b = sorted(set(b.split()) - set(a.split()))
    if len(only_a) != len(only_b):
        return False
    remaining = list(only_b)
    for token in only_a:
        match = process.extractOne(token, remaining, scorer=fuzz.ratio, score_cutoff=token_cutoff)
        if match is None:
            return False
        remaining.pop(match[2])
    return True


def _compress(mapping: dict[str, str]) -> dict[str, str]:
    """Follow chains a → b → c so every key points at its final canonical key."""
    out: dict[str, str] = {}
    for key in mapping:
        target = mapping[key]
        seen = {key}
        while target in mapping and mapping[target] != target and target not in seen:
            seen.add(target)
            target = mapping[target]
        out[key] = target
    return out


def _mapping_frame(mapping: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        {"party_key": list(mapping), "canonical_key": list(mapping.values())},
        schema={"party_key": pl.String, "canonical_key": pl.String},
    )


def ratio_blocks(
    queries: list[str],
    choices: list[str],
    *,
    threshold: float,
    workers: int,
    budget: int,
    bag: BagFilter | None = None,
) -> Iterator[tuple[int, list[str], np.ndarray]]:
    """``fuzz.ratio`` of every query against every choice, in blocks of queries whose uint8
    score matrix stays under ``budget`` bytes: yields (first query index, queries, scores).

    Scores below ``threshold`` are 0. Only the pairs that can reach it are given to rapidfuzz
    (the bag-distance filter of :mod:`engine._indel_bound`, ~1 pair in 10,000 on manifest
    party names); the others are 0 as rapidfuzz would have scored them. ``bag``: that
    filter of ``choices`` at ``threshold`` when the caller keeps one (built here otherwise).
    """
    from engine._indel_bound import MARGIN, BagFilter  # numba: imported when first needed

    step = max(1, budget // max(1, len(choices)))
    if not (MARGIN < threshold <= 100 and choices):
        bag = None  # rapidfuzz sees every pair
    elif bag is None:
        bag = BagFilter(choices, threshold)

    def every_pair(rows: list[str]) -> np.ndarray:
        return process.cdist(
            rows,
            choices,
            scorer=fuzz.ratio,
            score_cutoff=threshold,
            dtype=np.uint8,
            workers=workers,
        )

    for start in range(0, len(queries), step):
        chunk = queries[start : start + step]
        if bag is None:
            scores = every_pair(chunk)
        else:
            rows, cols, crowded = bag.candidates(chunk)
            scores = np.zeros((len(chunk), len(choices)), dtype=np.uint8)
            if len(crowded):
                scores[crowded] = every_pair([chunk[i] for i in crowded])
            if len(rows):
                scores[rows, cols] = process.cpdist(
                    [chunk[i] for i in rows],
                    [choices[j] for j in cols],
                    scorer=fuzz.ratio,
                    score_cutoff=threshold,
                    dtype=np.uint8,
                    # Threads cost more than they save on the few pairs left.
                    workers=workers if len(rows) > 100_000 else 1,
                )
        yield start, chunk, scores
