"""Words of a name as screening sees them: tokens, generic words, spelling folds, variants.

Screening keeps word order (a merged or split word is found by joining neighbours) and
drops legal forms, including multi-word ones (``LIMITED LIABILITY COMPANY``,
``JOINT STOCK COMPANY``, ``FZ LLC``) that :func:`engine.parties.party_key` keeps as words.
Generic words (trade words, places, prepositions) carry little identity: a listed name
plus one of them is still that name, and a listed word of that kind weighs half.
"""

from __future__ import annotations

import functools

import polars as pl

from engine.parties import LEGAL_FORMS, normalise_name

# Legal forms screening drops on top of engine.parties.LEGAL_FORMS (party keys keep them,
# and changing party keys would re-key a history store).
# fmt: off
SCREEN_FORMS: frozenset[str] = frozenset({
    "FZ", "OSOO", "MMC", "TOV", "EOOD", "SAE", "SAOC", "TBK", "PT", "KK", "STI", "SAC", "CIA",
    "CV", "SPA",
})
# fmt: on
_LEGAL_PHRASES = (
    r"\b(?:LIMITED LIABILITY (?:COMPANY|PARTNERSHIP)|(?:CLOSED |OPEN |PUBLIC |PRIVATE )?"
    r"JOINT STOCK COMPANY|SP Z O ?O|SOCIEDAD ANONIMA|SOCIETE ANONYME)\b"
)
DROPPED: frozenset[str] = LEGAL_FORMS | SCREEN_FORMS | {"THE", "AND"}

# fmt: off
GENERIC_WORDS: frozenset[str] = frozenset({
    "TRADING", "TRADE", "TRADERS", "TRADER", "GROUP", "GRP", "INTERNATIONAL", "INTL",
    "INTERNATIONALE", "HOLDING", "HOLDINGS", "GENERAL", "IMPORT", "EXPORT", "IMPORTS", "EXPORTS",
    "IMPEX", "INDUSTRIES", "INDUSTRIAL", "INDUSTRY", "ENTERPRISE", "ENTERPRISES", "SERVICE",
    "SERVICES", "SHIPPING", "LOGISTICS", "COMMERCIAL", "COMMERCE", "BRANCH", "OFFICE", "DIVISION",
    "OVERSEAS", "GLOBAL", "WORLDWIDE", "WORLD", "AGENCY", "AGENCIES", "FACTORY", "MANUFACTURING",
    "TECHNOLOGY", "TECHNOLOGIES", "TECH", "SOLUTIONS", "SYSTEMS", "PRODUCTS", "SUPPLY",
    "SUPPLIES", "DISTRIBUTION", "MARKETING", "INVESTMENT", "INVESTMENTS", "DEVELOPMENT",
    "CONSTRUCTION", "ENGINEERING", "ESTABLISHMENT", "EST", "CENTER", "CENTRE", "PARTNERS",
    "ASSOCIATES", "BROTHERS", "BROS", "SONS", "MARINE", "MARITIME", "FREIGHT", "CARGO",
    "TRANSPORT", "EXPRESS", "LINES", "LINE", "NEW", "BANK", "BANKING", "FINANCE", "FINANCIAL",
    "LEASING", "CORPORATE", "REPRESENTATIVE", "REP", "HEAD", "FOR", "OF", "IN", "ON", "AT", "BY",
    "TO", "DE", "DEL", "DELLA", "DU", "DES", "LA", "LE", "LES", "UND", "ET", "Y", "NORTH",
    "SOUTH", "EAST", "WEST", "MIDDLE", "CENTRAL", "FAR", "NEAR", "EUROPE", "EUROPEAN", "ASIA",
    "ASIAN", "AFRICA", "AMERICA", "PACIFIC", "ATLANTIC", "GULF", "ARABIA", "ORIENT", "EURASIA",
    "UAE", "HK", "HONG", "KONG", "DUBAI", "SHARJAH", "ABU", "DHABI", "SINGAPORE", "SHANGHAI",
    "SHENZHEN", "GUANGZHOU", "NINGBO", "ISTANBUL", "MOSCOW", "TEHRAN", "LONDON", "ALMATY",
    "TASHKENT", "KARACHI",
})
# fmt: on
"""Trade words, places and prepositions manifests add to a name (countries come from the
shipped ISO 3166 table, see :func:`generic_words`)."""


