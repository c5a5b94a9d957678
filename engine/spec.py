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
import typing
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from engine.documents import (
    DocumentModel,
    Node,
    ScalarText,
    child,
    defined_elsewhere,
    is_mapping,
    mapping_items,
    pos,
    read_document,
)
from engine.errors import Location, SpecError
from engine.i18n import N_
from engine.identity import fingerprint
from engine.schema import (
    AIR_RECORD_ID,
    CANONICAL,
    LABEL_FIELDS,
    REQUIRED_MANIFEST_FIELDS,
    Role,
)

Format = Literal["csv", "parquet", "ipc", "ndjson", "dcsa", "cuscar", "cargoimp"]
FORMATS: tuple[str, ...] = ("csv", "parquet", "ipc", "ndjson", "dcsa", "cuscar", "cargoimp")
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
        if "awb_number" in columns and "container_number" not in columns:
            # air waybills without a spec: keyed by master (+ house) AWB, not B/L + container
            bound = DatasetSpec(**{**bound.__dict__, "record_id": AIR_RECORD_ID})
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
    names = [n if len(n) <= 60 else n[:57] + "..." for n in have[:30]]
    shown = ", ".join(map(repr, names)) + (" …" if len(have) > 30 else "")
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
# The document model, and loading from YAML with every error located at file:line:col.
# ---------------------------------------------------------------------------------------
class CsvSection(DocumentModel):
    """How a CSV source is read."""

    separator: str = Field(default=",", description="field separator")
    quote: str = Field(default='"', description="quote character")
    encoding: str = Field(default="utf8", description="text encoding (utf8, utf8-lossy)")
    header: bool = Field(default=True, description="the first line names the columns")


class ColumnSection(DocumentModel):
    """How one canonical field is read from the source."""

    source: ScalarText | None = Field(
        default=None, description="the source column (default: the field)"
    )
    format: str | None = Field(default=None, description="strptime format of a time, e.g. %d/%m/%Y")
    decimal: Literal[".", ","] = Field(default=".", description="decimal mark of numbers")
    unit: str | None = Field(
        default=None, description="weight unit: " + ", ".join(UNITS_TO_KG) + " (weights only)"
    )
    true_values: list[str | int | float | bool] | None = Field(
        default=None, description="values read as true (flags)"
    )
    false_values: list[str | int | float | bool] | None = Field(
        default=None, description="values read as false (flags)"
    )


class ExtraSection(DocumentModel):
    """A source column kept beside the canonical fields."""

    role: Literal["id", "categorical", "numeric", "text", "time", "flag", "list", "label"] = Field(
        description="one of " + ", ".join(ROLES)
    )
    source: ScalarText | None = Field(
        default=None, description="the source column (default: the name)"
    )
    format: str | None = Field(default=None, description="strptime format of a time")
    decimal: Literal[".", ","] = Field(default=".", description="decimal mark of numbers")


class SpecDocument(DocumentModel):
    """A dataset spec file (see the module docstring)."""

    label: ClassVar[str] = "a dataset spec"
    kind: Literal["dataset_spec"] = Field(default="dataset_spec", description="dataset_spec")
    name: ScalarText | None = Field(
        default=None, description="the spec's name (default: file stem)"
    )
    description: str | None = Field(default=None, description="what the source is")
    format: Literal["csv", "parquet", "ipc", "ndjson", "dcsa", "cuscar", "cargoimp"] | None = Field(
        default=None, description="the source format (default: detected from the content)"
    )
    csv: CsvSection | None = None
    record_id: list[str] | str | None = Field(
        default=None,
        description="field(s) identifying a record (default: bl_number, container_number)",
    )
    time_field: str = Field(default="filed_at", description="the field that orders records in time")
    list_separator: ScalarText = Field(default=";", description="separator inside list fields")
    columns: dict[str, str | ColumnSection] | None = Field(
        default=None, description="canonical field: source column, or {source: ..., options}"
    )
    extra: dict[str, ExtraSection] | None = Field(
        default=None, description="other source columns to keep: name: {role: ...}"
    )
    model: Annotated[dict[str, Any], defined_elsewhere("ModelRecipe")] | None = Field(
        default=None, description="the training recipe (models/recipe.py)"
    )


assert set(FORMATS) == set(
    typing.get_args(typing.get_args(SpecDocument.model_fields["format"].annotation)[0])
)
assert set(ROLES) == set(typing.get_args(ExtraSection.model_fields["role"].annotation))


