"""Turn a source frame into the canonical frame, with every conversion a polars expression.

Values that do not parse become null and the field's name is listed in
``dq_unparseable_fields`` (a data-quality signal, not a reason to drop the row). Rows
without the record key cannot be tracked and go to quarantine instead.
"""

from __future__ import annotations

import polars as pl

from engine.reference import distinct_codes
from engine.schema import (
    CANONICAL,
    DATETIME,
    OPTIONAL_KEY_FIELDS,
    RECORD_ID,
    SOURCE_FILE,
    SOURCE_LINE,
    STR_LIST,
)
from engine.spec import UNITS_TO_KG, ColumnMap, DatasetSpec

QUARANTINE_SCHEMA = pl.Schema(
    {
        "source_file": pl.String(),
        "source_line": pl.Int64(),
        "field": pl.String(),
        "reason": pl.String(),
        "raw": pl.String(),
    }
)

# Code-like fields: upper case, no inner spaces, so that joins and rules compare like with like.
_CODES_UPPER = {
    "container_number",
    "iso_type",
    "port_of_loading",
    "port_of_discharge",
    "place_of_receipt",
    "place_of_delivery",
    "shipper_country",
    "consignee_country",
    "origin_country",
    "carrier_scac",
    "currency",
    "fcl_lcl",
    "awb_number",
    "airport_of_origin",
    "airport_of_destination",
}
_CODE_LISTS = {"transshipment_ports", "transfer_airports", "flights", "special_handling_codes"}
_ROLE_DTYPES: dict[str, pl.DataType] = {
    "id": pl.String(),
    "categorical": pl.String(),
    "text": pl.String(),
    "numeric": pl.Float64(),
    "time": DATETIME,
    "flag": pl.Boolean(),
    "list": STR_LIST,
}
_ISO_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
)


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def _text(src: pl.Expr) -> pl.Expr:
    s = src.cast(pl.String).str.strip_chars()
    return pl.when(s.str.len_chars() == 0).then(None).otherwise(s)


