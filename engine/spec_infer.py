"""Propose a dataset spec for an unknown CSV from its column names and its contents.

Each column is scored against each canonical field on two kinds of evidence:

- **name**: fuzzy similarity (rapidfuzz) of the normalised column name to the field's
  synonyms ("CNTR NO", "Equipment Number" → ``container_number``; "POL", "Port of Loading"
  → ``port_of_loading``; "Gross Weight (KG)" → ``gross_weight_kg``, …);
- **content**, on a sample of rows, all as polars expressions: ISO 6346 container numbers
  with a valid check digit, UN/LOCODE seaports, HS headings, ISO 3166 countries, IMO
  numbers, dates (ISO or a detected ``format``), numbers, whole numbers.

Fields are then assigned greedily, best score first, each field and column used once.
Columns left over become extra fields with a role guessed from their contents, so nothing
is lost. The result is YAML that ``engine.spec.load_spec`` accepts, each line commented with
the evidence, for a person to review before use.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from rapidfuzz import fuzz

from engine._canonical import convert
from engine.errors import IngestError, Location
from engine.formats.delimited import read_csv_chunks, sniff_csv
from engine.kernels import container_number_valid, imo_number_valid
from engine.reference import ReferenceData
from engine.schema import CANONICAL, DATETIME, LABEL_FIELDS, REQUIRED_MANIFEST_FIELDS
from engine.spec import ColumnMap, CsvOptions, DatasetSpec

SAMPLE_ROWS = 5_000
ACCEPT = 85.0  # score needed to map a column to a canonical field
SHARE = 0.8  # share of sample values that must fit a content pattern

# fmt: off
SYNONYMS: dict[str, tuple[str, ...]] = {
    "container_number": ("container number", "container no", "cntr no", "cntr", "container",
                         "container id", "equipment number", "equipment id", "equipment no",
                         "equipment reference", "ctr no", "box number", "unit number"),
    "iso_type": ("iso type", "iso code", "container type", "size type", "type size",
                 "equipment type", "iso equipment code", "cntr type", "equipment size type",
                 "container size and type", "equipment description code"),
    "seals": ("seal", "seals", "seal number", "seal no", "seal nos", "seal numbers",
              "seal identifiers", "seal identifier"),
    "fcl_lcl": ("fcl lcl", "fcl", "load type", "stuffing"),
    "is_empty": ("empty", "is empty", "empty indicator", "full empty", "empty full"),
    "bl_number": ("bl number", "bl no", "b l no", "b l number", "bill of lading",
                  "bill of lading number", "bl", "bol", "bol number", "mbl", "mbl no", "master bl",
                  "master bill", "master bill of lading", "transport document number",
                  "document number", "bill no", "obl", "awb", "master bol", "master bol number",
                  "master bl number", "mbol", "master transport document number"),
    "house_bl_number": ("house bl", "hbl", "hbl no", "house bill", "house bol",
                        "house bill of lading", "house bl number", "house bol number",
                        "house transport document number", "hbol"),
    "bl_type": ("bl type", "bill type", "document type"),
    "filed_at": ("filed at", "filed", "filing date", "submission date", "lodgement date",
                 "declaration date", "manifest date", "report date", "date"),
    "amendments": ("amendments", "amendment count", "number of amendments"),
    "freight_terms": ("freight terms", "freight", "prepaid collect", "payment terms"),
    "shipper_name": ("shipper", "shipper name", "consignor", "consignor name", "exporter",
                     "exporter name", "seller", "shipper party name", "shipper party"),
    "shipper_address": ("shipper address", "consignor address", "exporter address",
                        "shipper party address"),
    "shipper_country": ("shipper country", "consignor country", "exporter country",
                        "country of export"),
    "shipper_id": ("shipper id", "consignor id", "exporter id", "shipper eori", "consignor eori",
                   "exporter tin", "consignor identification number",
                   "shipper identification number"),
    "consignee_name": ("consignee", "consignee name", "importer", "importer name", "buyer",
                       "receiver"),
    "consignee_address": ("consignee address", "importer address"),
    "consignee_country": ("consignee country", "importer country"),
    "consignee_id": ("consignee id", "importer id", "consignee eori", "importer tin",
                     "importer of record", "consignee identification number"),
    "notify_name": ("notify", "notify party", "notify party name", "notify name"),
    "notify_address": ("notify address", "notify party address"),
    "hs_code": ("hs", "hs code", "hscode", "hs6", "hs6 code", "commodity code", "tariff code",
                "harmonized code", "harmonized number", "hts", "hts code", "tariff number",
                "harmonized system sub heading code", "commodity code harmonized system"),
    "goods_description": ("description", "goods description", "description of goods",
                          "commodity description", "cargo description", "goods", "commodity",
                          "description text", "goods description text"),
    "packages": ("packages", "no of packages", "number of packages", "pkgs", "package count",
                 "quantity", "qty", "piece count", "pieces"),
    "package_type": ("package type", "pkg type", "packaging", "kind of packages", "package unit"),
    "gross_weight_kg": ("gross weight", "gross weight kg", "weight", "weight kg", "gross mass",
                        "gw", "gross wt", "cargo weight", "kgs", "gross weight lbs"),
    "declared_value": ("value", "declared value", "invoice value", "item price", "customs value",
                       "cif value", "fob value"),
    "currency": ("currency", "curr", "currency code"),
    "un_dg_number": ("un number", "un no", "imdg", "dg", "dangerous goods", "hazmat", "un code",
                     "un dangerous goods code", "hazmat code"),
    "origin_country": ("origin", "country of origin", "origin country", "coo"),
    "place_of_receipt": ("place of receipt", "por", "receipt", "place of acceptance"),
    "port_of_loading": ("port of loading", "pol", "loading port", "load port", "port of lading",
                        "lading port", "place of loading"),
    "transshipment_ports": ("transshipment", "transhipment", "transshipment ports",
                            "transhipment ports", "tsp", "via", "transit ports"),
    "port_of_discharge": ("port of discharge", "pod", "discharge port", "port of unloading",
                          "port of unlading", "unlading port", "place of unloading"),
    "place_of_delivery": ("place of delivery", "final destination", "delivery place", "pld", "fnd",
                          "place of final delivery"),
    "vessel_imo": ("imo", "imo number", "imo no", "vessel imo", "lloyds number",
                   "transport means identification number", "conveyance id"),
    "vessel_name": ("vessel", "vessel name", "ship", "ship name"),
    "voyage": ("voyage", "voyage number", "voyage no", "voy", "conveyance reference number"),
    "carrier_scac": ("carrier", "scac", "carrier code", "carrier scac", "shipping line"),
    "departed_at": ("departure", "departure date", "sailing date", "etd", "atd", "departed",
                    "departed at", "date of departure"),
    "arrival_eta": ("eta", "arrival", "arrival date", "estimated arrival", "ata", "arrival eta",
                    "estimated time of arrival"),
    "inspected": ("inspected", "examined", "inspection"),
    "inspection_result": ("inspection result", "result", "outcome", "finding"),
    "finding_type": ("finding type", "seizure type", "offence type"),
    "inspected_at": ("inspected at", "inspection date", "date of inspection", "result date",
                     "examination date"),
}
# fmt: on
"""Canonical field → column names seen in the wild (normalised: lower case, words)."""

# What each content kind is evidence for (bonus) and which fields demand a kind (penalty).
_KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "container": ("container_number",),
    "locode": (
        "place_of_receipt",
        "port_of_loading",
        "port_of_discharge",
        "place_of_delivery",
        "transshipment_ports",
    ),
    "hs": ("hs_code",),
    "country": ("shipper_country", "consignee_country", "origin_country"),
    "imo": ("vessel_imo",),
    "date": ("filed_at", "departed_at", "arrival_eta", "last_amended_at"),
    "integer": ("packages", "amendments", "gross_weight_kg", "declared_value"),
    "number": ("gross_weight_kg", "declared_value"),
}
_KIND_BONUS = {
    "container": 60.0,
    "imo": 45.0,
    "hs": 40.0,
    "locode": 35.0,
    "country": 30.0,
    "date": 25.0,
    "integer": 10.0,
    "number": 10.0,
}
_STRONG = ("container", "imo", "hs", "locode", "country")
_DATE_FORMATS = (
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y%m%d",
    "%d-%m-%Y",
    "%Y/%m/%d",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d.%m.%Y %H:%M",
)
_UNIT_WORDS = {
    "kg": "kg",
    "kgs": "kg",
    "kilograms": "kg",
    "kgm": "kg",
    "lb": "lb",
    "lbs": "lb",
    "pounds": "lb",
    "t": "t",
    "mt": "t",
    "tonnes": "t",
    "tons": "t",
    "tne": "t",
}
_LABEL_WORDS = re.compile(r"\b(fraud|label|target|seizure|positive|hit|is_fraud)\b")


@dataclass
class ColumnEvidence:
    """What was learnt about one source column."""

    name: str
    kind: str | None  # strongest content kind (share >= SHARE of non-empty values), or None
    shares: dict[str, float] = field(default_factory=dict)
    distinct_share: float = 0.0
    date_format: str | None = None
    decimal: str = "."


@dataclass
class Decision:
    """One line of the proposed spec."""

    column: str
    target: str
    canonical: bool
    why: str
    options: dict[str, object] = field(default_factory=dict)
    role: str | None = None


@dataclass
class InferredSpec:
    """The proposal: decisions, the YAML text, and the evidence behind it."""

    name: str
    separator: str
    encoding: str
    decisions: list[Decision]
    record_id: list[str] | str | None
    time_field: str | None
    list_separator: str
    evidence: dict[str, ColumnEvidence]
    yaml: str = ""
    quote: str = '"'


def normalise_words(name: str) -> str:
    """'Gross Weight (KG)' → 'gross weight kg'; 'B/L No.' → 'b l no'."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return " ".join(re.findall(r"[a-z0-9]+", spaced.lower()))


