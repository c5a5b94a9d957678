"""Dataset specs: how a source's columns map onto the canonical manifest record.

A spec is a small YAML file that a unit writes once per data source::

    kind: dataset_spec
    name: national-ams-export
    format: csv                 # csv | parquet | ipc | ndjson (default: detected from content)
    csv: {separator: ";", encoding: utf8}
    record_id: [bl_number, container_number]   # or one source column, e.g. "Declaration ID"
    time_field: filed_at
    list_separator: "|"
    columns:
      container_number: CNTR_NO                # shorthand: just the source column
      gross_weight_kg: {source: WEIGHT_T, unit: t, decimal: ","}
      filed_at: {source: FILED, format: "%d/%m/%Y %H:%M"}
    extra:
      Declaration ID: {role: id}
      Importer ID: {role: categorical}
      Fraud: {role: label}

Without a spec, source columns whose names match canonical fields (case, spaces and dashes
ignored) are taken as they are, and every other column is kept as an extra text field, so
nothing the sender provided is lost.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from engine.errors import Location, SpecError
from engine.identity import fingerprint
from engine.schema import CANONICAL, LABEL_FIELDS, REQUIRED_MANIFEST_FIELDS, Role

Format = Literal["csv", "parquet", "ipc", "ndjson", "dcsa", "cuscar"]
FORMATS: tuple[str, ...] = ("csv", "parquet", "ipc", "ndjson", "dcsa", "cuscar")
ROLES: tuple[str, ...] = ("id", "categorical", "numeric", "text", "time", "flag", "list", "label")

UNITS_TO_KG: dict[str, float] = {
    "kg": 1.0,
    "kgm": 1.0,  # UN/ECE Rec 20 code for kilogram
    "g": 0.001,
    "t": 1000.0,
    "tne": 1000.0,  # UN/ECE Rec 20 code for tonne
    "tonne": 1000.0,
    "lb": 0.45359237,
    "lbr": 0.45359237,
}

_SPEC_KEYS = {
    "kind",
    "name",
    "description",
    "format",
    "csv",
    "record_id",
    "time_field",
    "list_separator",
    "columns",
    "extra",
    "model",
}
_COLUMN_KEYS = {"source", "format", "decimal", "unit", "true_values", "false_values"}
_EXTRA_KEYS = {"role", "source", "format", "decimal"}
_CSV_KEYS = {"separator", "quote", "encoding", "header"}

SHIPPED_SPECS_DIR = Path(__file__).parent / "specs"


@dataclass(frozen=True)
class ColumnMap:
    """How one target field is read from the source."""

    target: str
    source: str
    role: Role | None = None  # set for extra fields; canonical fields take the schema's
    format: str | None = None  # strptime format for times
    decimal: str = "."
    unit: str | None = None
    true_values: tuple[str, ...] = ("true", "t", "yes", "y", "1", "x")
    false_values: tuple[str, ...] = ("false", "f", "no", "n", "0", "")


@dataclass(frozen=True)
class CsvOptions:
    separator: str = ","
    quote: str = '"'
    encoding: str = "utf8"
    header: bool = True


@dataclass(frozen=True)
class DatasetSpec:
    """A parsed dataset spec (see module docstring for the YAML)."""

    name: str
    columns: dict[str, ColumnMap]
    extra: dict[str, ColumnMap] = field(default_factory=dict)
    format: str | None = None
    csv: CsvOptions = CsvOptions()
    record_id: tuple[str, ...] = REQUIRED_MANIFEST_FIELDS
    time_field: str = "filed_at"
    list_separator: str = ";"
    model: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    content_hash: str = ""
    infer_unmapped: bool = False

    @property
    def is_manifest(self) -> bool:
        """Manifests key on B/L + container; other data declares its own record id."""
        return self.record_id == REQUIRED_MANIFEST_FIELDS

    def required_sources(self) -> list[str]:
        """Source columns that must be present for this spec to apply (all but labels)."""
        label = set(self.label_sources())
        wanted = [m.source for m in self.columns.values()]
        wanted += [m.source for m in self.extra.values()]
        return [s for s in dict.fromkeys(wanted) if s not in label]

    def label_sources(self) -> list[str]:
        """Source columns of labels (inspection outcomes): a file to score has none of them."""
        wanted = [m.source for name, m in self.columns.items() if name in LABEL_FIELDS]
        wanted += [m.source for m in self.extra.values() if m.role == "label"]
        return list(dict.fromkeys(wanted))

    def without_sources(self, absent: Collection[str]) -> DatasetSpec:
        """This spec with the fields read from ``absent`` columns left out."""
        if not absent:
            return self
        return DatasetSpec(
            **{
                **self.__dict__,
                "columns": {k: m for k, m in self.columns.items() if m.source not in absent},
                "extra": {k: m for k, m in self.extra.items() if m.source not in absent},
            }
        )


def default_spec() -> DatasetSpec:
    """The spec used when none is given: canonical names, other columns kept as extras."""
    return DatasetSpec(name="canonical", columns={}, infer_unmapped=True, content_hash="default")


def normalise_name(name: str) -> str:
    """Compare column names ignoring case, spaces, dashes and dots."""
    return re.sub(r"[\s\-\.]+", "_", name.strip().lower())


def resolve_columns(spec: DatasetSpec, source_columns: list[str], file: str) -> DatasetSpec:
    """Bind a spec to an actual file's columns, or explain which columns are missing.

    With the default spec, canonical names are matched loosely and unmatched columns become
    extras. With a declared spec, every named source column must exist, except the labels'
    (inspection outcomes), which a batch to score does not have.
    """
    if spec.infer_unmapped:
        by_norm = {normalise_name(c): c for c in source_columns}
        columns = {name: ColumnMap(name, by_norm[name]) for name in CANONICAL if name in by_norm}
        used = {m.source for m in columns.values()} | {m.source for m in spec.extra.values()}
        extra = {c: ColumnMap(c, c, role="text") for c in source_columns if c not in used}
        extra.update(spec.extra)  # extras the spec declares keep their roles
        bound = DatasetSpec(**{**spec.__dict__, "columns": columns, "extra": extra})
    else:
        bound = spec
    missing = [s for s in bound.required_sources() if s not in source_columns]
    # Labels are optional: training data has them, a batch to score does not.
    bound = bound.without_sources([s for s in bound.label_sources() if s not in source_columns])
    if bound.is_manifest:
        missing_required = [f for f in REQUIRED_MANIFEST_FIELDS if f not in bound.columns]
    else:
        missing_required = []
    if missing or missing_required:
        raise SpecError(
            _missing_message(missing, missing_required, source_columns),
            location=Location(file=file, line=1),
            hint=_missing_hint(missing + missing_required, source_columns, spec),
        )
    return bound


def _missing_message(missing: list[str], required: list[str], have: list[str]) -> str:
    parts = []
    if missing:
        parts.append(
            "the spec names columns the file does not have: " + ", ".join(map(repr, missing))
        )
    if required:
        parts.append("required manifest fields are missing: " + ", ".join(required))
    shown = ", ".join(map(repr, have[:30])) + (" …" if len(have) > 30 else "")
    return "; ".join(parts) + f" (the file's columns are: {shown})"


def _missing_hint(names: list[str], have: list[str], spec: DatasetSpec) -> str:
    guesses = []
    for name in names:
        close = difflib.get_close_matches(name, have, n=1, cutoff=0.6)
        if close:
            guesses.append(f"'{name}' → did you mean '{close[0]}'?")
    advice = (
        "map the file's columns to canonical fields with a dataset spec (--spec), "
        "or declare a record_id for data that is not a container manifest"
        if spec.infer_unmapped
        else "fix the column names in the spec or the file"
    )
    return ("; ".join(guesses) + "; " if guesses else "") + advice


# ---------------------------------------------------------------------------------------
# Loading from YAML, with every error located at file:line:col.
# ---------------------------------------------------------------------------------------
def load_spec(path: Path | str) -> DatasetSpec:
    """Load and check a dataset spec YAML file.

    Raises SpecError at the first structural problem, located at ``file:line:col`` with a
    hint (unknown canonical field → the closest known names).
    """
    path = Path(path)
    if not path.is_file():
        shipped = shipped_specs()
        if str(path) in shipped:
            path = shipped[str(path)]
        else:
            raise SpecError(
                f"dataset spec not found: {path}",
                hint="shipped specs: " + ", ".join(sorted(shipped)) if shipped else None,
            )
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise SpecError(
            f"not valid YAML: {getattr(err, 'problem', err)}", location=_loc(str(path), mark)
        ) from None
    if node is None or not isinstance(node, yaml.MappingNode):
        raise SpecError(
            "a dataset spec must be a YAML mapping", location=Location(file=str(path), line=1)
        )
    data = yaml.safe_load(text)
    return _parse(data, node, str(path), fingerprint(text))


def shipped_specs() -> dict[str, Path]:
    """Specs shipped with Lookout, by name (file stem)."""
    if not SHIPPED_SPECS_DIR.is_dir():
        return {}
    return {p.stem: p for p in sorted(SHIPPED_SPECS_DIR.glob("*.yaml"))}


def _loc(file: str, mark: Any) -> Location:
    if mark is None:
        return Location(file=file)
    return Location(file=file, line=mark.line + 1, column=mark.column + 1)


def _key_marks(node: yaml.Node) -> dict[str, Any]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: (k.start_mark, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _parse(data: dict[str, Any], node: yaml.Node, file: str, digest: str) -> DatasetSpec:
    marks = _key_marks(node)

    def err(
        msg: str,
        key: str,
        hint: str | None = None,
        sub: yaml.Node | None = None,
        subkey: str | None = None,
    ) -> SpecError:
        mark = marks.get(key, (None, None))[0]
        if sub is not None and subkey is not None:
            mark = _key_marks(sub).get(subkey, (mark, None))[0]
        return SpecError(msg, location=_loc(file, mark), hint=hint)

    for key in data:
        if key not in _SPEC_KEYS:
            raise err(f"unknown spec key '{key}'", key, _did_you_mean(key, _SPEC_KEYS))
    if data.get("kind", "dataset_spec") != "dataset_spec":
        raise err("kind must be 'dataset_spec'", "kind")
    fmt = data.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise err(f"unknown format '{fmt}'", "format", "one of: " + ", ".join(FORMATS))
    columns: dict[str, ColumnMap] = {}
    col_node = marks.get("columns", (None, None))[1]
    for target, value in (data.get("columns") or {}).items():
        if target not in CANONICAL:
            raise err(
                f"unknown canonical field '{target}'",
                "columns",
                _did_you_mean(target, CANONICAL) + "; declare other columns under 'extra:'",
                col_node,
                target,
            )
        columns[target] = _column(
            target, value, None, lambda m, h=None, t=target: err(m, "columns", h, col_node, t)
        )
    extra: dict[str, ColumnMap] = {}
    extra_node = marks.get("extra", (None, None))[1]
    for target, value in (data.get("extra") or {}).items():
        target = str(target)
        if target in CANONICAL:
            raise err(
                f"'{target}' is a canonical field; map it under 'columns:'",
                "extra",
                None,
                extra_node,
                target,
            )
        value = value or {}
        if not isinstance(value, dict) or value.get("role") not in ROLES:
            raise err(
                f"extra field '{target}' needs a role",
                "extra",
                "role: one of " + ", ".join(ROLES),
                extra_node,
                target,
            )
        extra[target] = _column(
            target,
            value,
            value["role"],
            lambda m, h=None, t=target: err(m, "extra", h, extra_node, t),
        )
    record_id = data.get("record_id", list(REQUIRED_MANIFEST_FIELDS))
    record_id = tuple([record_id] if isinstance(record_id, str) else record_id)
    known = set(columns) | set(extra)
    for rid in record_id:
        if rid in columns and str(CANONICAL[rid].dtype).startswith("List"):
            raise err(
                f"record_id '{rid}' is a list field", "record_id", "name a single-value field"
            )
        if rid not in known and not (record_id == REQUIRED_MANIFEST_FIELDS):
            raise err(
                f"record_id '{rid}' is neither a mapped canonical field nor an extra field",
                "record_id",
                "declare it under 'extra:' with role: id",
            )
    csv_opts = data.get("csv") or {}
    for key in csv_opts:
        if key not in _CSV_KEYS:
            raise err(f"unknown csv option '{key}'", "csv", _did_you_mean(key, _CSV_KEYS))
    time_field = data.get("time_field", "filed_at")
    if time_field not in CANONICAL and time_field not in extra:
        raise err(f"time_field '{time_field}' is not a known field", "time_field")
    return DatasetSpec(
        name=str(data.get("name") or Path(file).stem),
        columns=columns,
        extra=extra,
        format=fmt,
        csv=CsvOptions(**csv_opts),
        record_id=record_id,
        time_field=time_field,
        list_separator=str(data.get("list_separator", ";")),
        model=dict(data.get("model") or {}),
        path=file,
        content_hash=digest,
        # Without 'columns:', source columns named as canonical fields are taken as they are.
        infer_unmapped=not columns,
    )


def _column(target: str, value: Any, role: Role | None, err: Any) -> ColumnMap:
    if isinstance(value, str):
        return ColumnMap(target, value, role=role)
    if not isinstance(value, dict):
        raise err(f"'{target}' must map to a source column name or a mapping with 'source:'")
    allowed = _EXTRA_KEYS if role else _COLUMN_KEYS
    for key in value:
        if key not in allowed:
            raise err(f"unknown option '{key}' for '{target}'", _did_you_mean(key, allowed))
    unit = value.get("unit")
    if unit is not None and str(unit).lower() not in UNITS_TO_KG:
        raise err(f"unknown unit '{unit}' for '{target}'", "known units: " + ", ".join(UNITS_TO_KG))
    if unit is not None and target != "gross_weight_kg":
        raise err(f"a unit only applies to weights, not to '{target}'")
    decimal = str(value.get("decimal", "."))
    if decimal not in (".", ","):
        raise err(f"decimal must be '.' or ',' for '{target}'")
    kwargs: dict[str, Any] = {}
    for name in ("true_values", "false_values"):
        if name in value:
            kwargs[name] = tuple(str(v).lower() for v in value[name])
    return ColumnMap(
        target,
        str(value.get("source", target)),
        role=role,
        format=value.get("format"),
        decimal=decimal,
        unit=str(unit).lower() if unit else None,
        **kwargs,
    )


def _did_you_mean(name: str, options: Any) -> str:
    close = difflib.get_close_matches(str(name), list(options), n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    return "known: " + ", ".join(sorted(options)[:20])
