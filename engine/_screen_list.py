"""A watchlist's party names compiled once for screening (at list-load time, not per batch).

Per listed name (a primary name or an alias; every one names its entry): its words in
order, their weights, its joined-up spelling, and whether extra generic words on a
manifest may be ignored. Per word: whether it is generic, and whether it can *anchor* a
candidate (a rare, non-generic word: a manifest name is compared only with list names
that share an anchor, possibly misspelt). The symmetric-deletion variants and spelling
folds of the list's words are built here too, so a batch only expands its own new words.

Building it takes ~0.6 s of a run's start-up (the UN list, in a fresh process), on the
path to the first chunk scored, so where screening has a cache folder the built index is
kept there too (:meth:`ListIndex.load_or_build`, ``index/<key>/``, Parquet): the key covers
everything the build reads — the list's names, the generic words, the matcher's version,
the source of the modules that build it and the polars version — so a changed list or
matcher is a new folder, never a stale index.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from dataclasses import dataclass, fields
from pathlib import Path

import polars as pl

from engine._screen_text import deletions, edit_budget, fold, generic_words, screen_tokens
from engine.identity import fingerprint

MATCHER_VERSION = "3"
"""Bumped whenever scores or explanations change, so cached results are not reused."""

ANCHOR_MAX_NAMES = 25
"""A word found in more list names than this (AL, MOHAMMAD, KOREA) is a second anchor of
no name (see ``_anchor``)."""

COMMON_GIVEN_NAME_ENTRIES = 3
"""A word in this many listed individuals or more is a common given name: it does not make
a name distinctive enough to ignore extra words around it."""

DISTINCT_LETTERS = 5
"""Letters of distinctive words (neither generic nor common given names) a listed name
needs before extra generic words on a manifest cost only a point each (``CIMEX GROUP`` is
CIMEX). A person needs two such words, or a name of three words or more (``ALI OMAR
HOLDING`` is not the person ALI OMAR; ``CHO CHUN RYONG LOGISTICS`` may be his firm).
Entities with three or four such letters (``KOTI``, ``M23``) take extra generic words at
a higher price (``_screen_match.SHORT_EXTRA_COST``)."""

SHORT_DISTINCT_LETTERS = 3

GENERIC_WEIGHT = 0.5
"""Weight of a generic listed word (per letter) relative to a distinctive one."""


@dataclass(frozen=True)
class ListIndex:
    """Compiled party names of a watchlist (see the module docstring)."""

    names: pl.DataFrame
    tokens: pl.DataFrame
    compounds: pl.DataFrame
    variants: pl.DataFrame
    folds: pl.DataFrame
    version: str

    @classmethod
    def build(cls, parties: pl.DataFrame) -> ListIndex:
        """Compile ``parties`` (``entry, alias, party_type`` rows, one per name)."""
        generic = sorted(generic_words())
        names = (
            parties.select("entry", pl.col("alias").alias("listed"), "party_type")
            .with_columns(
                screen_tokens(pl.col("listed")).alias("words"),
                screen_tokens(pl.col("listed"), keep_articles=True).alias("spelt"),
            )
            .filter(pl.col("words").list.len() > 0)
            .unique(["entry", "words"], maintain_order=True)
            .sort("entry", "listed")
            .with_row_index("lid")
        )
        tokens = _tokens(names, generic)
        names = names.join(_name_weights(tokens), on="lid", how="left").with_columns(
            pl.col("words").list.join(" ").alias("key"),
            pl.col("words").list.join("").alias("compact"),
            pl.col("spelt").list.join("").alias("compact_articles"),
            (pl.col("spelt").list.len().cast(pl.Int64) - 1).alias("spelt_words"),
            _gate().alias("gate"),
        )
        compounds = _anchored(
            pl.concat([_pairs(names, "words"), _pairs(names, "spelt")]).unique(), tokens
        )
        # words within their edit budget; words run together within one edit (enough for
        # VABOESYSTEMS, and it keeps the index of a large list small)
        budget = edit_budget(pl.col("word").str.len_chars())
        variants = pl.concat(
            [
                deletions(tokens["ltok"].unique(), budget),
                deletions(compounds["ltok"].unique(), pl.min_horizontal(budget, 1)),
            ]
        ).unique()
        return cls(
            names=names.drop("words", "spelt"),
            tokens=tokens,
            compounds=compounds,
            variants=variants,
            folds=folds(tokens["ltok"].unique()),
            version=_version(names),
        )

    @classmethod
    def load_or_build(cls, parties: pl.DataFrame, cache_dir: Path | None) -> ListIndex:
        """:meth:`build` of ``parties``, read from ``cache_dir`` when it was built there
        before, else built and kept there (written atomically; a folder that cannot be read
        back is built again and replaced; a cache that cannot be written is only skipped)."""
        if cache_dir is None:
            return cls.build(parties)
        folder = Path(cache_dir) / INDEX_FOLDER / _build_key(parties)
        if folder.is_dir():
            cached = cls._read(folder)
            if cached is not None:
                return cached
            shutil.rmtree(folder, ignore_errors=True)  # cut short or damaged: built again
        index = cls.build(parties)
        with contextlib.suppress(OSError):  # a cache this process cannot write: skipped
            index._write(folder)
        return index

    @classmethod
    def _read(cls, folder: Path) -> ListIndex | None:
        try:
            version = (folder / "version").read_text(encoding="utf-8")
            tables = {name: pl.read_parquet(folder / f"{name}.parquet") for name in _TABLES}
        except (OSError, UnicodeDecodeError, pl.exceptions.PolarsError):
            return None
        if len(version) != 64:
            return None
        return cls(**tables, version=version)

    def _write(self, folder: Path) -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.tmp")
        tmp.mkdir()
        try:
            for name in _TABLES:
                getattr(self, name).write_parquet(tmp / f"{name}.parquet")
            (tmp / "version").write_text(self.version, encoding="utf-8")
            os.replace(tmp, folder)  # fails if another process wrote it first: theirs is kept
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if not folder.is_dir():
                raise


INDEX_FOLDER = "index"
"""The folder of a screening cache (beside its list-version folders) holding built indexes,
one folder per key."""

_TABLES = tuple(f.name for f in fields(ListIndex) if f.name != "version")
"""The frames of a :class:`ListIndex`, one Parquet file each in its cache folder."""

_BUILT_BY = ("_screen_list.py", "_screen_text.py", "parties.py")
"""The modules (in ``engine/``) whose code the index's build runs: part of its cache key."""