def name_score(column: str, target: str) -> float:
    """0–100: how much ``column`` reads like the canonical field ``target``."""
    words = normalise_words(column)
    if not words:
        return 0.0
    candidates = (target.replace("_", " "), *SYNONYMS.get(target, ()))
    return max(max(fuzz.ratio(words, c), fuzz.token_sort_ratio(words, c)) for c in candidates)


# ---------------------------------------------------------------------------------------
# Reading a sample
# ---------------------------------------------------------------------------------------
def _sample(path: Path, rows: int) -> tuple[pl.DataFrame, CsvOptions]:
    """The first ``rows`` records as text columns, read as ``lookout score`` reads them
    (separator and quote detected from the content, RFC 4180 quoting)."""
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    if not head.strip():
        raise IngestError(
            "the file is empty",
            location=Location(file=str(path)),
            hint="pass a CSV with a header line and some rows",
        )
    try:
        head.decode("utf-8")
        encoding = "utf8"
    except UnicodeDecodeError as err:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        encoding = "utf8" if err.start >= len(head) - 3 else "latin-1"
    opts, detected = sniff_csv(path, CsvOptions(encoding=encoding))
    if detected["detected_by"] != "content":
        raise IngestError(
            "cannot tell the column separator from the header line",
            location=Location(file=str(path), line=1),
            hint="spec infer reads delimited text (comma, tab, semicolon or pipe) with a "
            "header line of at least two columns",
        )
    spec = DatasetSpec(name="sample", columns={}, csv=opts)
    frames = []
    for chunk in read_csv_chunks(path, spec, rows):
        frames.append(chunk.frame)
        if sum(f.height for f in frames) >= rows:
            break
    return pl.concat(frames).head(rows), opts


