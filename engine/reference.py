"""Reference tables the engine joins against: UN/LOCODE seaports, IATA airports, HS 2022,
ISO 3166, ISO 6346.

The shipped copies live in ``engine/reference_data`` (provenance in its README). A unit may
point Lookout at a newer copy of the same files with ``ReferenceData.load(directory)``;
nothing here hard-codes the tables' contents. Loading reads only the columns the engine
uses and is cached per directory, so every stage of a run shares one copy.

>>> refs = ReferenceData.load()
>>> refs.seaports.filter(pl.col("locode") == "NLRTM")["name"].item()
'Rotterdam'
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from engine.errors import Location, ReferenceDataError
from engine.identity import file_id

SHIPPED_DIRECTORY = Path(__file__).resolve().parent / "reference_data"
"""The reference tables shipped with Lookout."""

SEAPORTS_FILE = "unlocode_seaports.csv"
PORT_ALIASES_FILE = "unlocode_aliases.csv"
"""Optional: codes carriers write for seaports the snapshot lists under another code."""
HS_FILE = "hs2022.csv"
COUNTRIES_FILE = "country-codes.csv"
ISO6346_SIZE_FILE = "iso6346/size.json"
ISO6346_TYPE_FILE = "iso6346/type.json"
ISO6346_GROUP_FILE = "iso6346/group.json"
AIRPORTS_FILE = "iata_airports.csv"

FILES: tuple[str, ...] = (
    SEAPORTS_FILE,
    HS_FILE,
    COUNTRIES_FILE,
    ISO6346_SIZE_FILE,
    ISO6346_TYPE_FILE,
    ISO6346_GROUP_FILE,
    AIRPORTS_FILE,
)
"""Every file a reference directory must hold, relative to it."""

_HINT = (
    "restore it from the Lookout distribution (engine/reference_data), or point "
    "--reference-dir at a directory holding the same files in the same format "
    "(see engine/reference_data/README.md)"
)

# The country-codes table names its columns after the standards; these are the few we use.
_COUNTRY_COLUMNS = {
    "ISO3166-1-Alpha-2": "alpha2",
    "ISO3166-1-Alpha-3": "alpha3",
    "CLDR display name": "name",
    "Region Name": "region",
}


@dataclass(frozen=True, eq=False)
class ReferenceData:
    """The reference tables, as polars frames (one row per code, codes unique).

    - ``seaports``: ``locode`` (country + location, e.g. ``NLRTM``), ``country``, ``name``,
      ``lat``, ``lon`` (null where UN/LOCODE has no usable coordinates), ``alias_of`` (the
      snapshot's code for a carrier alias such as ``CNSHA``, else null): an alias is a
      known seaport with its port's name and coordinates.
    - ``hs``: ``code``, ``level`` (2, 4 or 6), ``description``, ``chapter``. The trade
      statistics "not specified" codes (section ``TOTAL``: 99, 9999, 999999) are left out:
      they are not WCO codes and must not validate.
    - ``countries``: ``alpha2``, ``alpha3``, ``name``, ``region`` (UN M49 region).
    - ``iso_lengths``: ISO 6346 size-code first character (``code``, ``length``).
    - ``iso_heights``: size-code second character (``code``, ``height``, ``width``).
    - ``iso_types``: two-character type codes (``code``, ``group``, ``group_description``,
      ``description``), e.g. ``G1``, ``R1``.
    - ``airports``: IATA airport codes (``iata``, ``country``, ``name``, ``city``, ``lat``,
      ``lon``).
    - ``digests``: SHA-256 of every source file, for the run record.
    """

    directory: Path
    seaports: pl.DataFrame
    hs: pl.DataFrame
    countries: pl.DataFrame
    iso_lengths: pl.DataFrame
    iso_heights: pl.DataFrame
    iso_types: pl.DataFrame
    digests: dict[str, str]
    airports: pl.DataFrame

    @classmethod
    def load(cls, directory: Path | None = None) -> ReferenceData:
        """Load the tables from ``directory`` (default: the shipped copies), cached per path.

        Raises :class:`ReferenceDataError` naming the file when one is missing or malformed.
        """
        path = SHIPPED_DIRECTORY if directory is None else Path(directory)
        return _load_cached(path.expanduser().resolve())

    def fingerprint(self) -> dict[str, Any]:
        """What a run record stores about the reference data: where and which content."""
        return {"directory": str(self.directory), "sha256": dict(self.digests)}


# --------------------------------------------------------------------------------------
# How codes are read before they are looked up. Validation and enrichment share these so a
# code that validates is also the code that joins.
# --------------------------------------------------------------------------------------
def blank_to_null(value: pl.Expr) -> pl.Expr:
    """Text that is empty once whitespace is trimmed counts as missing (null)."""
    return pl.when(value.str.strip_chars().str.len_bytes() > 0).then(value)


def normalised_code(value: pl.Expr) -> pl.Expr:
    """A code as written, upper-cased, with whitespace, ``-`` and ``.`` removed; blank -> null.

    ``"nl rtm"`` -> ``"NLRTM"``, ``" cn "`` -> ``"CN"``, ``"22g1"`` -> ``"22G1"``.
    """
    stripped = value.str.replace_all(r"[\s\-.]+", "")
    # Upper-case ASCII only: Unicode case mapping could turn junk into a real code
    # ("ß" -> "SS", South Sudan). Non-ASCII text stays as it is and never matches.
    upper = (
        pl.when(stripped.str.contains(r"^[[:ascii:]]*$"))
        .then(stripped.str.to_uppercase())
        .otherwise(stripped)
    )
    return blank_to_null(upper)


def normalised_hs_code(value: pl.Expr) -> pl.Expr:
    """An HS code with dots, spaces and hyphens removed (``"8471.30"`` -> ``"847130"``)."""
    return normalised_code(value)


def hs_code_is_well_formed(code: pl.Expr) -> pl.Expr:
    """A normalised HS code is digits only, of length 2, 4 or 6 to 10.

    2 and 4 digits name an HS chapter or heading; 6 digits the WCO subheading; 7 to 10 digits
    are national extensions (tariff lines, statistical suffixes), which HS cannot check. An
    odd length below 6 is usually a lost leading zero (``"101"`` for ``"0101"``) and is
    not accepted.
    """
    return code.str.contains(r"^(?:\d{2}|\d{4}|\d{6,10})$")


def distinct_codes(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """The distinct values of a text series and each row's position among them.

    ``distinct.gather(codes)`` is ``values`` again; a null is a value like any other (at
    most once among the distinct values); positions are ``UInt32``. The rows are numbered
    by their polars hash in one numba pass (:func:`engine.kernels.first_occurrence_codes`)
    and the numbering is then checked against the text itself: in the rare case that two
    different values share a hash, Arrow's dictionary encoding numbers them instead. Either
    way, one pass that a ``unique()`` and a join would each take.
    """
    from engine.kernels import first_occurrence_codes  # numba: not at import (start-up)

    codes_array, first = first_occurrence_codes(values.hash().to_numpy())
    distinct = values.gather(first)
    codes = pl.Series(values.name, codes_array, dtype=pl.UInt32)
    if values.eq_missing(distinct.gather(codes)).all():
        return distinct, codes
    return _dictionary_codes(values)


def per_distinct(values: pl.Series, compute: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """``compute`` of each distinct value of a text column, given to every row in order.

    Ports, codes, parties and descriptions repeat heavily within a batch, so the string
    work runs once per distinct value (:func:`distinct_codes`).
    """
    distinct, codes = distinct_codes(values.cast(pl.String))
    return compute(distinct).gather(codes)


def _dictionary_codes(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """:func:`distinct_codes` by Arrow's dictionary encoding (exact, about twice as slow).

    A null row gets the position of one null appended to the distinct values (Arrow's own
    null encoding turns a string view's null into "").
    """
    encoded = pc.dictionary_encode(values.to_arrow(compat_level=pl.CompatLevel.newest()))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    distinct = pl.Series(values.name, pl.from_arrow(encoded.dictionary), dtype=pl.String)
    codes = pl.Series(pl.from_arrow(encoded.indices)).cast(pl.UInt32).fill_null(distinct.len())
    return distinct.extend(pl.Series(values.name, [None], dtype=pl.String)), codes


def lookup_distinct(frame: pl.DataFrame, column: str, derive: dict[str, pl.Expr]) -> pl.DataFrame:
    """Evaluate ``derive`` once per distinct value of ``column`` and give it to every row.

    Code and text columns repeat heavily within a batch (a few thousand ports, parties and
    descriptions for a million rows), so the costly string work runs on the distinct
    values only; a left join that keeps the left order brings the results back. Returns
    the derived columns only, one row per row of ``frame``, in order. ``derive``'s
    expressions read ``pl.col(column)``; null is a value like any other.
    """
    values = frame.get_column(column)
    if values.dtype == pl.String:
        distinct, codes = distinct_codes(values)
        return distinct.to_frame().select(**derive).select(pl.all().gather(codes))
    table = frame.select(pl.col(column).unique()).with_columns(**derive)
    joined = frame.select(column).join(
        table, on=column, how="left", nulls_equal=True, maintain_order="left"
    )
    return joined.drop(column)


@functools.lru_cache(maxsize=8)
def _load_cached(directory: Path) -> ReferenceData:
    if not directory.is_dir():
        raise ReferenceDataError(
            "reference data directory does not exist",
            location=Location(file=str(directory)),
            hint=_HINT,
        )
    digests = {name: _sha256(directory / name) for name in FILES}
    if (directory / PORT_ALIASES_FILE).is_file():
        digests[PORT_ALIASES_FILE] = _sha256(directory / PORT_ALIASES_FILE)
    iso_types, iso_groups = (
        _read_json(directory, ISO6346_TYPE_FILE),
        _read_json(directory, ISO6346_GROUP_FILE),
    )
    return ReferenceData(
        directory=directory,
        seaports=_with_aliases(
            _load_seaports(directory / SEAPORTS_FILE), directory / PORT_ALIASES_FILE
        ),
        hs=_load_hs(directory / HS_FILE),
        countries=_load_countries(directory / COUNTRIES_FILE),
        iso_lengths=_load_iso_lengths(directory),
        iso_heights=_load_iso_heights(directory),
        iso_types=_iso_type_frame(directory, iso_types, iso_groups),
        digests=digests,
        airports=_load_airports(directory / AIRPORTS_FILE),
    )


def _sha256(path: Path) -> str:
    try:
        return file_id(path)
    except OSError as exc:
        raise ReferenceDataError(
            f"reference table cannot be read ({exc.strerror or exc})",
            location=Location(file=str(path)),
            hint=_HINT,
        ) from exc


def _read_csv(path: Path, columns: list[str]) -> pl.DataFrame:
    """Read ``columns`` of a CSV as text; every failure names the file and the columns."""
    try:
        # infer_schema=False: everything as text, so codes such as Namibia's "NA" or HS
        # "0101" survive exactly as written; numbers are cast explicitly afterwards.
        frame = pl.read_csv(path, columns=columns, infer_schema=False, encoding="utf8-lossy")
    except pl.exceptions.ColumnNotFoundError as exc:
        raise ReferenceDataError(
            f"reference table lacks a required column; expected columns {columns}",
            location=Location(file=str(path)),
            hint=_HINT,
        ) from exc
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ReferenceDataError(
            f"reference table is not a readable CSV file ({type(exc).__name__})",
            location=Location(file=str(path)),
            hint=_HINT,
        ) from exc
    if frame.height == 0:
        raise ReferenceDataError(
            "reference table has no rows", location=Location(file=str(path)), hint=_HINT
        )
    return frame


def _check_codes(frame: pl.DataFrame, column: str, pattern: str, path: Path) -> None:
    """Fail on the first row whose ``column`` does not match ``pattern`` (line = row + 2)."""
    bad = frame.with_row_index("_row").filter(
        ~pl.col(column).str.contains(pattern).fill_null(False)
    )
    if bad.height:
        row = bad.row(0, named=True)
        raise ReferenceDataError(
            f"malformed code {row[column]!r}; expected it to match {pattern}",
            location=Location(file=str(path), line=int(row["_row"]) + 2, field=column),
            hint=_HINT,
        )


def _load_seaports(path: Path) -> pl.DataFrame:
    raw = _read_csv(path, ["country", "location", "name", "nameWoDiacritics", "lat", "lon"])
    _check_codes(raw, "country", r"^[A-Z]{2}$", path)
    _check_codes(raw, "location", r"^[A-Z2-9]{3}$", path)
    try:
        coordinates = [pl.col(c).cast(pl.Float64, strict=True) for c in ("lat", "lon")]
        frame = raw.with_columns(coordinates)
    except pl.exceptions.PolarsError as exc:
        raise ReferenceDataError(
            "lat/lon must be decimal degrees or empty",
            location=Location(file=str(path)),
            hint=_HINT,
        ) from exc
    return (
        frame.select(
            locode=pl.col("country") + pl.col("location"),
            country="country",
            # Some upstream names lost their diacritics to U+FFFD; the ASCII form is then
            # the better name.
            name=pl.when(pl.col("name").str.contains("\ufffd", literal=True))
            .then(pl.col("nameWoDiacritics"))
            .otherwise(pl.col("name")),
            lat="lat",
            lon="lon",
        )
        # A LOCODE may be listed once per language name (BEBRU: Brussel / Bruxelles).
        .unique("locode", keep="first", maintain_order=True)
    )


def _with_aliases(seaports: pl.DataFrame, path: Path) -> pl.DataFrame:
    """The seaports plus one row per alias (the port's row under the alias code)."""
    seaports = seaports.with_columns(alias_of=pl.lit(None, pl.String))
    if not path.is_file():
        return seaports
    aliases = _read_csv(path, ["alias", "locode"])
    _check_codes(aliases, "alias", r"^[A-Z]{2}[A-Z2-9]{3}$", path)
    known = seaports["locode"].implode()
    clash = aliases.with_row_index("_row").filter(
        pl.col("alias").is_in(known) | ~pl.col("locode").is_in(known)
    )
    if clash.height:
        row = clash.row(0, named=True)
        raise ReferenceDataError(
            f"alias {row['alias']} → {row['locode']}: an alias must not be a seaport code and "
            "must name one",
            location=Location(file=str(path), line=int(row["_row"]) + 2),
            hint=_HINT,
        )
    rows = aliases.join(seaports.drop("alias_of"), on="locode", how="inner").select(
        locode="alias", country="country", name="name", lat="lat", lon="lon", alias_of="locode"
    )
    return pl.concat([seaports, rows]).unique("locode", keep="first", maintain_order=True)


def _load_airports(path: Path) -> pl.DataFrame:
    raw = _read_csv(path, ["iata", "name", "city", "country", "lat", "lon"])
    _check_codes(raw, "iata", r"^[A-Z0-9]{3}$", path)
    _check_codes(raw, "country", r"^[A-Z]{2}$", path)
    try:
        frame = raw.with_columns(pl.col(c).cast(pl.Float64, strict=True) for c in ("lat", "lon"))
    except pl.exceptions.PolarsError as exc:
        raise ReferenceDataError(
            "lat/lon must be decimal degrees or empty",
            location=Location(file=str(path)),
            hint=_HINT,
        ) from exc
    return frame.select("iata", "country", "name", "city", "lat", "lon").unique(
        "iata", keep="first", maintain_order=True
    )


def _load_hs(path: Path) -> pl.DataFrame:
    raw = _read_csv(path, ["section", "hscode", "description", "level"])
    codes = raw.filter(pl.col("section") != "TOTAL")
    _check_codes(codes, "hscode", r"^(\d{2}|\d{4}|\d{6})$", path)
    frame = codes.select(
        code="hscode",
        level=pl.col("hscode").str.len_bytes().cast(pl.Int8),
        description="description",
        chapter=pl.col("hscode").str.slice(0, 2),
    )
    if frame["code"].is_duplicated().any():
        raise ReferenceDataError(
            "HS codes are not unique", location=Location(file=str(path)), hint=_HINT
        )
    return frame


def _load_countries(path: Path) -> pl.DataFrame:
    raw = _read_csv(path, list(_COUNTRY_COLUMNS))
    frame = raw.rename(_COUNTRY_COLUMNS).select(_COUNTRY_COLUMNS.values())
    # Rows without an alpha-2 code (historic entries) are not countries we can match.
    frame = frame.filter(pl.col("alpha2").is_not_null())
    _check_codes(frame, "alpha2", r"^[A-Z]{2}$", path)
    return frame.unique("alpha2", keep="first", maintain_order=True)


def _read_json(directory: Path, name: str) -> dict[str, Any]:
    path = directory / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReferenceDataError(
            f"reference table cannot be read ({exc.strerror or exc})",
            location=Location(file=str(path)),
            hint=_HINT,
        ) from exc
    except json.JSONDecodeError as exc:
        raise ReferenceDataError(
            f"not valid JSON: {exc.msg}",
            location=Location(file=str(path), line=exc.lineno, column=exc.colno),
            hint=_HINT,
        ) from exc
    if not isinstance(data, dict) or not data:
        raise ReferenceDataError(
            "expected a non-empty JSON object of code -> description",
            location=Location(file=str(path)),
            hint=_HINT,
        )
    return data


def _code_table(
    path: Path, table: Any, key_len: int, columns: dict[str, Callable[[Any], str]]
) -> pl.DataFrame:
    """A frame of ``code`` + ``columns`` from a JSON object keyed by fixed-length codes."""
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and len(k) == key_len for k in table
    ):
        raise ReferenceDataError(
            f"expected an object keyed by {key_len}-character codes",
            location=Location(file=str(path)),
            hint=_HINT,
        )
    try:
        values = {name: [get(v) for v in table.values()] for name, get in columns.items()}
    except (KeyError, TypeError) as exc:
        raise ReferenceDataError(
            f"entry lacks {exc}; expected fields {list(columns)}",
            location=Location(file=str(path)),
            hint=_HINT,
        ) from exc
    return pl.DataFrame({"code": list(table), **values}, schema_overrides={"code": pl.String})


def _load_iso_lengths(directory: Path) -> pl.DataFrame:
    data = _read_json(directory, ISO6346_SIZE_FILE)
    return _code_table(
        directory / ISO6346_SIZE_FILE, data.get("length"), 1, {"length": lambda v: str(v)}
    )


def _load_iso_heights(directory: Path) -> pl.DataFrame:
    data = _read_json(directory, ISO6346_SIZE_FILE)
    return _code_table(
        directory / ISO6346_SIZE_FILE,
        data.get("heightWidth"),
        1,
        {"height": lambda v: str(v["height"]), "width": lambda v: str(v["width"])},
    )


def _iso_type_frame(directory: Path, types: dict[str, Any], groups: dict[str, Any]) -> pl.DataFrame:
    frame = _code_table(directory / ISO6346_TYPE_FILE, types, 2, {"description": str})
    group_names = pl.DataFrame(
        {"group": list(groups), "group_description": [str(v) for v in groups.values()]},
        schema={"group": pl.String, "group_description": pl.String},
    )
    frame = frame.with_columns(group=pl.col("code").str.slice(0, 1)).join(
        group_names, on="group", how="left", maintain_order="left"
    )
    return frame.select("code", "group", "group_description", "description")
