"""Watchlist screening: sanctioned parties (fuzzy), vessels (IMO) and containers (exact).

Two list formats are read:

* the UN Security Council consolidated list XML (``CONSOLIDATED_LIST`` with ``INDIVIDUAL``
  and ``ENTITY`` records), by its own schema: names (FIRST_NAME .. FOURTH_NAME), aliases
  (``INDIVIDUAL_ALIAS``/``ENTITY_ALIAS``; "Low" quality aliases skipped by default, as the
  UN itself says they are insufficient to identify anyone), names in original script, and
  addresses. Parsed with lxml without DTDs, entity expansion or network access.
* a national CSV list (see :data:`CSV_COLUMNS` and ``engine/watchlists/README.md``) for
  parties, vessels by IMO number and container numbers.

Party names are screened in two passes, both on :func:`engine.parties.party_key` keys
(normalised, legal forms dropped, tokens sorted), both over the *distinct* names of a batch:

1. **whole name**: rapidfuzz ``process.cdist`` with ``ratio`` on the sorted-token keys (a
   token-sort ratio), which catches typos, word order and missing legal suffixes;
2. **list name contained**: for list names of two or more tokens, every list token must find
   a similar token (ratio ≥ 80) in the batch name; the score is the length-weighted mean of
   those token scores. Extra words in the batch name ("AL RASHID TRUST FOOD STUFF") do not
   lower it. Candidates are found through each list name's rarest token, with polars joins.

A name's score is the better of the two. ``threshold`` (default :data:`DEFAULT_THRESHOLD`)
is what counts as a hit (the quality figures in benchmarks/README_history.md are measured
there); scores from ``report_floor`` (default :data:`REPORT_FLOOR`) up are reported with
their entry so rules can also flag weaker "possible" matches. Below the floor the score is
0 and no entry is named.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from lxml import etree
from rapidfuzz import fuzz, process

from engine.errors import Location, ReferenceDataError
from engine.identity import file_id
from engine.parties import party_key, party_keys, ratio_blocks, spelling_variant

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_THRESHOLD",
    "REPORT_FLOOR",
    "UN_LIST_PATH",
    "WATCHLIST_COLUMNS",
    "Watchlist",
    "WatchlistError",
    "WatchlistStage",
]

DEFAULT_THRESHOLD = 90.0
"""Default party-match threshold (0-100); see benchmarks/README_history.md for the trade-off."""

REPORT_FLOOR = 80.0
"""Lowest party score reported (with its entry); lower scores are reported as 0."""

TOKEN_CUTOFF = 80.0
PARTY_ROLES: tuple[str, ...] = ("shipper", "consignee", "notify")
CSV_COLUMNS: tuple[str, ...] = (
    "kind",
    "name",
    "imo",
    "container_number",
    "list",
    "reference",
    "note",
)
WATCHLIST_COLUMNS: tuple[str, ...] = (
    "watchlist_party_score",
    "watchlist_party_role",
    "watchlist_entry",
    "watchlist_vessel_hit",
    "watchlist_vessel_entry",
    "watchlist_container_hit",
)
UN_LIST_PATH = Path(__file__).resolve().parent / "watchlists" / "un-consolidated.xml"
"""The UN SC consolidated list shipped with the engine (see watchlists/README.md)."""

_PARTY_SCHEMA = {
    "entry": pl.String,
    "list": pl.String,
    "reference": pl.String,
    "name": pl.String,
    "alias": pl.String,
    "party_type": pl.String,
    "address": pl.String,
}
_VESSEL_SCHEMA = {"entry": pl.String, "imo": pl.String}
_CONTAINER_SCHEMA = {"entry": pl.String, "container_number": pl.String}


_PARENTHESES = re.compile(r"\s*\([^)]*\)\s*")


class WatchlistError(ReferenceDataError):
    """A watchlist file cannot be read or holds an invalid entry."""


@dataclass(frozen=True)
class Watchlist:
    """Screening lists: party names (one row per name or alias), vessels, containers."""

    parties: pl.DataFrame
    vessels: pl.DataFrame
    containers: pl.DataFrame
    sources: tuple[dict[str, Any], ...] = field(default=())

    @classmethod
    def load(cls, paths: Sequence[Path], *, low_quality_aliases: bool = False) -> Watchlist:
        """Read UN SC XML (``.xml``) and national CSV (``.csv``) lists into one watchlist."""
        parties, vessels, containers, sources = [], [], [], []
        for path in map(Path, paths):
            if not path.is_file():
                raise WatchlistError(
                    "watchlist file not found",
                    location=Location(str(path)),
                    hint="pass the UN SC XML or a national CSV list",
                )
            suffix = path.suffix.lower()
            if suffix == ".xml":
                parties.append(_read_un_xml(path, low_quality_aliases=low_quality_aliases))
                kind = "un-sc-xml"
            elif suffix == ".csv":
                p, v, c = _read_csv(path)
                parties.append(p)
                vessels.append(v)
                containers.append(c)
                kind = "national-csv"
            else:
                raise WatchlistError(
                    f"unknown watchlist format '{suffix}'",
                    location=Location(str(path)),
                    hint="use the UN SC consolidated XML (.xml) or the national CSV (.csv)",
                )
            sources.append({"path": str(path), "format": kind, "sha256": file_id(path)})
        return cls(
            parties=_stack(parties, _PARTY_SCHEMA),
            vessels=_stack(vessels, _VESSEL_SCHEMA).unique(maintain_order=True),
            containers=_stack(containers, _CONTAINER_SCHEMA).unique(maintain_order=True),
            sources=tuple(sources),
        )

    @classmethod
    def load_default(cls) -> Watchlist:
        """The UN SC consolidated list shipped in ``engine/watchlists``."""
        return cls.load([UN_LIST_PATH])

    def summary(self) -> pl.DataFrame:
        """Entries and names per list and kind, for ``lookout watchlist info``."""
        parts = [
            self.parties.group_by("list", "party_type")
            .agg(pl.col("entry").n_unique().alias("entries"), pl.len().alias("names"))
            .rename({"party_type": "kind"}),
        ]
        for frame, kind in ((self.vessels, "vessel"), (self.containers, "container")):
            if frame.height:
                parts.append(
                    frame.with_columns(pl.col("entry").str.extract(r"^([^:]*):").alias("list"))
                    .group_by("list")
                    .agg(pl.col("entry").n_unique().alias("entries"), pl.len().alias("names"))
                    .with_columns(pl.lit(kind).alias("kind"))
                )
        cols = ["list", "kind", "entries", "names"]
        return pl.concat([p.select(cols) for p in parts]).sort(cols[:2])

    def fingerprint(self) -> dict[str, Any]:
        """Source files and their hashes, and how many names/vessels/containers were read."""
        return {
            "sources": list(self.sources),
            "party_names": self.parties.height,
            "vessels": self.vessels.height,
            "containers": self.containers.height,
        }


# ------------------------------------------------------------------------- UN SC XML
def _read_un_xml(path: Path, *, low_quality_aliases: bool) -> pl.DataFrame:
    # No DTD, no entity expansion, no network: the list is data, never instructions.
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        tree = etree.parse(str(path), parser)
    except etree.XMLSyntaxError as exc:
        line, col = exc.position if exc.position else (None, None)
        raise WatchlistError(
            f"not well-formed XML: {exc.msg}",
            location=Location(str(path), line, col),
            hint="download the list again from the UN Security Council site",
        ) from exc
    if tree.docinfo.doctype:
        raise WatchlistError(
            "watchlist XML declares a DOCTYPE; refusing to read it",
            location=Location(str(path), 1),
            hint="the UN SC list has no DOCTYPE; use an unmodified copy",
        )
    root = tree.getroot()
    if root.tag != "CONSOLIDATED_LIST":
        raise WatchlistError(
            f"root element is <{root.tag}>, expected <CONSOLIDATED_LIST>",
            location=Location(str(path), root.sourceline),
            hint="this loader reads the UN SC consolidated list XML format",
        )
    rows: list[dict[str, str | None]] = []
    # Load time only (~900 records): a plain walk over the XML tree is the clear way.
    for record in root.iter("INDIVIDUAL", "ENTITY"):
        rows.extend(_un_record_names(path, record, low_quality_aliases))
    return pl.DataFrame(rows, schema=_PARTY_SCHEMA)


def _text(node: Any, tag: str) -> str | None:
    value = node.findtext(tag)
    return " ".join(value.split()) if value and value.strip() else None


def _un_record_names(
    path: Path, record: Any, low_quality_aliases: bool
) -> list[dict[str, str | None]]:
    kind = "individual" if record.tag == "INDIVIDUAL" else "entity"
    reference = _text(record, "REFERENCE_NUMBER")
    parts = [_text(record, t) for t in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")]
    name = " ".join(p for p in parts if p)
    if not reference or not name:
        raise WatchlistError(
            f"UN SC {kind} record without a reference number or name",
            location=Location(str(path), record.sourceline),
            hint="the file does not follow the UN SC consolidated list schema",
        )
    names = [name]
    original = _text(record, "NAME_ORIGINAL_SCRIPT")
    if original:
        names.append(original)
    for alias in record.iter(f"{record.tag}_ALIAS"):
        alias_name = _text(alias, "ALIAS_NAME")
        if alias_name and (low_quality_aliases or _text(alias, "QUALITY") != "Low"):
            names.append(alias_name)
    addresses = []
    for address in record.iter(f"{record.tag}_ADDRESS"):
        fields = [
            _text(address, t) for t in ("STREET", "CITY", "STATE_PROVINCE", "ZIP_CODE", "COUNTRY")
        ]
        if any(fields):
            addresses.append(", ".join(f for f in fields if f))
    # "AFGHAN SUPPORT COMMITTEE (ASC)": manifests write the name without the bracket.
    names += [_PARENTHESES.sub(" ", n).strip() for n in names if "(" in n]
    entry = f"UN SC: {reference} {name}"
    address_text = " | ".join(addresses) or None
    return [
        {
            "entry": entry,
            "list": "UN SC",
            "reference": reference,
            "name": name,
            "alias": alias,
            "party_type": kind,
            "address": address_text,
        }
        for alias in dict.fromkeys(names)
    ]


# ------------------------------------------------------------------------- national CSV
def _read_csv(path: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    try:
        raw = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise WatchlistError(
            f"cannot read CSV: {exc}",
            location=Location(str(path)),
            hint="UTF-8 CSV with the header " + ",".join(CSV_COLUMNS),
        ) from exc
    unknown = [c for c in raw.columns if c not in CSV_COLUMNS]
    missing = [c for c in ("kind", "list") if c not in raw.columns]
    if unknown or missing:
        bad = (unknown or missing)[0]
        col = raw.columns.index(bad) + 1 if bad in raw.columns else None
        raise WatchlistError(
            f"unexpected column '{bad}'" if unknown else f"missing column '{bad}'",
            location=Location(str(path), 1, col, field=bad),
            hint="columns are " + ", ".join(CSV_COLUMNS),
        )
    frame = (
        raw.with_columns(
            [pl.lit(None, dtype=pl.String).alias(c) for c in CSV_COLUMNS if c not in raw.columns]
        )
        .with_columns(pl.col(c).str.strip_chars().replace("", None) for c in CSV_COLUMNS)
        .with_columns(
            pl.col("kind").str.to_lowercase(),
            pl.col("imo").str.to_uppercase().str.replace_all(r"IMO|\s", ""),
            pl.col("container_number").str.to_uppercase().str.replace_all(r"[^A-Z0-9]", ""),
            pl.int_range(2, pl.len() + 2).alias("__line"),
        )
    )
    _check_csv(path, raw.columns, frame)
    entry = pl.concat_str(
        pl.col("list"),
        pl.lit(": "),
        pl.concat_str(pl.col("reference"), pl.lit(" "), ignore_nulls=False).fill_null(""),
        pl.coalesce("name", "imo", "container_number"),
    ).alias("entry")
    framed = frame.with_columns(entry)
    parties = framed.filter(pl.col("kind") == "party").select(
        "entry",
        "list",
        "reference",
        "name",
        pl.col("name").alias("alias"),
        pl.lit("party").alias("party_type"),
        pl.lit(None, dtype=pl.String).alias("address"),
    )
    vessels = framed.filter(pl.col("kind") == "vessel").select("entry", "imo")
    containers = framed.filter(pl.col("kind") == "container").select("entry", "container_number")
    return parties, vessels, containers


def _imo_check_ok(imo: pl.Expr) -> pl.Expr:
    digits = [imo.str.slice(i, 1).cast(pl.Int32, strict=False) for i in range(7)]
    total = pl.sum_horizontal(d * w for d, w in zip(digits[:6], range(7, 1, -1), strict=True))
    return (total % 10) == digits[6]


def _check_csv(path: Path, header: list[str], frame: pl.DataFrame) -> None:
    problems = {
        "kind": (~pl.col("kind").is_in(["party", "vessel", "container"])).fill_null(True),
        "list": pl.col("list").is_null(),
        "name": (pl.col("kind") == "party") & pl.col("name").is_null(),
        "imo": (pl.col("kind") == "vessel")
        & ~(pl.col("imo").str.contains(r"^\d{7}$") & _imo_check_ok(pl.col("imo"))).fill_null(False),
        "container_number": (pl.col("kind") == "container")
        & ~pl.col("container_number").str.contains(r"^[A-Z]{4}\d{7}$").fill_null(False),
    }
    hints = {
        "kind": "kind is party, vessel or container",
        "list": "name the list the entry comes from, e.g. 'National sanctions'",
        "name": "a party entry needs a name",
        "imo": "a vessel entry needs a 7-digit IMO ship number with a valid check digit",
        "container_number": "a container entry needs an ISO 6346 number like MSCU1234565",
    }
    flagged = frame.select(
        pl.col("__line"), *[e.fill_null(False).alias(n) for n, e in problems.items()]
    )
    for name in problems:
        bad = flagged.filter(pl.col(name))["__line"]
        if bad.len():
            column = header.index(name) + 1 if name in header else None
            raise WatchlistError(
                f"invalid '{name}' in {bad.len()} row(s)",
                location=Location(str(path), int(bad[0]), column, field=name),
                hint=hints[name],
            )


def _stack(frames: list[pl.DataFrame], schema: dict[str, Any]) -> pl.DataFrame:
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat([f.select(pl.col(n).cast(t) for n, t in schema.items()) for f in frames])


# ------------------------------------------------------------------------- screening
class WatchlistStage:
    """Pipeline stage adding the watchlist columns (see :data:`WATCHLIST_COLUMNS`)."""

    name = "watchlist"

    def __init__(
        self,
        watchlist: Watchlist,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        report_floor: float | None = None,
        workers: int = 2,
    ) -> None:
        if not 0 < threshold <= 100:
            raise WatchlistError(
                f"threshold {threshold} is outside 0-100",
                hint=f"the default is {DEFAULT_THRESHOLD}",
            )
        floor = min(REPORT_FLOOR, threshold) if report_floor is None else report_floor
        if not 0 < floor <= threshold:
            raise WatchlistError(
                f"report_floor {floor} is outside 0-{threshold}",
                hint="the floor must not exceed the hit threshold",
            )
        self.watchlist = watchlist
        self.threshold = threshold
        self.report_floor = floor
        self.workers = workers
        self._names = _list_names(watchlist.parties)

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Return ``frame`` with the watchlist columns added (same rows, same order)."""
        keys = pl.DataFrame(
            [
                party_keys(frame[f"{role}_name"]).alias(role)
                if f"{role}_name" in frame.columns
                else pl.Series(role, [None] * frame.height, dtype=pl.String)
                for role in PARTY_ROLES
            ]
        )
        distinct = pl.concat([keys[r] for r in PARTY_ROLES]).drop_nulls().unique().sort()
        matches = self.match_names(distinct)
        best = self._best_role(keys, matches)
        vessel = self._vessels(frame)
        box = self._containers(frame)
        added = pl.concat([best, vessel, box], how="horizontal")
        return frame.drop([c for c in WATCHLIST_COLUMNS if c in frame.columns]).hstack(added)

    def match_names(self, keys: pl.Series) -> pl.DataFrame:
        """Best list match of each distinct party key: ``key, score, entry``.

        Keys with no list name scoring at least ``report_floor`` are absent from the result.
        """
        whole = _whole_name_scores(
            keys, self._names, self.report_floor, self.threshold, self.workers
        )
        contained = _contained_scores(keys, self._names, self.report_floor, self.workers)
        scored = pl.concat([whole, contained])
        return (
            scored.sort(["key", "score", "entry"], descending=[False, True, False])
            .group_by("key", maintain_order=True)
            .first()
        )

    def _best_role(self, keys: pl.DataFrame, matches: pl.DataFrame) -> pl.DataFrame:
        scored = keys.with_row_index("__i")
        for role in PARTY_ROLES:
            scored = scored.join(
                matches.rename({"score": f"{role}_s", "entry": f"{role}_e"}),
                left_on=role,
                right_on="key",
                how="left",
                maintain_order="left",
            )
        score = pl.max_horizontal([pl.col(f"{r}_s").fill_null(0.0) for r in PARTY_ROLES])
        # Ties go to the first role in shipper, consignee, notify order.
        best_role = pl.coalesce(
            [pl.when(pl.col(f"{r}_s") == score).then(pl.lit(r)) for r in PARTY_ROLES]
        )
        entry = pl.coalesce(
            [pl.when(pl.col(f"{r}_s") == score).then(pl.col(f"{r}_e")) for r in PARTY_ROLES]
        )
        return scored.sort("__i").select(
            score.cast(pl.Float64).alias("watchlist_party_score"),
            pl.when(score > 0).then(best_role).alias("watchlist_party_role"),
            pl.when(score > 0).then(entry).alias("watchlist_entry"),
        )

    def _vessels(self, frame: pl.DataFrame) -> pl.DataFrame:
        imo = (
            _column(frame, "vessel_imo")
            .cast(pl.String)
            .str.to_uppercase()
            .str.replace_all(r"IMO|\s", "")
        )
        table = self.watchlist.vessels.group_by("imo", maintain_order=True).agg(
            pl.col("entry").str.join("; ")
        )
        joined = frame.select(imo.alias("imo")).join(
            table, on="imo", how="left", maintain_order="left"
        )
        return joined.select(
            pl.col("entry").is_not_null().alias("watchlist_vessel_hit"),
            pl.col("entry").alias("watchlist_vessel_entry"),
        )

    def _containers(self, frame: pl.DataFrame) -> pl.DataFrame:
        number = _column(frame, "container_number").cast(pl.String).str.to_uppercase()
        number = number.str.replace_all(r"[^A-Z0-9]", "")
        listed = self.watchlist.containers["container_number"].implode()
        return frame.select(number.is_in(listed).fill_null(False).alias("watchlist_container_hit"))

    def fingerprint(self) -> dict[str, Any]:
        """Lists screened against (files and hashes), threshold and scorer."""
        return {
            **self.watchlist.fingerprint(),
            "threshold": self.threshold,
            "report_floor": self.report_floor,
            "scorer": "rapidfuzz ratio on sorted-token keys + token containment",
        }


