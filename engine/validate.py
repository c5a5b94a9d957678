"""Data-quality flags: bad values are risk indicators, not reasons to drop a row.

``validate`` adds every ``dq_*`` column of the schema's data-quality catalogue, each an
exact Boolean (never null) so rules can use it directly, and ``dq_count``.

Two principles decide every flag:

- **Not applicable is not invalid.** A flag whose field the source did not provide
  (``present``) is False, so declarations without container numbers raise no container
  flags.
- **Missing is not invalid.** A null or blank value in a provided field does not raise the
  code-format flags (container, IMO, HS, ports, countries, ISO type, texts). The exceptions
  are weight and package count: a manifest line without them is itself a quality problem,
  so ``dq_nonpositive_weight`` / ``dq_nonpositive_packages`` count null as well.

Codes are read leniently before they are looked up (see :mod:`engine.reference`):
case-insensitive, with whitespace, ``-`` and ``.`` ignored. Free-text rules (vague goods,
placeholder parties, P.O.-box addresses) compare a *simplified* text: lower case, every run
of characters that are neither letters nor digits replaced by one space.

What each flag checks:

- container number / vessel IMO: ISO 6346 and IMO check digits (:mod:`engine.kernels`);
- ISO type: 4 characters, a known length code, height/width code and 2-character type code
  of the current ISO 6346 tables (pre-1995 codes such as ``2210`` are flagged);
- ports of loading / discharge and every transshipment port: the UN/LOCODE is a seaport
  of the reference table; places of receipt / delivery may be inland, so they need only be
  well formed (``CCLLL``, known country, location letters A-Z and 2-9);
- HS code: dots, spaces and hyphens removed; digits only, 2, 4 or 6 to 10 long; the
  chapter, heading and subheading it contains exist in HS 2022 (digits after the sixth
  are national and not checked; the statistics code 99/9999/999999 is not HS);
- countries (shipper, consignee, origin): ISO 3166 alpha-2, any of the three;
- vague goods: a vague phrase (FAK, STC, "general cargo", ...) and nothing of substance left
  once vague phrases, numbers and packaging words are removed, so "STC 1200 cartons of
  shoes" passes and "1 X 40HC STC 20 PALLETS FAK" does not;
- placeholder parties: the whole name is a placeholder, starts with "to (the) order", or is
  punctuation only;
- P.O.-box address: a postal-box phrase, no street or building word, and at most three
  words (city, region, country) besides.

String work runs once per distinct value and is joined back in row order
(:func:`engine.reference.per_distinct`): a batch has far fewer distinct ports, parties and
descriptions than rows. The free-text flags go further: each distinct text is checked once
per process, whatever chunk it comes in (:class:`TextFlagMemo`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl

from engine.air import air_flags
from engine.identity import fingerprint
from engine.kernels import container_number_verdict, imo_number_verdict, simplify_ascii
from engine.reference import (
    ReferenceData,
    blank_to_null,
    hs_code_is_well_formed,
    normalised_code,
    normalised_hs_code,
    per_distinct,
)
from engine.schema import CANONICAL, DQ_FLAGS

# --------------------------------------------------------------------------------------
# Phrase lists. Sources: WCO Customs Risk Management Compendium and the WCO SAFE Framework
# data-quality guidance (descriptions such as "FAK", "STC", "general cargo", "said to
# contain" are not acceptable goods descriptions), EU ICS2 / US CBP 24-hour-rule lists of
# unacceptable descriptions ("consolidated cargo", "parts", "samples", "various", "see
# invoice"), and common placeholder values seen in manifest data ("TBA", "n/a", "to
# order"). Entries are written in the simplified form (lower case, punctuation -> space).
# --------------------------------------------------------------------------------------
# fmt: off
VAGUE_GOODS_PHRASES: tuple[str, ...] = (
    "freight all kinds", "fak", "f a k",
    "said to contain", "said to be", "stc", "s t c",
    "general cargo", "general merchandise", "general goods", "mixed cargo", "mixed goods",
    "consolidated cargo", "consolidated goods", "consolidated", "consol",
    "see invoice", "see attached", "see attached list", "as per invoice",
    "as per commercial invoice", "as per attached", "as per attached list",
    "as per packing list", "per invoice",
    "various", "various goods", "various items", "sundries", "sundry", "miscellaneous",
    "misc", "assorted", "assorted goods",
    "personal effects", "household goods and personal effects",
    "spare parts", "parts", "accessories",
    "goods", "cargo", "merchandise", "items", "products", "commodities", "articles",
    "samples", "sample", "gifts", "gift",
    "new goods", "used goods", "dry goods", "dry cargo",
    # Spanish, Portuguese, French (the Container Control Programme's other working languages)
    "carga general", "carga geral", "mercancia general", "mercancía general",
    "mercancias generales", "mercancías generales", "mercancias varias", "mercancías varias",
    "mercaderia general", "mercadería general", "mercaderias varias", "mercaderías varias",
    "mercadorias diversas", "varios", "diversos", "marchandises diverses",
    "marchandise generale", "marchandise générale", "marchandises", "divers", "effets personnels",
    "efectos personales", "segun factura", "según factura", "voir facture", "conforme fatura",
)
# fmt: on
"""Phrases that say nothing about what is in the box (simplified form)."""

# fmt: off
_FILLER_WORDS: tuple[str, ...] = (
    # quantities, packaging and equipment words that surround a description but are not one
    "x", "of", "and", "the", "in", "on", "with", "for", "on", "from", "to", "no", "nos",
    "pallet", "pallets", "plt", "plts", "carton", "cartons", "ctn", "ctns", "package",
    "packages", "pkg", "pkgs", "pk", "box", "boxes", "case", "cases", "crate", "crates",
    "bag", "bags", "bale", "bales", "drum", "drums", "roll", "rolls", "bundle", "bundles",
    "piece", "pieces", "pc", "pcs", "unit", "units", "lot", "lots", "set", "sets",
    "container", "containers", "cntr", "cntrs", "ctr", "fcl", "lcl", "hc", "hq", "dv",
    "gp", "rf", "std", "teu", "feu", "kg", "kgs", "kilos", "lb", "lbs", "mt", "ton",
    "tons", "tonnes", "cbm", "m3", "gw", "nw", "shipper", "shippers", "load", "count",
    "stow", "slac", "stowed",
)
# fmt: on
"""Words removed before asking whether anything of substance is left."""

# fmt: off
PLACEHOLDER_PARTIES: tuple[str, ...] = (
    "unknown", "unknown party", "n a", "na", "none", "nil", "null", "not available",
    "not applicable", "not known", "tba", "tbc", "tbd", "to be advised", "to be confirmed",
    "to be declared", "same as consignee", "same as cnee", "same as above", "as above",
    "same", "ditto", "consignee", "shipper", "notify", "notify party", "order",
    "test", "dummy", "any", "anyone",
    "desconocido", "desconocida", "inconnu", "inconnue", "desconhecido", "ninguno", "aucun",
)
# fmt: on
"""Party names that name no one (simplified form, compared to the whole name)."""

_PLACEHOLDER_PATTERNS: tuple[str, ...] = (
    r"to (?:the )?order(?: of)?\b.*",  # "to order", "to the order of <bank>": holder unknown
    r"a la orden\b.*",  # Spanish "to order"
    r"[aà] (?:l )?ordre\b.*",  # French "à ordre", "à l'ordre de"
    r"[aà] ordem\b.*",  # Portuguese
    r"x+",  # "xxx"
    r"0+",
)

# fmt: off
PO_BOX_PHRASES: tuple[str, ...] = (
    r"p ?o ?box", r"p ?o ?b", r"post office box", r"post ?box", r"postfach",
    r"b ?p ?\d+", r"bo[iî]te postale", r"apartado(?: postal| a[eé]reo)?",
    r"casilla(?: de correo| postal)?", r"caixa postal", r"postbus", r"private bag",
    r"p ?o ?drawer",
)
# fmt: on
"""Regular expressions (simplified form) naming a postal box instead of a place."""

# fmt: off
_STREET_WORDS: tuple[str, ...] = (
    "street", "st", "str", "strasse", "straße", "road", "rd", "avenue", "ave", "av",
    "avenida", "calle", "carrera", "rue", "via", "viale", "lane", "ln", "boulevard", "blvd",
    "way", "drive", "dr", "highway", "hwy", "building", "bldg", "floor", "fl", "suite",
    "unit", "plot", "block", "blk", "tower", "warehouse", "km",
)
# fmt: on
_MAX_PLACE_WORDS = 3  # words a P.O.-box-only address may still carry: city, region, country

COUNTRY_FIELDS: tuple[str, ...] = ("shipper_country", "consignee_country", "origin_country")
INLAND_LOCODE_FIELDS: tuple[str, ...] = ("place_of_receipt", "place_of_delivery")

UNPARSEABLE_VALUES = "dq_unparseable_values"
UNPARSEABLE_FIELDS = "dq_unparseable_fields"
DQ_COUNT = "dq_count"


Check = Callable[[pl.Expr], pl.Expr]


def _words(words: Iterable[str]) -> str:
    # Longest first so a phrase wins over its prefix; ties alphabetical, so the pattern (and
    # rules_digest) is the same in every process, whatever the set's hash order.
    return "|".join(sorted(set(words), key=lambda w: (-len(w), w)))


_VAGUE_RE = rf"\b(?:{_words(VAGUE_GOODS_PHRASES)})\b"
_FILLER_RE = rf"\b(?:{_words(_FILLER_WORDS)}|\d\S*)\b"
_PLACEHOLDER_RE = rf"^(?:{_words(PLACEHOLDER_PARTIES)}|{'|'.join(_PLACEHOLDER_PATTERNS)})$"
_PO_BOX_RE = rf"\b(?:{'|'.join(PO_BOX_PHRASES)})\b"
# German and Dutch write the street word as a suffix: Hauptstrasse, Keizersgracht-weg, Kerkstraat
_STREET_SUFFIXES = ("strasse", "straße", "straat", "gasse", "weg", "platz", "allee", "damm")
_STREET_RE = rf"\b(?:{_words(_STREET_WORDS)})\b|\p{{L}}(?:{_words(_STREET_SUFFIXES)})\b"


def simplified_text(value: pl.Expr) -> pl.Expr:
    """Lower case, each run of non-letter/non-digit characters -> one space, trimmed."""
    return value.str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars()


def simplified_texts(values: pl.Series) -> pl.Series:
    """:func:`simplified_text` of each value: ASCII text in one numba pass
    (:func:`engine.kernels.simplify_ascii`), the rest by the regular expression."""
    simple, ascii_only = simplify_ascii(values)
    other = (~ascii_only).arg_true()
    if other.len() == 0:
        return simple
    rest = values.gather(other).to_frame("text").select(simplified_text(pl.col("text")))
    return simple.scatter(other, rest.to_series())


@dataclass(frozen=True)
class TextCheck:
    """A free-text flag, on the simplified text: ``gate & rest``.

    ``gate`` is the cheap necessary condition (a phrase is present); ``rest`` is evaluated
    only on the texts that pass it (see :func:`text_check_flags`): a few percent of the
    addresses name a postal box.
    """

    gate: Callable[[pl.Expr], pl.Expr]
    rest: Callable[[pl.Expr], pl.Expr]

    def __call__(self, text: pl.Expr) -> pl.Expr:
        """The flag of each text as one expression (what :func:`text_check_flags` computes)."""
        simple = simplified_text(text)
        return self.gate(simple) & self.rest(simple)


def _vague_rest(simple: pl.Expr) -> pl.Expr:
    rest = simple.str.replace_all(_VAGUE_RE, " ").str.replace_all(_FILLER_RE, " ")
    return ~rest.str.contains(r"\p{L}{2,}")


def _po_box_rest(simple: pl.Expr) -> pl.Expr:
    rest = (
        simple.str.replace_all(_PO_BOX_RE, " ")
        .str.replace_all(r"\b(?:no|nr|n|number)\b", " ")
        .str.replace_all(r"\b\S*\d\S*\b", " ")  # box numbers and post codes
    )
    places = rest.str.count_matches(r"\p{L}{2,}")
    return ~rest.str.contains(_STREET_RE) & (places <= _MAX_PLACE_WORDS)


_vague_description = TextCheck(gate=lambda simple: simple.str.contains(_VAGUE_RE), rest=_vague_rest)
"""A vague phrase is present and nothing of substance is left once it is removed."""

_placeholder_party = TextCheck(
    gate=lambda simple: (simple == "") | simple.str.contains(_PLACEHOLDER_RE),
    rest=lambda simple: pl.lit(True),
)
"""The name is a known placeholder, or only punctuation ("-", ".")."""

_po_box_only = TextCheck(gate=lambda simple: simple.str.contains(_PO_BOX_RE), rest=_po_box_rest)
"""A postal box with at most a city/region/country left, and no street or building."""


def text_check_flags(values: pl.Series, check: TextCheck) -> pl.Series:
    """``check`` of each text in ``values`` (Boolean, never null; blank or null -> False).

    The simplified text is computed once, and ``check.rest`` only where ``check.gate``
    holds. Equal to ``check(blank_to_null(value)).fill_null(False) & value.is_not_null()``.
    """
    text = values.to_frame("text").select(blank_to_null(pl.col("text"))).to_series()
    simple = simplified_texts(text).to_frame("simple")
    gate = simple.select(check.gate(pl.col("simple")).fill_null(False)).to_series()
    passed = gate.arg_true()
    if passed.len() == 0:
        return gate.alias(values.name)
    rest = simple[passed].select(check.rest(pl.col("simple")).fill_null(False)).to_series()
    return gate.scatter(passed, rest).alias(values.name)


def _iso_type_valid(refs: ReferenceData, code: pl.Expr) -> pl.Expr:
    """ISO 6346 size/type code: length char, height/width char, known 2-char type code."""
    return (
        (code.str.len_bytes() == 4)
        & code.str.slice(0, 1).is_in(refs.iso_lengths["code"].implode())
        & code.str.slice(1, 1).is_in(refs.iso_heights["code"].implode())
        & code.str.slice(2, 2).is_in(refs.iso_types["code"].implode())
    )


def hs_code_valid(refs: ReferenceData, code: pl.Expr) -> pl.Expr:
    """A normalised HS code is well formed and its 2-, 4- and 6-digit prefixes exist."""
    known = refs.hs["code"].implode()
    length = code.str.len_bytes()
    return (
        hs_code_is_well_formed(code)
        & code.str.slice(0, 2).is_in(known)
        & ((length < 4) | code.str.slice(0, 4).is_in(known))
        & ((length < 6) | code.str.slice(0, 6).is_in(known))
    )


def locode_well_formed(refs: ReferenceData, code: pl.Expr) -> pl.Expr:
    """5 characters: a known ISO 3166 country and a 3-character location (A-Z, 2-9)."""
    return code.str.contains(r"^[A-Z]{2}[A-Z2-9]{3}$") & code.str.slice(0, 2).is_in(
        refs.countries["alpha2"].implode()
    )


def _bad_code(value: pl.Expr, is_valid: pl.Expr) -> pl.Expr:
    """Flag a present, non-missing value that fails ``is_valid``; missing is not invalid."""
    return value.is_not_null() & ~is_valid.fill_null(False)


def _false(frame: pl.DataFrame) -> pl.Series:
    return pl.repeat(False, frame.height, dtype=pl.Boolean, eager=True)


def _bad_codes(
    values: pl.Series, check: Check, normalise: Callable[[pl.Expr], pl.Expr] = normalised_code
) -> pl.Series:
    """:func:`_bad_code` of each value, normalised once before ``check`` reads it."""
    normal = values.to_frame("value").select(normalise(pl.col("value")).alias("code"))
    code = pl.col("code")
    return normal.select(_bad_code(code, check(code))).to_series().alias(values.name)


def _code_flags(frame: pl.DataFrame, refs: ReferenceData, has: set[str]) -> dict[str, pl.Series]:
    seaports = refs.seaports["locode"].implode()
    countries = refs.countries["alpha2"].implode()

    def bad_code(code: pl.Expr, check: Check) -> pl.Expr:
        normal = normalised_code(code)
        return _bad_code(normal, check(normal))

    def code_flag(field: str, check: Check) -> pl.Series:
        if field not in has:
            return _false(frame)
        return per_distinct(frame.get_column(field), lambda codes: _bad_codes(codes, check))

    def any_of(fields: Iterable[str], check: Check) -> pl.Series:
        present = [field for field in fields if field in has]
        if not present:
            return _false(frame)
        # The fields stacked: a code in several of them (a country as shipper's, consignee's
        # and origin) is numbered and checked once.
        stacked = pl.concat([frame.get_column(field).cast(pl.String) for field in present])
        verdicts = per_distinct(stacked, lambda codes: _bad_codes(codes, check))
        result = _false(frame)
        for i in range(len(present)):
            result = result | verdicts.slice(i * frame.height, frame.height)
        return result

    transshipment = _false(frame)
    if "transshipment_ports" in has:
        # judge each distinct port once, then look for the bad ones in every list
        ports = frame.get_column("transshipment_ports").explode().unique().drop_nulls()
        verdict = pl.DataFrame({"port": ports}).filter(
            bad_code(pl.col("port"), lambda c: c.is_in(seaports))
        )
        if verdict.height:  # most batches name no unknown port: nothing to look for
            in_lists = pl.col("transshipment_ports").list.eval(
                pl.element().is_in(verdict["port"].implode()).fill_null(False)
            )
            transshipment = frame.select(in_lists.list.any().fill_null(False)).to_series()

    hs = _false(frame)
    if "hs_code" in has:
        hs = per_distinct(
            frame.get_column("hs_code"),
            lambda codes: _bad_codes(codes, lambda c: hs_code_valid(refs, c), normalised_hs_code),
        )

    return {
        "dq_invalid_iso_type": code_flag("iso_type", lambda c: _iso_type_valid(refs, c)),
        "dq_unknown_port_of_loading": code_flag("port_of_loading", lambda c: c.is_in(seaports)),
        "dq_unknown_port_of_discharge": code_flag("port_of_discharge", lambda c: c.is_in(seaports)),
        "dq_unknown_transshipment_port": transshipment,
        "dq_invalid_locode": any_of(INLAND_LOCODE_FIELDS, lambda c: locode_well_formed(refs, c)),
        "dq_invalid_hs_code": hs,
        "dq_invalid_country": any_of(COUNTRY_FIELDS, lambda c: c.is_in(countries)),
    }


class TextFlagMemo:
    """The flags of one :class:`TextCheck` per distinct text, kept across chunks.

    A batch's chunks (and a day's batches) repeat most party names, addresses and goods
    descriptions, and a text check depends on the text alone (not on the reference data), so
    each text is checked once per process. Holds at most ``limit`` texts: when a chunk
    would take it past that, it starts again from that chunk's texts. Safe to share
    between threads (the table is replaced, never changed in place).
    """

    def __init__(self, check: TextCheck, *, limit: int = 1_000_000):
        self.check = check
        self.limit = limit
        # keyed by the text's polars hash (a join on integers), the text kept to confirm
        # the match; at most one text per hash (a text whose hash another text holds is
        # checked every time)
        self._known = pl.DataFrame(
            schema={"hash": pl.UInt64, "known_text": pl.String, "flag": pl.Boolean}
        )
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._known.height

    def flags(self, values: pl.Series) -> pl.Series:
        """``text_check_flags(values, self.check)``, from the memo where it holds the text."""
        known = self._known
        found = pl.DataFrame({"hash": values.hash(), "text": values}).join(
            known, on="hash", how="left", maintain_order="left"
        )
        hit = (found["text"] == found["known_text"]).fill_null(False)
        flags = (found["flag"].fill_null(False) & hit).alias(values.name)
        unknown = (~hit & values.is_not_null()).arg_true()
        if unknown.len() == 0:
            return flags
        checked = text_check_flags(values.gather(unknown), self.check)
        # a text joins the memo when no other text holds its hash
        fresh = (
            found[unknown]
            .with_columns(flag=checked)
            .filter(pl.col("known_text").is_null())
            .select("hash", known_text="text", flag="flag")
            .unique(["hash", "known_text"])
            .unique("hash", keep="none")
        )
        with self._lock:
            current = self._known
            if current is not known:  # another thread added texts meanwhile
                fresh = fresh.join(current, on="hash", how="anti")
            if current.height + fresh.height > self.limit:
                current = current.clear()
            current = pl.concat([current, fresh], rechunk=False)
            self._known = current.rechunk() if current.n_chunks() > 16 else current
        return flags.scatter(unknown, checked)

    def clear(self) -> None:
        """Forget every text (tests; a long-lived process after a change of phrase lists)."""
        with self._lock:
            self._known = self._known.clear()


TEXT_FLAG_MEMOS: dict[str, TextFlagMemo] = {
    "vague": TextFlagMemo(_vague_description),
    "placeholder": TextFlagMemo(_placeholder_party),
    "po_box": TextFlagMemo(_po_box_only),
}
"""One memo per text check, shared by the fields it applies to (the three party names share
the placeholder memo)."""

TEXT_FLAG_FIELDS: dict[str, tuple[str, str]] = {
    "dq_vague_goods_description": ("goods_description", "vague"),
    "dq_placeholder_shipper": ("shipper_name", "placeholder"),
    "dq_placeholder_consignee": ("consignee_name", "placeholder"),
    "dq_placeholder_notify": ("notify_name", "placeholder"),
    "dq_po_box_shipper_address": ("shipper_address", "po_box"),
    "dq_po_box_consignee_address": ("consignee_address", "po_box"),
}


def _text_flags(frame: pl.DataFrame, has: set[str]) -> dict[str, pl.Series]:
    flags = {flag: _false(frame) for flag in TEXT_FLAG_FIELDS}
    for kind, memo in TEXT_FLAG_MEMOS.items():
        checked = [
            (flag, field)
            for flag, (field, check) in TEXT_FLAG_FIELDS.items()
            if check == kind and field in has
        ]
        if not checked:
            continue
        # party names, addresses and descriptions repeat a lot within a batch and across
        # batches: each distinct text is checked once (the memo), then given to its rows.
        # The fields of one check are stacked, so a name that is shipper in one row and
        # notify party in another is looked up once.
        stacked = pl.concat([frame.get_column(field) for _, field in checked])
        verdicts = per_distinct(stacked, memo.flags)
        for i, (flag, _) in enumerate(checked):
            flags[flag] = verdicts.slice(i * frame.height, frame.height).alias(flag)
    return flags


def _amount_flags(frame: pl.DataFrame, has: set[str]) -> dict[str, pl.Series]:
    def nonpositive(field: str) -> pl.Series:
        if field not in has:
            return _false(frame)
        value = pl.col(field).cast(pl.Float64)
        # missing counts here: a manifest line must state weight and package count
        flag = (value.is_null() | value.is_nan() | (value <= 0)).fill_null(True)
        return frame.select(flag).to_series()

    return {
        "dq_nonpositive_weight": nonpositive("gross_weight_kg"),
        "dq_nonpositive_packages": nonpositive("packages"),
    }


def _needs_cast(schema: pl.Schema, name: str, dtype: pl.DataType) -> bool:
    if name not in schema or schema[name] == pl.Null:
        return True
    # a code read as a number (hs_code 847130, vessel_imo 9319466) is still a code
    return dtype == pl.String and schema[name] != pl.String


def with_canonical_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with absent canonical columns added as nulls, all-null (``Null``-typed) ones
    cast to their canonical dtype, and text fields held as numbers cast to text, so the
    string and list expressions apply to them."""
    schema = frame.schema  # built on each access
    fixes = [
        (pl.col(name) if name in schema else pl.lit(None)).cast(field.dtype).alias(name)
        for name, field in CANONICAL.items()
        if _needs_cast(schema, name, field.dtype)
    ]
    return frame.with_columns(fixes) if fixes else frame