def _number(src: pl.Expr, dtype: pl.DataType, m: ColumnMap) -> pl.Expr:
    if dtype.is_numeric():
        value = src.cast(pl.Float64)
    else:
        s = _text(src).str.replace_all(r"[\s\u00a0_']", "")
        if m.decimal == ",":
            s = s.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
        else:
            # "1,234,567.5": thousands separators only where they really group by three.
            grouped = s.str.contains(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
            s = pl.when(grouped).then(s.str.replace_all(",", "", literal=True)).otherwise(s)
        value = s.cast(pl.Float64, strict=False)
    if m.unit:
        value = value * UNITS_TO_KG[m.unit]
    return value


def _integer(src: pl.Expr, dtype: pl.DataType, m: ColumnMap, target: pl.DataType) -> pl.Expr:
    value = _number(src, dtype, m)
    whole = value.is_finite() & (value == value.floor()) & (value.abs() < 2**53)
    return pl.when(whole).then(value).otherwise(None).cast(target)


def _datetime(src: pl.Expr, dtype: pl.DataType, m: ColumnMap) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return src.dt.replace_time_zone("UTC").cast(DATETIME)
        return src.dt.convert_time_zone("UTC").cast(DATETIME)
    if isinstance(dtype, pl.Date):
        return src.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    s = _text(src)
    if m.format:
        fmts: tuple[str, ...] = (m.format,)
    else:
        fmts = _ISO_FORMATS
    parsed = [_one_format(s, f) for f in fmts]
    if not m.format:
        parsed.append(
            s.str.to_date("%Y-%m-%d", strict=False)
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone("UTC")
        )
    return pl.coalesce(parsed)


def _one_format(s: pl.Expr, fmt: str) -> pl.Expr:
    has_time = any(t in fmt for t in ("%H", "%M", "%S", "%T"))
    if not has_time:
        return s.str.to_date(fmt, strict=False).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if "%z" in fmt or fmt.endswith("Z"):
        return s.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC")
    return s.str.to_datetime(fmt, strict=False, time_unit="us").dt.replace_time_zone("UTC")


def _boolean(src: pl.Expr, dtype: pl.DataType, m: ColumnMap) -> pl.Expr:
    if dtype == pl.Boolean():
        return src
    if dtype.is_numeric():
        return pl.when(src == 1).then(True).when(src == 0).then(False).otherwise(None)
    s = src.cast(pl.String).str.strip_chars().str.to_lowercase()
    return (
        pl.when(s.is_in(list(m.true_values)))
        .then(True)
        .when(s.is_in(list(m.false_values)))
        .then(False)
        .otherwise(None)
    )


def _string_list(src: pl.Expr, dtype: pl.DataType, separator: str, upper: bool) -> pl.Expr:
    if isinstance(dtype, pl.List):
        items = src.cast(STR_LIST)
    else:
        # A present but blank cell means "none" (an empty list), as in columnar formats;
        # only a missing value stays null.
        text = _text(src)
        items = (
            pl.when(text.is_null() & src.is_not_null())
            .then(pl.lit([], dtype=STR_LIST))
            .otherwise(text.str.split(separator))
        )
    cleaned = pl.element().str.strip_chars()
    if upper:
        cleaned = cleaned.str.to_uppercase().str.replace_all(r"\s+", "")
    return items.list.eval(cleaned.filter(cleaned.str.len_chars() > 0))


def convert(
    src: pl.Expr,
    source_dtype: pl.DataType,
    target: str,
    dtype: pl.DataType,
    m: ColumnMap,
    list_separator: str,
) -> pl.Expr:
    """The expression that reads one target field from its source column."""
    if dtype == pl.String():
        out = _text(src)
        if target in _CODES_UPPER:
            out = out.str.to_uppercase().str.replace_all(r"[\s\-]+", "")
        elif target == "hs_code":
            out = out.str.replace_all(r"[\s\.\-]+", "")
        elif target == "vessel_imo":
            out = out.str.to_uppercase().str.replace_all(r"^IMO[\s:\-]*|\s+", "")
        elif target == "bl_type":
            out = out.str.to_lowercase().str.replace_all(r"[\s\-]+", "_")
        elif target in ("freight_terms", "freight_payment", "inspection_result", "finding_type"):
            out = out.str.to_lowercase()
        return out
    if dtype == pl.Float64():
        return _number(src, source_dtype, m)
    if dtype in (pl.Int64(), pl.Int32()):
        return _integer(src, source_dtype, m, dtype)
    if dtype == DATETIME:
        return _datetime(src, source_dtype, m)
    if dtype == pl.Boolean():
        return _boolean(src, source_dtype, m)
    if dtype == STR_LIST:
        return _string_list(src, source_dtype, list_separator, target in _CODE_LISTS)
    raise AssertionError(f"no conversion to {dtype} for {target}")  # schema and code disagree


def _present(src: pl.Expr, source_dtype: pl.DataType) -> pl.Expr:
    """True where the source holds a value (not null, not blank text, not an empty list)."""
    if source_dtype == pl.String():
        return src.is_not_null() & (src.str.strip_chars().str.len_chars() > 0)
    if isinstance(source_dtype, pl.List):
        return src.is_not_null() & (src.list.len() > 0)
    return src.is_not_null()


def _never_unparseable(target: pl.DataType, source_dtype: pl.DataType) -> bool:
    """Text read from text, numbers or flags is null exactly where the source holds no
    value (:func:`_present`), so its parse check can never fire and is not computed."""
    return target == pl.String() and (
        source_dtype == pl.String() or source_dtype.is_numeric() or source_dtype == pl.Boolean()
    )


def _label_dtype(raw: pl.DataFrame, column: str) -> pl.DataType:
    """Labels keep their nature: integer codes stay integers, words stay words."""
    dtype = raw.schema[column]
    if dtype.is_integer() or dtype == pl.Boolean():
        return dtype
    as_int = raw.get_column(column).cast(pl.String).str.strip_chars().cast(pl.Int64, strict=False)
    text = raw.get_column(column).cast(pl.String).str.strip_chars()
    if int(((text.is_not_null()) & (text != "") & as_int.is_null()).sum()) == 0:
        return pl.Int64()
    return pl.String()


def _text_by_distinct(values: pl.Series, convert_text: pl.Expr) -> pl.Series | None:
    """``convert_text`` (a code's clean-up, a parse) computed once per distinct value and
    given to every row; None when the values barely repeat (then the rowwise expression is
    cheaper). Codes, ports, countries and times to the minute repeat heavily: their
    trimming, case folding, regex clean-up or parse then run on a few thousand values
    instead of every row. A column whose first rows barely repeat (container numbers:
    ~230k distinct in a 250k-row chunk) is not numbered at all, as numbering the whole
    column would only find that out (the result is the same either way)."""
    sample = values.head(_SAMPLE_ROWS)
    if sample.len() == _SAMPLE_ROWS and sample.n_unique() > _SAMPLE_ROWS * 3 // 4:
        return None
    distinct, codes = distinct_codes(values)
    if distinct.len() * _DISTINCT_SHARE > values.len():
        return None
    return distinct.to_frame().select(convert_text).to_series().gather(codes)


_DISTINCT_SHARE = 4
"""Codes are converted per distinct value when at most one row in this many is distinct."""
_SAMPLE_ROWS = 4096
"""Rows read first to tell a column that barely repeats: more than three in four of them
distinct (container numbers ~90 %; in the benchmark's chunks HS codes 40 %, IMO numbers 28 %,
each repeating more than four times over the whole chunk)."""

_CODE_FIELDS = frozenset(
    {
        *_CODES_UPPER,
        "hs_code",
        "vessel_imo",
        "bl_type",
        "freight_terms",
        "freight_payment",
        "inspection_result",
        "finding_type",
    }
)
"""Text fields whose conversion does more than trim (case, separators): converted per
distinct value where they repeat. Free text (names, addresses, goods) is trimmed row by row
on both cores: hashing long text for its distinct values cost more wall time than it saved
(the 1M batch's load, quiet machine: all text 2.6–2.8 s, codes only 2.0–2.3 s, row by row
2.3–2.7 s)."""

_PARSED = (DATETIME, pl.Float64(), pl.Int64(), pl.Int32(), pl.Boolean(), STR_LIST)
"""Types read from text by a parse (times against ten ISO layouts, numbers through their
clean-up, flags, lists split): parsed per distinct value where the text repeats, as codes
are. A day's filing and arrival times at minute resolution are ~1,500 distinct values in
a 250k-row chunk; parsed row by row they were most of the time of reading a CSV."""


def to_canonical(
    raw: pl.DataFrame, spec: DatasetSpec, *, source_file: str, source_lines: pl.Series
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Map a source frame onto the canonical frame; return (rows, quarantined rows).

    ``spec`` must already be bound to the source's columns (see ``resolve_columns``).
    """
    exprs: list[pl.Expr] = []
    bad: list[pl.Expr] = []
    for name, field in CANONICAL.items():
        m = spec.columns.get(name)
        if m is None:
            exprs.append(pl.lit(None, dtype=field.dtype).alias(name))
            continue
        src_dtype = raw.schema[m.source]
        src = pl.col(m.source)
        value = convert(src, src_dtype, name, field.dtype, m, spec.list_separator)
        if src_dtype == pl.String() and (name in _CODE_FIELDS or field.dtype in _PARSED):
            done = _text_by_distinct(raw.get_column(m.source), value)
            value = value if done is None else pl.lit(done)
        exprs.append(value.alias(name))
        if not _never_unparseable(field.dtype, src_dtype):
            bad.append(pl.when(_present(src, src_dtype) & value.is_null()).then(pl.lit(name)))
    for name, m in spec.extra.items():
        src_dtype = raw.schema[m.source]
        src = pl.col(m.source)
        if m.role == "label":
            dtype = _label_dtype(raw, m.source)
            value = (
                src
                if src_dtype == dtype
                else src.cast(pl.String).str.strip_chars().cast(dtype, strict=False)
            )
        else:
            dtype = _ROLE_DTYPES[m.role or "text"]
            value = convert(src, src_dtype, name, dtype, m, spec.list_separator)
        exprs.append(value.alias(name))
        if m.role not in ("text", "id", "categorical"):
            bad.append(pl.when(_present(src, src_dtype) & value.is_null()).then(pl.lit(name)))
    unparseable = pl.concat_list(bad).list.drop_nulls() if bad else pl.lit([], dtype=STR_LIST)
    # lazy: polars then computes the parts the conversions and presence tests share once
    frame = (
        raw.lazy()
        .select(
            *exprs,
            unparseable.cast(STR_LIST).alias("dq_unparseable_fields"),
            pl.lit(source_file).alias(SOURCE_FILE),
            pl.lit(source_lines.cast(pl.Int64)).alias(SOURCE_LINE),
        )
        .collect()
    )
    # an optional part (house AWB) is left out when empty, so a master AWB alone is keyed
    # by itself ("17612345675", not "17612345675/")
    required = [
        pl.col(f).cast(pl.String)
        for i, f in enumerate(spec.record_id)
        if not (i and f in OPTIONAL_KEY_FIELDS)
    ]
    key = pl.concat_str(required, separator="/") if len(required) > 1 else required[0]
    for i, f in enumerate(spec.record_id):
        if i and f in OPTIONAL_KEY_FIELDS:
            part = pl.col(f).cast(pl.String)
            key = key + pl.when(part.is_not_null() & (part != "")).then(
                pl.lit("/") + part
            ).otherwise(pl.lit(""))
    frame = frame.with_columns(
        pl.col("dq_unparseable_fields").list.len().gt(0).alias("dq_unparseable_values"),
        key.alias(RECORD_ID),
    )
    missing = frame.get_column(RECORD_ID).is_null()
    if not bool(missing.any()):
        return frame, empty_quarantine()
    missing_field = pl.coalesce(
        [
            pl.when(pl.col(f).is_null()).then(pl.lit(f))
            for i, f in enumerate(spec.record_id)
            if not (i and f in OPTIONAL_KEY_FIELDS)
        ]
    )
    quarantined = frame.filter(missing).select(
        pl.col(SOURCE_FILE).alias("source_file"),
        pl.col(SOURCE_LINE).alias("source_line"),
        missing_field.alias("field"),
        pl.format("required field '{}' is empty: the row cannot be keyed", missing_field).alias(
            "reason"
        ),
        pl.lit(None, dtype=pl.String).alias("raw"),
    )
    return frame.filter(~missing), quarantined