def _column(frame: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name) if name in frame.columns else pl.repeat(None, pl.len(), dtype=pl.String)


def _list_names(parties: pl.DataFrame) -> pl.DataFrame:
    """Distinct normalised list names with their entry, token list and anchor token."""
    names = (
        parties.select(party_key(pl.col("alias")).alias("lkey"), "entry")
        .drop_nulls("lkey")
        .unique(["lkey", "entry"])
        .sort(["lkey", "entry"])
        .with_row_index("lid")
    )
    return names.with_columns(pl.col("lkey").str.split(" ").alias("tokens"))


def _whole_name_scores(
    keys: pl.Series, names: pl.DataFrame, threshold: float, hit_threshold: float, workers: int
) -> pl.DataFrame:
    """Best whole-name match per key scoring at least ``threshold`` (the report floor).

    Below ``hit_threshold`` a string score alone is weak evidence ("KHAZAR INTERNATIONAL"
    is 80 against "KOREA INTERNATIONAL"), so such a match is kept only if the differing
    words are misspellings of each other (:func:`engine.parties.spelling_variant`).
    """
    queries = keys.to_list()
    choices = names["lkey"].to_list()
    if not queries or not choices:
        return pl.DataFrame(schema={"key": pl.String, "score": pl.Float64, "entry": pl.String})
    out_keys: list[np.ndarray] = []
    out_cols: list[np.ndarray] = []
    out_scores: list[np.ndarray] = []
    for start, chunk, scores in ratio_blocks(
        queries, choices, threshold=threshold, workers=workers, budget=32_000_000
    ):
        best = scores.argmax(axis=1)
        top = scores[np.arange(len(chunk)), best]
        hit = np.flatnonzero(top)
        out_keys.append(hit + start)
        out_cols.append(best[hit])
        out_scores.append(top[hit])
    # uint8 scores are the ratio rounded down; recompute exact scores for the few hits.
    rows = np.concatenate(out_keys) if out_keys else np.zeros(0, dtype=np.int64)
    cols = np.concatenate(out_cols) if out_cols else np.zeros(0, dtype=np.int64)
    hit_keys = keys.gather(rows)
    hit_names = names["lkey"].gather(cols)
    exact = (
        process.cpdist(hit_keys.to_list(), hit_names.to_list(), scorer=fuzz.ratio, workers=workers)
        if len(rows)
        else np.zeros(0)
    )
    scores = np.asarray(exact, dtype=np.float64)
    # Runs over the few matched (distinct name, list name) pairs in the weak band only.
    plausible = [
        score >= hit_threshold or spelling_variant(key, name)
        for key, name, score in zip(hit_keys, hit_names, scores, strict=True)
    ]
    return pl.DataFrame(
        {
            "key": hit_keys,
            "score": pl.Series(scores),
            "entry": names["entry"].gather(cols),
        }
    ).filter((pl.col("score") >= threshold) & pl.Series(plausible, dtype=pl.Boolean))