# ---------------------------------------------------------------------------------------
# Content evidence, one polars pass per column
# ---------------------------------------------------------------------------------------
def _evidence(frame: pl.DataFrame, refs: ReferenceData) -> dict[str, ColumnEvidence]:
    ports = refs.seaports.get_column("locode")
    headings = refs.hs.filter(pl.col("level") == 4).get_column("code")
    countries = refs.countries.get_column("alpha2")
    out: dict[str, ColumnEvidence] = {}
    for name in frame.columns:
        values = frame.get_column(name).str.strip_chars()
        values = values.filter(values.is_not_null() & (values.str.len_chars() > 0))
        ev = ColumnEvidence(name, None)
        out[name] = ev
        if values.len() == 0:
            continue
        upper = values.str.to_uppercase()
        digits = values.str.replace_all(r"[\s\.\-]", "")
        comma_decimal = values.str.contains(r"^-?\d{1,3}(\.\d{3})*,\d+$|^-?\d+,\d+$")
        numeric = values.str.replace_all(r"[\s,]", "").cast(pl.Float64, strict=False)
        ev.shares = {
            "container": _mean(
                container_number_valid(upper.str.replace_all(r"[\s\-]", "")).fill_null(False)
            ),
            "imo": _mean(imo_number_valid(upper.str.replace_all(r"^IMO\s*", "")).fill_null(False)),
            "locode": _locode_share(upper.str.replace_all(r"\s", ""), ports, countries),
            "hs": _mean(
                digits.str.contains(r"^\d{4,10}$")
                & digits.str.slice(0, 4).is_in(headings.implode())
            ),
            "country": _mean(upper.is_in(countries.implode())),
            "integer": _mean(values.str.replace_all(r"[\s,]", "").str.contains(r"^-?\d+$")),
            "number": _mean(numeric.is_not_null() | comma_decimal),
        }
        if _mean(comma_decimal) >= SHARE:
            ev.decimal = ","
        # The same parse ingest applies to a time field without a format: ISO 8601.
        iso = pl.DataFrame({"v": values}).select(
            convert(pl.col("v"), pl.String(), "filed_at", DATETIME, ColumnMap("filed_at", "v"), ";")
        )
        ev.shares["date"] = _mean(iso.to_series().is_not_null())
        if ev.shares["date"] < SHARE and ev.shares["integer"] < SHARE:
            best = max(_DATE_FORMATS, key=lambda f: _parsed_share(values, f))
            share = _parsed_share(values, best)
            if share >= SHARE:
                ev.shares["date"], ev.date_format = share, best
        ev.distinct_share = values.n_unique() / values.len()
        kinds = [k for k in (*_STRONG, "date", "integer", "number") if ev.shares.get(k, 0) >= SHARE]
        ev.kind = kinds[0] if kinds else None
    return out