def load_spec(path: Path | str) -> DatasetSpec:
    """Load and check a dataset spec YAML file.

    Raises SpecError at the first problem, located at ``file:line:col`` with a hint
    (unknown key or canonical field → the closest known names).
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
    doc, node, text = read_document(path, SpecDocument, SpecError)
    assert node is not None
    return _parse(doc, node, str(path), fingerprint(text))


def shipped_specs() -> dict[str, Path]:
    """Specs shipped with Lookout, by name (file stem)."""
    if not SHIPPED_SPECS_DIR.is_dir():
        return {}
    return {p.stem: p for p in sorted(SHIPPED_SPECS_DIR.glob("*.yaml"))}


def _key_node(node: Node | None, key: str) -> Node | None:
    if node is None or not is_mapping(node):
        return None
    return next((kn for k, kn, _ in mapping_items(node) if k == key), None)


def _parse(doc: SpecDocument, node: Node, file: str, digest: str) -> DatasetSpec:
    def err(msg: str, at: Node | None, hint: str | None = None) -> SpecError:
        p = pos(at if at is not None else node, file)
        return SpecError(msg, location=Location(file=file, line=p.line, column=p.col), hint=hint)

    columns: dict[str, ColumnMap] = {}
    col_node = child(node, "columns")
    for target, value in (doc.columns or {}).items():
        if target not in CANONICAL:
            raise err(
                N_("unknown canonical field '{name}'", name=target),
                _key_node(col_node, target),
                N_(
                    "{suggestion}; declare other columns under 'extra:'",
                    suggestion=_did_you_mean(target, CANONICAL),
                ),
            )
        where = child(col_node, target) if col_node is not None else None
        columns[target] = _column(target, value, None, lambda m, h=None, w=where: err(m, w, h))
    extra: dict[str, ColumnMap] = {}
    extra_node = child(node, "extra")
    for target, options in (doc.extra or {}).items():
        if target in CANONICAL:
            raise err(
                f"'{target}' is a canonical field; map it under 'columns:'",
                _key_node(extra_node, target),
            )
        where = child(extra_node, target) if extra_node is not None else None
        extra[target] = _column(
            target, options, options.role, lambda m, h=None, w=where: err(m, w, h)
        )
    raw_id = doc.record_id if doc.record_id is not None else list(REQUIRED_MANIFEST_FIELDS)
    record_id = tuple([raw_id] if isinstance(raw_id, str) else raw_id)
    known = set(columns) | set(extra)
    for rid in record_id:
        if rid in columns and str(CANONICAL[rid].dtype).startswith("List"):
            raise err(
                f"record_id '{rid}' is a list field",
                child(node, "record_id"),
                "name a single-value field",
            )
        if rid not in known and not (record_id == REQUIRED_MANIFEST_FIELDS):
            raise err(
                f"record_id '{rid}' is neither a mapped canonical field nor an extra field",
                child(node, "record_id"),
                "declare it under 'extra:' with role: id",
            )
    time_field = doc.time_field
    if time_field not in CANONICAL and time_field not in extra:
        raise err(f"time_field '{time_field}' is not a known field", child(node, "time_field"))
    csv = doc.csv or CsvSection()
    return DatasetSpec(
        name=str(doc.name or Path(file).stem),
        columns=columns,
        extra=extra,
        format=doc.format,
        csv=CsvOptions(csv.separator, csv.quote, csv.encoding, csv.header),
        record_id=record_id,
        time_field=time_field,
        list_separator=doc.list_separator,
        model=dict(doc.model or {}),
        path=file,
        content_hash=digest,
        # Without 'columns:', source columns named as canonical fields are taken as they are.
        infer_unmapped=not columns,
    )


def _column(
    target: str, value: str | ColumnSection | ExtraSection, role: Role | None, err: Any
) -> ColumnMap:
    if isinstance(value, str):
        return ColumnMap(target, value, role=role)
    unit = value.unit if isinstance(value, ColumnSection) else None
    if unit is not None and unit.lower() not in UNITS_TO_KG:
        raise err(f"unknown unit '{unit}' for '{target}'", "known units: " + ", ".join(UNITS_TO_KG))
    if unit is not None and target != "gross_weight_kg":
        raise err(f"a unit only applies to weights, not to '{target}'")
    kwargs: dict[str, Any] = {}
    if isinstance(value, ColumnSection):
        for name in ("true_values", "false_values"):
            given = getattr(value, name)
            if given is not None:
                kwargs[name] = tuple(str(v).lower() for v in given)
    return ColumnMap(
        target,
        value.source if value.source is not None else target,
        role=role,
        format=value.format,
        decimal=value.decimal,
        unit=unit.lower() if unit else None,
        **kwargs,
    )


def _did_you_mean(name: str, options: Any) -> str:
    close = difflib.get_close_matches(str(name), list(options), n=3, cutoff=0.6)
    if close:
        names: str = f"'{close[0]}'"
        for other in close[1:]:
            names = N_("{a} or {b}", a=names, b=f"'{other}'")
        return N_("did you mean {names}?", names=names)
    return N_("known: {names}", names=", ".join(sorted(options)[:20]))