@functools.cache
def generic_words() -> frozenset[str]:
    """:data:`GENERIC_WORDS` plus every word of the shipped country names."""
    from engine.reference import ReferenceData

    names = ReferenceData.load().countries["name"]
    words = pl.select(normalise_name(pl.lit(names)).str.split(" ").explode()).to_series()
    return GENERIC_WORDS | frozenset(w for w in words.drop_nulls().to_list() if len(w) > 2)


ARTICLES: frozenset[str] = frozenset({"THE", "AND"})
"""Dropped like legal forms, but kept in a listed name's joined-up spelling: a manifest
may run them into the next word (``THEHOUTHIS``, ``TRADINGAND TRANSPORT``)."""


def _words_pattern(words: frozenset[str]) -> str:
    return r"\b(?:" + "|".join(sorted(words, key=lambda w: (-len(w), w))) + r")\b"


_DROP_ALL = _words_pattern(DROPPED)
_DROP_KEEPING_ARTICLES = _words_pattern(DROPPED - ARTICLES)


def screen_text(names: pl.Expr, *, keep_articles: bool = False) -> pl.Expr:
    """A name for screening as one string: normalised, legal forms (and, unless
    ``keep_articles``, THE and AND) dropped, order kept, words separated by one space. A
    name made only of legal forms keeps them; a name with no letter or digit is null.

    >>> pl.select(screen_text(pl.lit("OOO «Ekogrupp» Limited Liability Company"))).item()
    'EKOGRUPP'
    """
    base = normalise_name(names)
    pattern = _DROP_KEEPING_ARTICLES if keep_articles else _DROP_ALL
    stripped = (
        base.str.replace_all(_LEGAL_PHRASES, " ")
        .str.replace_all(pattern, " ")
        .str.replace_all(r" {2,}", " ")
        .str.strip_chars()
    )
    return pl.when(stripped.str.len_bytes() > 0).then(stripped).otherwise(base)


def screen_tokens(names: pl.Expr, *, keep_articles: bool = False) -> pl.Expr:
    """:func:`screen_text` as a list of words."""
    return screen_text(names, keep_articles=keep_articles).str.split(" ")


def screen_key(names: pl.Expr) -> pl.Expr:
    """:func:`screen_text` with articles kept: the key a manifest name is screened and
    cached by (they may be run into the next word, ``THEHOUTHIS``)."""
    return screen_text(names, keep_articles=True)


# Spellings that differ only by transliteration convention (Cyrillic, Arabic, Persian,
# Korean, Chinese): each group folds to one spelling, doubled letters to one.
_NARROW: tuple[tuple[str, str], ...] = (
    ("SHCH|SCH", "SH"),
    ("TSCH|TCH", "CH"),
    ("TS|TZ", "C"),
    ("CK|C|Q", "K"),  # so CH becomes KH, and folds with KH below
    ("KH", "H"),
    ("GH", "K"),
    ("DZH|DJ|ZH", "J"),
    ("PH", "F"),
    ("OU|OO", "U"),
    ("EE|IY|Y", "I"),
    ("W", "V"),
    ("X", "KS"),
)
# Broader: also vowels dropped after the first letter and voiced / unvoiced consonants
# merged (Korean K/G, T/D, P/B). Lossy on purpose; a match also needs the raw spellings
# close (see _screen_match).
_BROAD: tuple[tuple[str, str], ...] = (
    ("SH", "S"),
    ("CH", "H"),
    ("TH|DH|D", "T"),
    ("G", "K"),
    ("B", "P"),
    ("Z", "S"),
)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _single_letters(text: pl.Expr) -> pl.Expr:
    return text.str.replace_many([c + c for c in _LETTERS], list(_LETTERS))


def fold(words: pl.Expr, *, broad: bool = False) -> pl.Expr:
    """A spelling skeleton of each word.

    Narrow: transliteration groups only (``KH`` = ``CH`` = ``H``, ``OU`` = ``U``, ``Y`` =
    ``I``, ``Q`` = ``C`` = ``K``): ``RADIOTECHSNAB`` ~ ``RADIOTEKHSNAB``, ``RABYTA TROUST``
    ~ ``RABITA TRUST``, ``QAYDA`` ~ ``QAIDA``. Broad: also inner vowels dropped and K/G,
    T/D, P/B, S/Z merged: ``MOHAMMED`` and ``MUHAMMAD`` both give ``MHMT``."""
    text = words
    for pattern, into in _NARROW:
        text = text.str.replace_all(pattern, into)
    if broad:
        for pattern, into in _BROAD:
            text = text.str.replace_all(pattern, into)
        head = text.str.slice(0, 1).str.replace(r"[AEIOU]", "A")
        text = head + text.str.slice(1).str.replace_all(r"[AEIOU]", "")
    return _single_letters(text)