def _kernel_flag(
    frame: pl.DataFrame,
    field: str,
    has: set[str],
    kernel: Callable[[pl.Series], pl.Series],
    *,
    repeats: bool = False,
) -> pl.Series:
    """``repeats``: the field repeats within a batch (a vessel carries thousands of
    containers), so the kernel reads each distinct value once."""
    if field not in has:
        return _false(frame)

    def invalid(values: pl.Series) -> pl.Series:
        verdict = kernel(values)  # 1 valid, 0 invalid, 2 blank, null missing
        return verdict.fill_null(2) == 0

    values = frame.get_column(field)
    return per_distinct(values, invalid) if repeats else invalid(values)


def validate(
    frame: pl.DataFrame, refs: ReferenceData, *, present: Collection[str] | None = None
) -> pl.DataFrame:
    """Return ``frame`` with every ``dq_*`` flag of the schema and ``dq_count`` added.

    ``present`` names the canonical fields the source provided (default: every canonical
    column in ``frame``); flags of other fields are False. ``dq_unparseable_values`` and
    ``dq_unparseable_fields`` come from ingest and are kept (nulls -> False / empty list),
    or added as False / empty when absent. Rows are neither dropped nor reordered.

    Example: ``validate(batch, ReferenceData.load(), present=spec.fields)``.
    """
    in_frame = set(CANONICAL).intersection(frame.columns)
    has = in_frame if present is None else in_frame & set(present)
    source = with_canonical_columns(frame)

    flags: dict[str, pl.Series] = {
        "dq_invalid_container_number": _kernel_flag(
            source, "container_number", has, container_number_verdict
        ),
        "dq_invalid_vessel_imo": _kernel_flag(
            source, "vessel_imo", has, imo_number_verdict, repeats=True
        ),
        **_code_flags(source, refs, has),
        **_text_flags(source, has),
        **_amount_flags(source, has),
        **air_flags(source, refs, has),
    }
    if UNPARSEABLE_VALUES in frame.columns:
        unparseable = pl.col(UNPARSEABLE_VALUES).fill_null(False)
    else:
        unparseable = pl.lit(False)
    if UNPARSEABLE_FIELDS in frame.columns:
        fields = pl.col(UNPARSEABLE_FIELDS).fill_null(pl.lit([], dtype=pl.List(pl.String)))
    else:
        fields = pl.lit([], dtype=pl.List(pl.String))

    missing = set(DQ_FLAGS) - set(flags) - {UNPARSEABLE_VALUES}
    if missing:  # the schema declared a flag this module does not compute
        raise NotImplementedError(f"validate() lacks data-quality flags {sorted(missing)}")

    computed = source.select(
        *(pl.lit(series).cast(pl.Boolean).alias(name) for name, series in flags.items()),
        unparseable.cast(pl.Boolean).alias(UNPARSEABLE_VALUES),
        fields.cast(pl.List(pl.String)).alias(UNPARSEABLE_FIELDS),
    ).with_columns(
        pl.sum_horizontal(pl.col(name).cast(pl.Int32) for name in DQ_FLAGS)
        .cast(pl.Int32)
        .alias(DQ_COUNT)
    )
    # added to the caller's frame as given: the null-typed fill-ins above stay private
    return frame.with_columns(computed.get_columns())