def _build_key(parties: pl.DataFrame) -> str:
    """The cache key of :meth:`ListIndex.build` of ``parties``: the names it reads, the
    generic words, the matcher's version, the building modules' source and polars'
    version."""
    here = Path(__file__).parent
    return fingerprint(
        "list-index\x1e",
        MATCHER_VERSION,
        "\x1e",
        pl.__version__,
        "\x1e",
        *[(here / name).read_bytes() for name in _BUILT_BY],
        "\x1e",
        _as_text(parties, ("entry", "alias", "party_type")),
        "\x1e",
        _generic_text(),
    )


def _pairs(names: pl.DataFrame, column: str) -> pl.DataFrame:
    """Adjacent listed words run together (``VABO SYSTEMS`` -> ``VABOSYSTEMS``)."""
    words = names.select("lid", pl.col(column).alias("first")).explode("first")
    return (
        words.with_columns(pl.col("first").shift(-1).over("lid").alias("second"))
        .drop_nulls("second")
        .select("lid", (pl.col("first") + pl.col("second")).alias("ltok"), "first", "second")
    )


def _anchored(pairs: pl.DataFrame, tokens: pl.DataFrame) -> pl.DataFrame:
    """Joined pairs, ``anchored`` when holding an anchor word of their name (only those
    find candidates: ``ABD AL`` run together must not make every ABDUL a candidate)."""
    anchors = tokens.filter("anchor").select("lid", "ltok").unique()
    holds = pl.concat(
        [
            pairs.join(anchors, left_on=["lid", part], right_on=["lid", "ltok"], how="semi")
            for part in ("first", "second")
        ]
    ).select("lid", "ltok", pl.lit(True).alias("anchored"))
    return (
        pairs.select("lid", "ltok")
        .unique()
        .join(holds.unique(), on=["lid", "ltok"], how="left")
        .with_columns(pl.col("anchored").fill_null(False))
    )


def is_generic(word: pl.Expr, generic: list[str]) -> pl.Expr:
    """A generic word: in :func:`generic_words`, or one or two letters (``HK``, ``AL``);
    a word with a digit (``M23``, ``39``) never is."""
    short = (word.str.len_chars() <= 2) & ~word.str.contains(r"\d")
    return word.is_in(generic) | short