def _contained_scores(
    keys: pl.Series, names: pl.DataFrame, threshold: float, workers: int
) -> pl.DataFrame:
    empty = pl.DataFrame(schema={"key": pl.String, "score": pl.Float64, "entry": pl.String})
    multi = names.filter(pl.col("tokens").list.len() >= 2)
    if multi.height == 0 or keys.len() == 0:
        return empty
    list_tokens = multi.select("lid", "tokens").explode("tokens").rename({"tokens": "ltok"})
    list_tokens = list_tokens.unique()
    batch_tokens = (
        keys.to_frame("key")
        .with_columns(pl.col("key").str.split(" ").alias("btok"))
        .explode("btok")
        .unique()
    )
    similar = _similar_tokens(batch_tokens["btok"].unique(), list_tokens["ltok"].unique(), workers)
    if similar.height == 0:
        return empty
    # Anchor = the list token found in the fewest list names: candidates stay few.
    freq = list_tokens.group_by("ltok").agg(pl.len().alias("freq"))
    anchors = (
        list_tokens.join(freq, on="ltok")
        .sort(["lid", "freq", pl.col("ltok").str.len_chars()], descending=[False, False, True])
        .group_by("lid", maintain_order=True)
        .first()
        .select("lid", "ltok")
    )
    key_to_ltok = (
        batch_tokens.join(similar, on="btok").group_by("key", "ltok").agg(pl.col("tscore").max())
    )
    candidates = key_to_ltok.join(anchors, on="ltok").select("key", "lid").unique()
    weights = list_tokens.with_columns(pl.col("ltok").str.len_chars().alias("w"))
    scored = (
        candidates.join(weights, on="lid")
        .join(key_to_ltok, on=["key", "ltok"], how="left")
        .group_by("key", "lid")
        .agg(
            ((pl.col("tscore").fill_null(0.0) * pl.col("w")).sum() / pl.col("w").sum()).alias(
                "score"
            ),
            pl.col("tscore").is_null().any().alias("missing"),
        )
        # Every list word must be present (possibly misspelt): no partial containment.
        .filter(~pl.col("missing") & (pl.col("score") >= threshold))
    )
    return scored.join(multi.select("lid", "entry"), on="lid").select(
        "key", pl.col("score").cast(pl.Float64), "entry"
    )


def _similar_tokens(btok: pl.Series, ltok: pl.Series, workers: int) -> pl.DataFrame:
    """Pairs of (batch token, list token) with ratio ≥ TOKEN_CUTOFF, and that ratio."""
    choices = ltok.to_list()
    queries = btok.to_list()
    parts = []
    step = max(1, 8_000_000 // max(1, len(choices)))  # ≤ 32 MB of float32 per chunk
    for start in range(0, len(queries), step):
        chunk = queries[start : start + step]
        scores = process.cdist(
            chunk,
            choices,
            scorer=fuzz.ratio,
            score_cutoff=TOKEN_CUTOFF,
            dtype=np.float32,
            workers=workers,
        )
        rows, cols = np.nonzero(scores)
        parts.append(
            pl.DataFrame(
                {
                    "btok": btok.gather(rows + start),
                    "ltok": ltok.gather(cols),
                    "tscore": pl.Series(scores[rows, cols].astype(np.float64)),
                }
            )
        )
    return (
        pl.concat(parts)
        if parts
        else pl.DataFrame(schema={"btok": pl.String, "ltok": pl.String, "tscore": pl.Float64})
    )