def _mean(flags: pl.Series) -> float:
    """Share of true values (0.0 for an empty series)."""
    value = flags.cast(pl.Float64).mean()
    return float(value) if isinstance(value, (int, float)) else 0.0


def _locode_share(codes: pl.Series, ports: pl.Series, countries: pl.Series) -> float:
    """Share of well-formed UN/LOCODEs of known countries, when enough are known seaports
    (a sample may hold inland or new locations the seaport list lacks)."""
    seaport = _mean(codes.is_in(ports.implode()))
    formed = _mean(
        codes.str.contains(r"^[A-Z]{2}[A-Z2-9]{3}$")
        & codes.str.slice(0, 2).is_in(countries.implode())
    )
    return formed if seaport >= 0.3 else seaport


def _parsed_share(values: pl.Series, fmt: str) -> float:
    has_time = "%H" in fmt
    parsed = (
        values.str.to_datetime(fmt, strict=False, time_unit="us")
        if has_time
        else values.str.to_date(fmt, strict=False)
    )
    return _mean(parsed.is_not_null())


# ---------------------------------------------------------------------------------------
# Scoring and assignment
# ---------------------------------------------------------------------------------------
def _score(ev: ColumnEvidence, target: str) -> tuple[float, str]:
    score = name_score(ev.name, target)
    why = [f"name {score:.0f}"]
    if ev.kind is not None:
        if target in _KIND_FIELDS.get(ev.kind, ()):
            score += _KIND_BONUS[ev.kind]
            why.append(f"{ev.shares[ev.kind]:.0%} of values look like {ev.kind}")
        elif ev.kind in _STRONG:
            score -= 40
            why.append(f"values look like {ev.kind}")
    for kind in (*_STRONG, "date"):
        demanded = target in _KIND_FIELDS[kind] and ev.kind != kind and bool(ev.shares)
        if demanded and not (kind == "date" and ev.shares.get("date", 0) >= SHARE):
            score -= 30
            why.append(f"values are not {kind}")
    numeric_field = target in ("gross_weight_kg", "declared_value", "packages", "amendments")
    if numeric_field and ev.shares and ev.shares.get("number", 0) < SHARE:
        score -= 40
        why.append("values are not numbers")
    return score, "; ".join(why)