def edit_budget(length: pl.Expr) -> pl.Expr:
    """Edits two words may differ by and still be the same word misspelt: none up to three
    letters, one up to six, two from seven."""
    return pl.when(length <= 3).then(0).when(length <= 6).then(1).otherwise(2)


DELETION_LIMITS: tuple[tuple[int, int], ...] = ((2, 32), (1, 64))
"""(deletions, longest word given that many): a word of ``n`` letters has ``n`` variants with
one letter deleted and ``n(n-1)`` with two, each ``n`` letters long, so its variants take
~n³ bytes. Two deletions reach words of up to 32 letters, one up to 64; a longer word (no
listed name has one — the UN list's longest word is 18 letters, its longest run-together
pair 31 — so a run that long is a fused phrase or garbage) is indexed and looked up as
written only. A party name with a 140,000-letter word (a fuzzed upload) took the server
past 22 GB; see also :func:`deletion_matches`, which bounds the variants held at once."""


def deletions(words: pl.Series, depth: pl.Expr) -> pl.DataFrame:
    """``word, variant``: each word with up to ``depth`` letters deleted (itself included),
    the variant kept as a 64-bit hash (a list's index stays small; a hash collision only
    proposes a pair, which is then measured). ``depth`` is capped by the word's length
    (:data:`DELETION_LIMITS`).

    Two words within ``k`` edits share a variant when both sides are expanded to depth
    ``k`` (a symmetric-deletion index), so similar words are found with joins instead of
    comparing every pair.
    """
    return _expand(_planned(words, depth))


VARIANTS_AT_ONCE = 4_000_000
"""Deletion variants of a batch's words made and matched at a time: the first screening of
a generated 1M-row day (`bench_watchlist throughput`) makes 56k from its 4,363 distinct
words, in one go; a flood of distinct long words (a hostile or broken file) is matched
slice by slice, in bounded memory."""


def deletion_matches(words: pl.Series, depth: pl.Expr, index: pl.DataFrame) -> pl.DataFrame:
    """``word, word_right``: each of ``words`` with every indexed word (``index``: the
    :func:`deletions` of a list's words) it shares a deletion variant with at ``depth`` —
    made in slices of about :data:`VARIANTS_AT_ONCE` variants, the same pairs as at once."""
    length = pl.col("word").str.len_chars().cast(pl.Int64)  # summed over many words
    made = (
        pl.when(pl.col("depth") == 2)
        .then(1 + length * length)  # itself, n with one letter deleted, n(n-1) with two
        .when(pl.col("depth") == 1)
        .then(1 + length)
        .otherwise(1)
    )
    planned = _planned(words, depth).with_columns(
        (made.cum_sum() // VARIANTS_AT_ONCE).alias("slice")
    )
    found = [
        _expand(part).join(index, on="variant").select("word", "word_right")
        for part in planned.partition_by("slice", include_key=False, maintain_order=True)
    ]
    if not found:
        return pl.DataFrame(schema={"word": pl.String, "word_right": pl.String})
    return pl.concat(found)


def _planned(words: pl.Series, depth: pl.Expr) -> pl.DataFrame:
    """``word, depth``: the distinct words, each with ``depth`` capped by its length."""
    length = pl.col("word").str.len_chars()
    most = pl.lit(0)
    for count, longest in reversed(DELETION_LIMITS):
        most = pl.when(length <= longest).then(count).otherwise(most)
    return (
        words.to_frame("word").unique().with_columns(pl.min_horizontal(depth, most).alias("depth"))
    )


def _expand(frame: pl.DataFrame) -> pl.DataFrame:
    """``word, variant`` of ``word, depth`` rows (see :func:`deletions`)."""
    level = frame.select("word", pl.col("word").alias("variant"), "depth")
    parts = [level.select("word", pl.col("variant").hash(seed=_SEED))]
    for step in (1, 2):
        level = (
            level.filter(pl.col("depth") >= step)
            .with_columns(pl.int_ranges(0, pl.col("variant").str.len_chars()).alias("at"))
            .explode("at")
            .select(
                "word",
                (
                    pl.col("variant").str.slice(0, pl.col("at"))
                    + pl.col("variant").str.slice(pl.col("at") + 1)
                ).alias("variant"),
                "depth",
            )
            .unique()
        )
        parts.append(level.select("word", pl.col("variant").hash(seed=_SEED)))
    return pl.concat(parts).unique()


_SEED = 17