def _tokens(names: pl.DataFrame, generic: list[str]) -> pl.DataFrame:
    exploded = (
        names.select("lid", "entry", "party_type", pl.col("words").alias("ltok"))
        .explode("ltok")
        .with_columns(pl.int_range(pl.len()).over("lid").alias("pos"))
        .with_columns(pl.int_range(pl.len()).over("lid", "ltok").alias("locc"))
    )
    in_names = exploded.group_by("ltok").agg(pl.col("lid").n_unique().alias("df"))
    given = (
        exploded.filter(pl.col("party_type") == "individual")
        .group_by("ltok")
        .agg(pl.col("entry").n_unique().alias("people"))
    )
    tokens = (
        exploded.join(in_names, on="ltok", how="left")
        .join(given, on="ltok", how="left")
        .with_columns(
            pl.col("ltok").str.len_chars().alias("llen"),
            is_generic(pl.col("ltok"), generic).alias("generic"),
            (pl.col("people").fill_null(0) >= COMMON_GIVEN_NAME_ENTRIES).alias("common"),
        )
        .with_columns(
            (pl.col("llen") * pl.when("generic").then(GENERIC_WEIGHT).otherwise(1.0)).alias("w"),
            pl.when("generic").then(GENERIC_WEIGHT).otherwise(1.0).alias("g"),
        )
    )
    return tokens.with_columns(_anchor().alias("anchor")).select(
        "lid", "pos", "locc", "ltok", "llen", "generic", "common", "w", "g", "anchor"
    )


def _anchor() -> pl.Expr:
    """A listed name's rarest word anchors it (distinctive words before generic ones, then
    the fewest list names, then the longest), and its second rarest too when that is
    distinctive and rare: a manifest name is scored against a listed name only when one of
    these anchors matches one of its words (possibly misspelt)."""
    order = (
        pl.struct(pl.col("generic"), pl.col("df"), -pl.col("llen").cast(pl.Int64), pl.col("pos"))
        .rank("ordinal")
        .over("lid")
    )
    rare = ~pl.col("generic") & (pl.col("df") <= ANCHOR_MAX_NAMES)
    return (order == 1) | ((order == 2) & rare)


def _name_weights(tokens: pl.DataFrame) -> pl.DataFrame:
    distinct = ~pl.col("generic") & ~pl.col("common")
    # edits are priced against the distinctive words (generic ones do not dilute a typo in
    # a short core), but never against less than half the whole name
    core = pl.max_horizontal(pl.col("w").filter(~pl.col("generic")).sum(), pl.col("w").sum() / 2)
    return tokens.group_by("lid").agg(
        pl.col("w").sum().alias("lw"),
        core.alias("core"),
        pl.len().alias("ln"),
        pl.col("llen").filter(distinct).sum().alias("distinct_letters"),
        distinct.sum().alias("distinct_words"),
    )


def _gate() -> pl.Expr:
    """Whether extra generic words next to this listed name may be ignored (see
    :data:`DISTINCT_LETTERS`)."""
    person = pl.col("party_type") == "individual"
    enough = (pl.col("distinct_letters") >= DISTINCT_LETTERS) & (pl.col("distinct_words") >= 2)
    entity_short = pl.col("distinct_letters") >= SHORT_DISTINCT_LETTERS
    return pl.when(person).then(enough | (pl.col("ln") >= 3)).otherwise(entity_short)


def folds(words: pl.Series) -> pl.DataFrame:
    """``word, narrow, broad``: the spelling folds of words of four letters or more. The
    broad fold is kept only for words of six letters or more whose fold keeps two letters
    (shorter words lose too much to it)."""
    frame = words.to_frame("word").filter(pl.col("word").str.len_chars() >= 4)
    broad = fold(pl.col("word"), broad=True)
    keep = (pl.col("word").str.len_chars() >= 6) & (broad.str.len_chars() >= 2)
    return frame.with_columns(
        fold(pl.col("word")).alias("narrow"),
        pl.when(keep).then(broad).alias("broad"),
    )


def _version(names: pl.DataFrame) -> str:
    """Content fingerprint of what screening reads from the list (entries, names, types),
    of the generic words and of the matcher's own version: the cache key of screening
    results. Text, not polars row hashes, so it is the same across polars versions."""
    return fingerprint(
        MATCHER_VERSION,
        "\x1e",
        _as_text(names, ("entry", "listed", "party_type")),
        "\x1e",
        _generic_text(),
    )


def _as_text(frame: pl.DataFrame, columns: tuple[str, ...]) -> str:
    """The values of ``columns`` as one text (values apart by \\x1f, columns by \\x1e; a
    null is empty): what a fingerprint of a list's names reads."""
    rows = frame.select(pl.col(c).cast(pl.String).fill_null("") for c in columns)
    return "\x1e".join("\x1f".join(rows[c].to_list()) for c in columns)


def _generic_text() -> str:
    return "\x1f".join(sorted(generic_words()))