def _weight_unit(column: str) -> tuple[str, bool]:
    for word in normalise_words(column).split():
        if word in _UNIT_WORDS:
            return _UNIT_WORDS[word], True
    return "kg", False


def _extra_role(ev: ColumnEvidence, rows: int) -> str:
    words = normalise_words(ev.name).replace(" ", "_")
    if _LABEL_WORDS.search(words.replace("_", " ")) or words in ("fraud", "critical_fraud"):
        return "label"
    if ev.kind == "date":
        return "time"
    measured = ev.kind == "number" or (ev.kind == "integer" and ev.distinct_share > 0.05)
    if measured and not words.endswith(("id", "code", "type", "no", "number")):
        return "numeric"
    if ev.distinct_share >= 0.95 and rows >= 2 and words.endswith(("id", "no", "number", "ref")):
        return "id"
    if ev.distinct_share <= 0.5 or ev.kind in _STRONG:
        return "categorical"
    return "text"


def infer_spec(
    path: Path | str, *, rows: int = SAMPLE_ROWS, refs: ReferenceData | None = None
) -> InferredSpec:
    """Propose a spec for the CSV at ``path`` (see module docstring); ``.yaml`` holds it."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"no such file: '{path}'", hint="check the path")
    frame, opts = _sample(path, rows)
    evidence = _evidence(frame, refs or ReferenceData.load())
    scored = sorted(
        (
            (s, col, target, why)
            for col, ev in evidence.items()
            for target in CANONICAL
            for s, why in [_score(ev, target)]
            if s >= ACCEPT
        ),
        key=lambda t: -t[0],
    )
    decisions: list[Decision] = []
    used_cols: set[str] = set()
    used_targets: set[str] = set()
    for col, target, why in _named(list(evidence)):
        if col in used_cols or target in used_targets:
            continue
        used_cols.add(col)
        used_targets.add(target)
        decisions.append(_decision(evidence[col], target, why))
    for score, col, target, why in scored:
        if col in used_cols or target in used_targets:
            continue
        used_cols.add(col)
        used_targets.add(target)
        decisions.append(_decision(evidence[col], target, f"score {score:.0f}: {why}"))
    for col, ev in evidence.items():
        if col not in used_cols:
            role = _extra_role(ev, frame.height)
            options: dict[str, object] = {}
            if role == "time" and ev.date_format:
                options["format"] = ev.date_format
            if role == "numeric" and ev.decimal == ",":
                options["decimal"] = ","
            decisions.append(
                Decision(col, col, False, f"no canonical match; {role} by content", options, role)
            )
    record_id, time_field = _keys(decisions, evidence, frame)
    list_sep = _list_separator(frame, decisions)
    spec = InferredSpec(
        path.stem,
        opts.separator,
        opts.encoding,
        decisions,
        record_id,
        time_field,
        list_sep,
        evidence,
        quote=opts.quote,
    )
    spec.yaml = to_yaml(spec)
    return spec


def _named(columns: list[str]) -> list[tuple[str, str, str]]:
    """(column, field, why) for columns named exactly as a canonical field, then those named
    as one of its known aliases: these map to the field whatever their values (a unit's
    inland codes or free text are still its port of discharge or its goods)."""
    exact, alias = [], []
    for col in columns:
        words = normalise_words(col)
        for target in CANONICAL:
            if words == target.replace("_", " "):
                exact.append((col, target, "named as the canonical field"))
            elif words in SYNONYMS.get(target, ()):
                alias.append((col, target, f"'{col}' is a known name of {target}"))
    # The literal field name first (it is also the key the loader reserves for that field).
    exact.sort(key=lambda t: t[0] != t[1])
    return exact + alias


def _decision(ev: ColumnEvidence, target: str, why: str) -> Decision:
    options: dict[str, object] = {}
    if target == "gross_weight_kg":
        unit, stated = _weight_unit(ev.name)
        options["unit"] = unit
        if not stated:
            why += "; unit not in the column name: kg assumed"
    if CANONICAL[target].dtype == DATETIME and ev.date_format:
        options["format"] = ev.date_format
    if target in ("gross_weight_kg", "declared_value") and ev.decimal == ",":
        options["decimal"] = ","
    return Decision(ev.name, target, True, why, options)


def _keys(
    decisions: list[Decision], evidence: dict[str, ColumnEvidence], frame: pl.DataFrame
) -> tuple[list[str] | str | None, str | None]:
    mapped = {d.target for d in decisions if d.canonical}
    times = ("filed_at", "departed_at", "arrival_eta")
    time_field: str | None = next((t for t in times if t in mapped), None)
    if time_field is None:
        time_field = next((d.target for d in decisions if d.role == "time"), None)
    if all(f in mapped for f in REQUIRED_MANIFEST_FIELDS):
        return list(REQUIRED_MANIFEST_FIELDS), time_field
    unique = [
        d
        for d in decisions
        if not d.canonical and evidence[d.column].distinct_share == 1.0 and frame.height > 1
    ]
    ids = [d for d in unique if d.role == "id"] or unique
    if ids:
        ids[0].role = "id"
        ids[0].why = "unique in the sample: the record id"
        return ids[0].target, time_field
    # No key in the sample: the most distinct column, so that the spec still loads and
    # binds; the comment asks for a review.
    keys = [
        d
        for d in decisions
        if d.role != "label"
        and not (d.canonical and (d.target in LABEL_FIELDS or _is_list(d.target)))
    ]
    if not keys:
        return None, time_field
    best = max(keys, key=lambda d: evidence[d.column].distinct_share)
    best.why += "; REVIEW: chosen as record_id (most distinct column, not unique in the sample)"
    return best.target, time_field


def _is_list(target: str) -> bool:
    return isinstance(CANONICAL[target].dtype, pl.List)


def _list_separator(frame: pl.DataFrame, decisions: list[Decision]) -> str:
    lists = [d.column for d in decisions if d.target in ("seals", "transshipment_ports")]
    if not lists:
        return ";"
    values = pl.concat([frame.get_column(c).drop_nulls() for c in lists])
    counts = {
        sep: int(values.str.count_matches(sep, literal=True).sum() or 0)
        for sep in (";", "|", ",", " ")
    }
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ";"


# ---------------------------------------------------------------------------------------
# YAML with comments (load_spec reads it back)
# ---------------------------------------------------------------------------------------
def _q(value: object) -> str:
    """A YAML scalar: JSON string quoting is valid YAML and safe for any column name."""
    return json.dumps(value, ensure_ascii=False)


def _flow(options: dict[str, object]) -> str:
    return "{" + ", ".join(f"{k}: {_q(v)}" for k, v in options.items()) + "}"


def _entry(d: Decision) -> str:
    if d.canonical:
        body = _flow({"source": d.column, **d.options}) if d.options else _q(d.column)
        return f"  {d.target}: {body}  # {d.why}"
    return f"  {_q(d.column)}: {_flow({'role': d.role, **d.options})}  # {d.why}"


def to_yaml(spec: InferredSpec) -> str:
    """Render the proposal as a commented dataset spec."""
    lines = [
        f"# Proposed by `lookout spec infer` from {spec.name}: review every line before use.",
        "kind: dataset_spec",
        f"name: {_q(spec.name)}",
        "format: csv",
        "csv: {"
        + f"separator: {_q(spec.separator)}, "
        + (f"quote: {_q(spec.quote)}, " if spec.quote != '"' else "")
        + f"encoding: {_q(spec.encoding)}}}",
    ]
    if spec.record_id is None:
        lines.append(
            "# record_id: no B/L + container columns and no unique column were found; "
            "name the key column"
        )
    else:
        lines.append(f"record_id: {_q(spec.record_id)}")
    if spec.time_field:
        lines.append(f"time_field: {_q(spec.time_field)}")
    lines.append(f"list_separator: {_q(spec.list_separator)}")
    canonical = [d for d in spec.decisions if d.canonical]
    extra = [d for d in spec.decisions if not d.canonical]
    order = {name: i for i, name in enumerate(CANONICAL)}
    if canonical:
        lines.append("columns:")
        lines += [_entry(d) for d in sorted(canonical, key=lambda d: order[d.target])]
    if extra:
        lines.append("extra:")
        lines += [_entry(d) for d in extra]
    return "\n".join(lines) + "\n"
