"""Readers of the two watchlist formats: the UN SC consolidated list XML and the national CSV.

Each returns watchlist frames (parties: one row per name or alias; vessels; containers)
and raises :class:`WatchlistError` with the file, line, column and a hint on bad input.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polars as pl
from lxml import etree

from engine.errors import Location, ReferenceDataError
from engine.kernels import imo_number_valid

CSV_COLUMNS: tuple[str, ...] = (
    "kind",
    "name",
    "imo",
    "container_number",
    "list",
    "reference",
    "note",
)
PARTY_SCHEMA = {
    "entry": pl.String,
    "list": pl.String,
    "reference": pl.String,
    "name": pl.String,
    "alias": pl.String,
    "party_type": pl.String,
    "address": pl.String,
}
VESSEL_SCHEMA = {"entry": pl.String, "imo": pl.String, "name": pl.String}
CONTAINER_SCHEMA = {"entry": pl.String, "container_number": pl.String}

_PARENTHESES = re.compile(r"\s*\(([^)]*)\)\s*")


class WatchlistError(ReferenceDataError):
    """A watchlist file cannot be read or holds an invalid entry."""


# ------------------------------------------------------------------------- UN SC XML
def read_un_xml(path: Path, *, low_quality_aliases: bool) -> pl.DataFrame:
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
    return pl.DataFrame(rows, schema=PARTY_SCHEMA)


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
    names = [part for n in names for part in split_names(n)]
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


def split_names(text: str) -> list[str]:
    """The names one UN name or alias field holds.

    ``"Abdul Rehman; Abd Ur-Rehman; Abdur Rahman"`` is three names; ``"حسن غول (Hassan Ghul;
    Hassan Gul)"`` is the name in its script and two transliterations; ``"AFGHAN SUPPORT
    COMMITTEE (ASC)"`` is itself and the name without the bracket (manifests write it so;
    a bracketed acronym or qualifier is not a name of its own).
    """
    inside = [m.group(1) for m in _PARENTHESES.finditer(text)]
    outside = _PARENTHESES.sub(" ", text).strip()
    listing = [part for part in inside if ";" in part]
    names = [text] if "(" not in text or not listing else []
    if "(" in text:
        names.append(outside)
    for part in [*names, *listing]:
        for name in part.split(";") if ";" in part else [part]:
            name = " ".join(name.split()).strip(" ,")
            if name and name not in names:
                names.append(name)
    return [n for n in names if ";" not in n]


# ------------------------------------------------------------------------- national CSV
def read_csv(path: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
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
    )
    # Rows of one kind with the same list and reference are one entry: the first row's
    # name is the entry's name, the others are its aliases (other scripts, former names).
    same = ["kind", "list", "reference"]
    framed = frame.with_columns(
        pl.when(pl.col("reference").is_not_null())
        .then(entry.first().over(same, order_by="__line"))
        .otherwise(entry)
        .alias("entry"),
        pl.when(pl.col("reference").is_not_null())
        .then(pl.col("name").first().over(same, order_by="__line"))
        .otherwise(pl.col("name"))
        .alias("primary"),
    )
    parties = framed.filter(pl.col("kind") == "party").select(
        "entry",
        "list",
        "reference",
        pl.col("primary").alias("name"),
        pl.col("name").alias("alias"),
        pl.lit("party").alias("party_type"),
        pl.lit(None, dtype=pl.String).alias("address"),
    )
    vessels = framed.filter(pl.col("kind") == "vessel").select("entry", "imo", "name")
    containers = framed.filter(pl.col("kind") == "container").select("entry", "container_number")
    return parties, vessels, containers


def _check_csv(path: Path, header: list[str], frame: pl.DataFrame) -> None:
    imo_ok = imo_number_valid(frame["imo"])
    problems = {
        "kind": (~pl.col("kind").is_in(["party", "vessel", "container"])).fill_null(True),
        "list": pl.col("list").is_null(),
        "name": (pl.col("kind") == "party") & pl.col("name").is_null(),
        "imo": (pl.col("kind") == "vessel")
        & (
            (pl.col("imo").is_null() & pl.col("name").is_null())
            | (pl.col("imo").is_not_null() & ~(pl.col("imo").str.contains(r"^\d{7}$") & imo_ok))
        ),
        "container_number": (pl.col("kind") == "container")
        & ~pl.col("container_number").str.contains(r"^[A-Z]{4}\d{7}$").fill_null(False),
    }
    hints = {
        "kind": "kind is party, vessel or container",
        "list": "name the list the entry comes from, e.g. 'National sanctions'",
        "name": "a party entry needs a name",
        "imo": "a vessel entry needs a 7-digit IMO ship number with a valid check digit, "
        "or at least the vessel's name",
        "container_number": "a container entry needs an ISO 6346 number: four letters and "
        "seven digits, like MSCU1234566 (a wrong check digit is kept: manifests carry "
        "such numbers too)",
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