def rules_digest() -> str:
    """SHA-256 of the phrase lists and patterns, so a run record shows which rules ran."""
    text = "\n".join(
        [_VAGUE_RE, _FILLER_RE, _PLACEHOLDER_RE, _PO_BOX_RE, _STREET_RE, str(_MAX_PLACE_WORDS)]
    )
    return fingerprint(text)


class ValidationStage:
    """The validate stage as a pipeline :class:`~engine.stages.Stage`."""

    name = "validate"

    def __init__(self, refs: ReferenceData, *, present: Collection[str] | None = None):
        self.refs = refs
        self.present = None if present is None else frozenset(present)

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Add the data-quality flags (see :func:`validate`)."""
        return validate(frame, self.refs, present=self.present)

    def fingerprint(self) -> dict[str, Any]:
        """Reference-data content hashes and the digest of the phrase lists."""
        return {
            "reference_data": self.refs.fingerprint(),
            "rules_sha256": rules_digest(),
            "present": None if self.present is None else sorted(self.present),
        }


PORT_FLAGS: dict[str, str] = {
    "port_of_loading": "dq_unknown_port_of_loading",
    "port_of_discharge": "dq_unknown_port_of_discharge",
}


def unknown_port_summary(scored: pl.LazyFrame, top: int = 5) -> dict[str, Any]:
    """How often a batch names a port the seaport table does not know, for the run record.

    Per field: rows with a value, rows whose value is unknown, and their share; and the most
    frequent unknown codes of both fields, so that a unit sees a gap in its table (a code
    its carriers write that the snapshot lacks) rather than a scattering of typos.
    """
    schema = scored.collect_schema()
    fields = [f for f in PORT_FLAGS if f in schema and PORT_FLAGS[f] in schema]
    if not fields:
        return {}
    counts = scored.select(
        *[pl.col(f).is_not_null().sum().alias(f"{f}:with") for f in fields],
        *[pl.col(PORT_FLAGS[f]).sum().alias(f"{f}:unknown") for f in fields],
    ).collect()
    out: dict[str, Any] = {}
    for f in fields:
        with_value = int(counts[f"{f}:with"].item())
        unknown = int(counts[f"{f}:unknown"].item())
        rate = round(unknown / with_value, 6) if with_value else 0.0
        out[f] = {"rows_with_value": with_value, "unknown": unknown, "rate": rate}
    codes = pl.concat(
        [
            scored.filter(pl.col(PORT_FLAGS[f])).select(
                normalised_code(pl.col(f).cast(pl.String)).alias("code")
            )
            for f in fields
        ]
    )
    common = (
        codes.group_by("code")
        .len()
        .sort(["len", "code"], descending=[True, False])
        .head(top)
        .collect()
    )
    out["most_common_unknown"] = dict(zip(common["code"], common["len"], strict=True))
    return out
