"""Score distinct party names against a compiled list (:class:`ListIndex`), with a reason.

For a manifest name and a listed name the words are aligned one to one: each listed word
with its best manifest word, identical, misspelt (edit distance within a budget that grows
with the word's length) or spelt by another transliteration (same spelling fold). Then

    score = 100 × matched weight / (listed weight + extra weight)
            − 60 × weighted edits / weight of the listed name's distinctive words
            − 1 per ignored generic extra word, at most 3 (4 for a 3-4 letter name)

where a word weighs its letters (half for a generic word), a missing listed word simply is
not matched, and an extra manifest word weighs its letters unless it is generic and the
listed name is distinctive enough to ignore it (``_screen_list.DISTINCT_LETTERS``). Edits
are priced against the distinctive words (never less than half the name), so one typo
keeps a six-letter name at 90 and leaves a five-letter one at 88: a short name needs a
closer match. A second view compares the names with spaces removed (generic extra words
dropped when they may be ignored), within two edits, at ``60 × (edits + ½) / letters``:
merged and split words. The better view is the score.

Candidates come from joins, not all-pairs comparison: manifest words are matched to list
words through a symmetric-deletion index and spelling folds, and a manifest name is scored
only against list names sharing an *anchor* word (or a merged / split pair) with it. Among
the list names a manifest name matches, the highest score wins, then the one that explains
more of the manifest name (``BANK MELLI IRAN FZE`` names ``BANK MELLI IRAN``, not
``MELLI BANK``), then the longer listed name.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import OSA

from engine._screen_list import DISTINCT_LETTERS, ListIndex, folds, is_generic
from engine._screen_text import ARTICLES, deletion_matches, edit_budget, generic_words

EDIT_POINTS = 60.0
"""Score points one edit costs in a name of one letter (per letter of the listed name's
distinctive words): 10 in a six-letter name, 5 in twelve letters."""
SPACING_EDITS = 0.5
SPELLING_DISCOUNT = 0.5
"""A difference the narrow spelling fold explains (a transliteration convention: RABYTA /
RABITA, TROUST / TRUST, TEKH / TECH) costs this share of an edit."""
GENERIC_EXTRA_COST = 1.0
SHORT_EXTRA_COST = 4.0
GENERIC_EXTRA_MAX = 3
RESULT_SCHEMA = {
    "key": pl.String,
    "score": pl.Float64,
    "entry": pl.String,
    "match": pl.String,
}


def screen_keys(keys: pl.Series, index: ListIndex, *, floor: float, workers: int) -> pl.DataFrame:
    """Best list match of each distinct screening key scoring at least ``floor``:
    ``key, score, entry, match`` (the explanation). Keys below the floor are absent."""
    keys = keys.drop_nulls().unique()
    if keys.len() == 0 or index.names.height == 0:
        return pl.DataFrame(schema=RESULT_SCHEMA)
    batch = _batch_words(keys)
    pairs = _batch_pairs(batch)
    similar = _similar_words(batch["btok"].unique(), pairs["btok"].unique(), index, workers)
    candidates = _candidates(batch, pairs, similar, index)
    if candidates.height == 0:
        return pl.DataFrame(schema=RESULT_SCHEMA)
    aligned = _align(candidates, batch, similar, index)
    # most candidates share one common word and can never reach the floor: drop them
    # before the per-word work (the whole-name view keeps every candidate)
    promising = _promising(aligned, index, floor)
    aligned = aligned.join(promising, on=["key", "lid"], how="semi")
    scored = pl.concat(
        [
            _token_view(promising, aligned, batch, index),
            _compact_view(candidates, batch, index, workers),
        ],
        how="diagonal_relaxed",
    )
    best = _best(scored, index).filter(pl.col("score") >= floor)
    return _explain(best, aligned, batch, index)


def _batch_words(keys: pl.Series) -> pl.DataFrame:
    """Manifest words by key. Keys keep THE and AND (they may be run into the next word);
    as words of their own they are neither matched nor extra."""
    generic = sorted(generic_words())
    words = (
        keys.to_frame("key")
        .with_columns(pl.col("key").str.split(" ").alias("btok"))
        .explode("btok")
        .with_columns(pl.col("btok").is_in(sorted(ARTICLES)).alias("article"))
    )
    spelt = words.group_by("key", maintain_order=True).agg(
        pl.col("btok").str.join("").alias("spelt")
    )
    return (
        words.filter(~pl.col("article") | pl.col("article").all().over("key"))
        .with_columns(
            pl.int_range(pl.len()).over("key").alias("bpos"),
            pl.int_range(pl.len()).over("key", "btok").alias("bocc"),
            pl.col("btok").str.len_chars().alias("blen"),
        )
        .with_columns(is_generic(pl.col("btok"), generic).alias("bgeneric"))
        .join(spelt, on="key")
    )


def _batch_pairs(batch: pl.DataFrame) -> pl.DataFrame:
    """Adjacent manifest words run together (``RADIOTEKH SNAB`` -> ``RADIOTEKHSNAB``)."""
    return (
        batch.with_columns(pl.col("btok").shift(-1).over("key").alias("next"))
        .drop_nulls("next")
        .select("key", "bpos", (pl.col("btok") + pl.col("next")).alias("btok"))
    )


def _similar_words(
    singles: pl.Series, joined: pl.Series, index: ListIndex, workers: int
) -> pl.DataFrame:
    """``btok, ltok, dist, cost, how`` for every manifest word (or adjacent pair) and list
    word (or adjacent pair) that are the same word: identical, misspelt within the edit
    budget of the listed word, or equal after the spelling fold."""
    length = pl.col("word").str.len_chars()
    by_deletion = (
        pl.concat(
            [
                deletion_matches(singles, edit_budget(length), index.variants),
                deletion_matches(
                    joined, pl.min_horizontal(edit_budget(length), pl.lit(1)), index.variants
                ),
            ]
        )
        .unique()
        .select(pl.col("word").alias("btok"), pl.col("word_right").alias("ltok"))
    )
    batch_folds = folds(singles)
    spellings = [
        batch_folds.drop_nulls(kind)
        .join(index.folds.drop_nulls(kind), on=kind)
        .select(pl.col("word").alias("btok"), pl.col("word_right").alias("ltok"))
        .with_columns(pl.lit(kind).alias("fold"))
        for kind in ("narrow", "broad")
    ]
    pairs = pl.concat([by_deletion.with_columns(pl.lit(None, pl.String).alias("fold")), *spellings])
    # a narrow fold match wins over a broad one
    pairs = pairs.group_by("btok", "ltok").agg(
        pl.col("fold").drop_nulls().sort(descending=True).first()
    )
    dist = process.cpdist(
        pairs["btok"].to_list(),
        pairs["ltok"].to_list(),
        scorer=OSA.distance,
        dtype=np.int32,
        workers=workers,
    )
    llen = pl.col("ltok").str.len_chars().cast(pl.Int64)
    apart = (pl.col("btok").str.len_chars().cast(pl.Int64) - llen).abs()
    # A narrow fold (transliteration convention) costs half an edit per two letters that
    # differ; a broad fold (vowels, voicing) a full one, and only up to a third of the
    # letters with lengths close. Either lets a word differ by more than its typo budget.
    narrow = (pl.col("fold") == "narrow") & (pl.col("dist") > 0)
    broad = (
        (pl.col("fold") == "broad")
        & (pl.col("dist") > 0)
        & (pl.col("dist") <= pl.max_horizontal(2, llen // 3))
        & (apart <= pl.max_horizontal(2, llen // 4))
    )
    spelt = narrow | broad
    spelt_cost = pl.max_horizontal(1.0, pl.col("dist") / 2) * pl.when(narrow).then(
        SPELLING_DISCOUNT
    ).otherwise(1.0)
    typo = pl.col("dist") <= edit_budget(llen)
    cost = pl.min_horizontal(
        pl.when(typo).then(pl.col("dist").cast(pl.Float64)),
        pl.when(spelt).then(spelt_cost),
    )
    return (
        pairs.with_columns(pl.Series("dist", np.asarray(dist, dtype=np.int32)))
        .with_columns(cost.alias("cost"))
        .drop_nulls("cost")
        .with_columns(
            pl.when(pl.col("dist") == 0)
            .then(pl.lit("same"))
            .when(typo & (pl.col("cost") >= pl.col("dist")))
            .then(pl.lit("typo"))
            .otherwise(pl.lit("spelling"))
            .alias("how"),
        )
        .select("btok", "ltok", "dist", "cost", "how")
    )


def _candidates(
    batch: pl.DataFrame, pairs: pl.DataFrame, similar: pl.DataFrame, index: ListIndex
) -> pl.DataFrame:
    """``key, lid`` sharing an anchor word, or with a manifest word that is a listed pair
    (holding an anchor) run together, or a manifest pair run together that is a listed
    anchor word."""
    words = batch.select("key", "btok").unique()
    anchors = index.tokens.filter("anchor").select("lid", "ltok")
    joined = index.compounds.filter("anchored").select("lid", "ltok")
    via_anchor = words.join(similar, on="btok").join(anchors, on="ltok")
    merged = words.join(similar, on="btok").join(joined, on="ltok")
    split = pairs.select("key", "btok").join(similar, on="btok").join(anchors, on="ltok")
    return pl.concat([f.select("key", "lid") for f in (via_anchor, merged, split)]).unique()


def _align(
    candidates: pl.DataFrame, batch: pl.DataFrame, similar: pl.DataFrame, index: ListIndex
) -> pl.DataFrame:
    """One-to-one word alignment per (key, lid): each manifest word keeps its best listed
    word, then each listed word its best manifest word (fewest edits, then position)."""
    # candidate x listed word, joined to the (few) listed words each manifest word resembles
    resembles = batch.select("key", "bpos", "bocc", "btok", "blen").join(similar, on="btok")
    rows = candidates.join(
        index.tokens.select("lid", "pos", "locc", "ltok", "w", "g"), on="lid"
    ).join(resembles, on=["key", "ltok"])
    # a repeated word pairs its n-th occurrences; otherwise nearer positions first
    order = [
        pl.col("cost"),
        pl.col("bocc") != pl.col("locc"),
        (pl.col("bpos") - pl.col("pos")).abs(),
    ]
    return (
        rows.sort([*order, pl.col("pos")])
        .unique(["key", "lid", "bpos"], keep="first", maintain_order=True)
        .sort([*order, pl.col("bpos")])
        .unique(["key", "lid", "pos"], keep="first", maintain_order=True)
    )


def _promising(aligned: pl.DataFrame, index: ListIndex, floor: float) -> pl.DataFrame:
    """``key, lid`` whose matched weight alone (no edits, no extra words: an upper bound
    of the word view's score) reaches ``floor``."""
    return (
        aligned.group_by("key", "lid")
        .agg(pl.col("w").sum().alias("mw"))
        .join(index.names.select("lid", "lw"), on="lid")
        .filter(100 * pl.col("mw") / pl.col("lw") >= floor)
        .select("key", "lid")
    )


def _token_view(
    candidates: pl.DataFrame, aligned: pl.DataFrame, batch: pl.DataFrame, index: ListIndex
) -> pl.DataFrame:
    matched = aligned.group_by("key", "lid").agg(
        pl.col("w").sum().alias("mw"),
        (pl.col("cost") * pl.col("g")).sum().alias("ew"),
        pl.col("blen").sum().alias("mb"),
    )
    extras = (
        _extras(candidates, aligned, batch, index)
        .group_by("key", "lid")
        .agg(
            pl.col("blen").filter(~pl.col("ignored")).sum().alias("xw"),
            pl.col("ignored").sum().alias("ignored"),
        )
    )
    ignored = pl.min_horizontal(pl.col("ignored").fill_null(0), GENERIC_EXTRA_MAX)
    per_extra = (
        pl.when(pl.col("distinct_letters") >= DISTINCT_LETTERS)
        .then(GENERIC_EXTRA_COST)
        .otherwise(SHORT_EXTRA_COST)
    )
    score = (
        100 * pl.col("mw") / (pl.col("lw") + pl.col("xw").fill_null(0))
        - EDIT_POINTS * pl.col("ew") / pl.col("core")
        - per_extra * ignored
    )
    return (
        matched.join(extras, on=["key", "lid"], how="left")
        .join(index.names.select("lid", "lw", "core", "distinct_letters"), on="lid")
        .select(
            "key", "lid", score.clip(0, 100).alias("score"), "mb", pl.lit("words").alias("view")
        )
    )


def _extras(
    candidates: pl.DataFrame, aligned: pl.DataFrame, batch: pl.DataFrame, index: ListIndex
) -> pl.DataFrame:
    """Manifest words no listed word matched, and whether each may be ignored."""
    return (
        candidates.join(batch.select("key", "bpos", "btok", "blen", "bgeneric"), on="key")
        .join(aligned.select("key", "lid", "bpos"), on=["key", "lid", "bpos"], how="anti")
        .join(index.names.select("lid", "gate"), on="lid")
        .with_columns((pl.col("bgeneric") & pl.col("gate")).alias("ignored"))
    )


def _compact_view(
    candidates: pl.DataFrame, batch: pl.DataFrame, index: ListIndex, workers: int
) -> pl.DataFrame:
    """Names compared with spaces removed (merged and split words), within two edits;
    a spacing difference costs half an edit."""
    spelled = batch.group_by("key").agg(
        pl.col("spelt").first().alias("spelt"),
        pl.col("btok").str.join("").alias("all"),
        pl.col("btok").filter(~pl.col("bgeneric")).str.join("").alias("core"),
        pl.col("bgeneric").sum().alias("generic_words"),
        pl.col("blen").sum().alias("letters"),
        pl.col("blen").filter(~pl.col("bgeneric")).sum().alias("core_letters"),
    )
    listed = index.names.select("lid", "compact", "compact_articles", "key", "gate")
    rows = candidates.join(spelled, on="key").join(listed.rename({"key": "lkey"}), on="lid")
    # the distance budget is two edits: names of very different lengths cannot be close
    near = [
        (pl.col(b).str.len_chars().cast(pl.Int64) - pl.col(c).str.len_chars()).abs() <= 2
        for b, c in (("all", "compact"), ("spelt", "compact_articles"), ("core", "compact"))
    ]
    rows = rows.filter(pl.any_horizontal(near))
    if rows.height == 0:
        return pl.DataFrame()
    rows = rows.with_columns(
        pl.min_horizontal(
            _distance(rows["all"], rows["compact"], workers),
            _distance(rows["spelt"], rows["compact_articles"], workers),
        ).alias("d_all"),
        _distance(rows["core"], rows["compact"], workers).alias("d_core"),
    )
    use_core = pl.col("gate") & (pl.col("d_core") < pl.col("d_all")) & (pl.col("core") != "")
    length = pl.col("compact").str.len_chars()
    d = pl.when(use_core).then("d_core").otherwise("d_all")
    score = (
        100
        - EDIT_POINTS * (d + SPACING_EDITS) / length
        - pl.when(use_core)
        .then(pl.min_horizontal("generic_words", GENERIC_EXTRA_MAX) * GENERIC_EXTRA_COST)
        .otherwise(0)
    )
    return rows.filter((pl.col("key") != pl.col("lkey")) & (d <= edit_budget(length))).select(
        "key",
        "lid",
        score.clip(0, 100).alias("score"),
        pl.when(use_core).then("core_letters").otherwise("letters").alias("mb"),
        pl.lit("spacing").alias("view"),
        pl.when(use_core).then("d_core").otherwise("d_all").alias("edits"),
    )


def _distance(a: pl.Series, b: pl.Series, workers: int) -> pl.Series:
    dist = process.cpdist(
        a.fill_null("").to_list(), b.to_list(), scorer=OSA.distance, dtype=np.int32, workers=workers
    )
    return pl.Series(np.asarray(dist, dtype=np.int32))


def _best(scored: pl.DataFrame, index: ListIndex) -> pl.DataFrame:
    """Per key the best (key, lid): score, then manifest letters explained, then the
    longer listed name, then entry (a stable tie-break)."""
    return (
        scored.join(index.names.select("lid", "entry", "lw"), on="lid")
        .sort(
            ["key", "score", "mb", "lw", "entry"],
            descending=[False, True, True, True, False],
        )
        .unique("key", keep="first", maintain_order=True)
    )


def _explain(
    best: pl.DataFrame, aligned: pl.DataFrame, batch: pl.DataFrame, index: ListIndex
) -> pl.DataFrame:
    """``key, score, entry, match``: the listed name as written, then which words matched,
    which differed and how, which listed words are missing and which manifest words extra."""
    pairs = best.select("key", "lid")
    words = aligned.join(pairs, on=["key", "lid"]).sort("key", "pos")
    edits = pl.col("dist").cast(pl.String) + pl.when(pl.col("dist") == 1).then(
        pl.lit(" edit)")
    ).otherwise(pl.lit(" edits)"))
    differed = pl.col("btok") + "~" + pl.col("ltok") + " ("
    differed = (
        pl.when(pl.col("how") == "spelling")
        .then(differed + "spelling)")
        .otherwise(differed + edits)
    )
    by_word = words.group_by("key", maintain_order=True).agg(
        _joined(pl.col("ltok").filter(pl.col("how") == "same"), "matched ", ", ").alias("matched"),
        _joined(differed.filter(pl.col("how") != "same"), "", "; ").alias("differed"),
    )
    missing = (
        pairs.join(index.tokens.select("lid", "pos", "ltok"), on="lid")
        .join(words.select("key", "lid", "pos"), on=["key", "lid", "pos"], how="anti")
        .sort("key", "pos")
        .group_by("key", maintain_order=True)
        .agg(_joined(pl.col("ltok"), "missing ", ", ").alias("missing"))
    )
    extra = (
        _extras(pairs, words, batch, index)
        .sort("key", "bpos")
        .group_by("key", maintain_order=True)
        .agg(
            _joined(pl.col("btok").filter("ignored"), "extra ", ", ", " (ignored)").alias("xi"),
            _joined(pl.col("btok").filter(~pl.col("ignored")), "extra ", ", ").alias("xc"),
        )
    )
    spacing = _spacing_text(best, index)
    listed = pl.lit("'") + pl.col("listed") + pl.lit("': ")
    parts = ["matched", "differed", "missing", "xc", "xi"]
    text = (
        pl.when(pl.col("view") == "spacing")
        .then(pl.col("spacing"))
        .otherwise(pl.concat_str([pl.col(p) for p in parts], separator="; ", ignore_nulls=True))
    )
    return (
        best.join(index.names.select("lid", "listed"), on="lid")
        .join(by_word, on="key", how="left")
        .join(missing, on="key", how="left")
        .join(extra, on="key", how="left")
        .join(spacing, on="key", how="left")
        .select(
            "key",
            pl.col("score").round(1),
            "entry",
            (listed + pl.when(text == "").then(pl.lit("same words")).otherwise(text)).alias(
                "match"
            ),
        )
    )


def _joined(values: pl.Expr, prefix: str, separator: str, suffix: str = "") -> pl.Expr:
    """``prefix`` + the values joined + ``suffix``, or null when there are none."""
    text = values.str.join(separator)
    return pl.when(text != "").then(pl.lit(prefix) + text + pl.lit(suffix))


def _spacing_text(best: pl.DataFrame, index: ListIndex) -> pl.DataFrame:
    spaced = best.filter(pl.col("view") == "spacing")
    if spaced.height == 0:
        return pl.DataFrame(schema={"key": pl.String, "spacing": pl.String})
    # words on the manifest vs in the listed name, articles included on both sides
    gap = pl.col("key").str.count_matches(" ").cast(pl.Int64) - pl.col("spelt_words")
    edits = pl.col("edits").cast(pl.Int64)
    listed = index.names.select("lid", pl.col("key").alias("lkey"), "spelt_words")
    return spaced.join(listed, on="lid").select(
        "key",
        (
            pl.col("key")
            + "~"
            + pl.col("lkey")
            + pl.when(gap < 0)
            .then(pl.lit(" (written together"))
            .when(gap > 0)
            .then(pl.lit(" (written apart"))
            .otherwise(pl.lit(" (whole name"))
            + pl.when(edits == 0)
            .then(pl.lit(")"))
            .when(edits == 1)
            .then(pl.lit(", 1 edit)"))
            .otherwise(pl.lit(", ") + edits.cast(pl.String) + pl.lit(" edits)"))
        ).alias("spacing"),
    )


EXPLANATION_RU: tuple[tuple[str, str], ...] = (
    (r"(': |; )matched ", "${1}совпали: "),
    (r"(': |; )missing ", "${1}не хватает: "),
    (r"(': |; )extra ", "${1}лишние: "),
    (r" \(ignored\)$", " (не учтены)"),
    (r"~(\S+) \(spelling\)", "~${1} (вариант написания)"),
    (r" \((\d+) edits?\)", " (правок: ${1})"),
    (r"(': )same words$", "${1}те же слова"),
    (r" \(written together", " (слитно"),
    (r" \(written apart", " (раздельно"),
    (r" \(whole name", " (имя целиком"),
    (r", (\d+) edits?\)$", ", правок: ${1})"),
)
"""The words of a match explanation (:func:`_explain`, :func:`_spacing_text`) in Russian:
regular expressions over the English text (the names in it are upper case, the words lower
case, so only the explanation's own words are replaced)."""


def explanation_in(text: pl.Expr, locale: str) -> pl.Expr:
    """A ``watchlist_party_match`` explanation in ``locale`` (English as it is)."""
    if locale != "ru":
        return text
    for pattern, replacement in EXPLANATION_RU:
        text = text.str.replace_all(pattern, replacement)
    return text


def explanation_text(text: str, locale: str) -> str:
    """One explanation (a page's, the CLI's) in ``locale``, as :func:`explanation_in`."""
    if locale != "ru":
        return text
    for pattern, replacement in EXPLANATION_RU:
        text = re.sub(pattern, replacement.replace("${1}", r"\g<1>"), text)
    return text
