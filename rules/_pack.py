"""RulePack (a loaded, linted pack) and CompiledPack (the scoring stage)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from engine.schema import known_fields
from rules._compile import applicability, hit_exprs
from rules._diagnostics import Collector, Diagnostic, RulePackError
from rules._evaluate import Plan, evaluate_plan, render_reasons
from rules._ir import ListDef, Rule
from rules._loader import load_sources, pack_files

log = logging.getLogger(__name__)

DEFAULT_PACK = Path(__file__).resolve().parent / "packs" / "default"


def catalogue_dtypes(extra: Mapping[str, pl.DataType] | None = None) -> dict[str, pl.DataType]:
    """Field name -> dtype for every catalogue field, plus ``extra`` (dataset-declared)."""
    out = {name: f.dtype for name, f in known_fields().items()}
    if extra:
        out.update(extra)
    return out


@dataclass
class RulePack:
    """A loaded and linted pack: rules in pack order (retired included), lists, hashes."""

    path: str
    rules: list[Rule]
    lists: dict[str, ListDef]
    macros: dict[str, str]
    pack_hash: str
    files: list[str]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    fields: dict[str, pl.DataType] = field(default_factory=dict)
    # Compiled stages per (schema, day), shared by every batch and thread scoring with
    # this pack; see stage_for. Not pickled: a copy compiles its own.
    _stages: dict[tuple[object, ...], CompiledPack] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_stages"] = {}
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def stage_for(self, schema: Mapping[str, pl.DataType]) -> CompiledPack:
        """The rules stage for frames with ``schema``, compiled once per schema and day
        (validity windows are judged on the day) and cached; safe from several threads."""
        key = (dt.date.today(), *((name, str(dtype)) for name, dtype in schema.items()))
        with self._lock:
            stage = self._stages.get(key)
            if stage is None:
                stage = self._stages[key] = self.compile(schema)
            return stage

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id (KeyError when the pack has none)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    @property
    def rule_ids(self) -> list[str]:
        """Ids of every rule in pack order, retired included."""
        return [r.id for r in self.rules]

    def compile(
        self,
        schema: Mapping[str, pl.DataType],
        *,
        as_of: dt.date | None = None,
        ignore_validity: bool = False,
    ) -> CompiledPack:
        """Compile the pack for frames with ``schema``.

        Retired rules are not loaded. Rules whose fields the schema lacks, whose field types
        do not fit, or (unless ``ignore_validity``) whose validity window excludes ``as_of``
        (default: today) are skipped and listed in the fingerprint, never an error.
        """
        day = as_of or dt.date.today()
        schema = dict(schema)
        evaluated: list[Rule] = []
        skipped: list[dict[str, Any]] = []
        for rule in self.rules:
            if rule.status == "retired":
                continue
            if not ignore_validity and (
                (rule.valid_from and day < rule.valid_from)
                or (rule.valid_until and day > rule.valid_until)
            ):
                skipped.append(
                    {
                        "id": rule.id,
                        "missing_fields": [],
                        "reason": f"outside its validity window on {day}",
                    }
                )
                continue
            missing, problem = applicability(rule, schema)
            if missing or problem:
                reason = problem or "the data has no " + ", ".join(missing)
                skipped.append({"id": rule.id, "missing_fields": missing, "reason": reason})
                continue
            evaluated.append(rule)
        for item in skipped:
            log.warning("rule %s not applicable: %s", item["id"], item["reason"])
        return CompiledPack(self, evaluated, skipped, schema)


class CompiledPack:
    """The rules stage: evaluates every applicable rule of a pack in one polars pass.

    ``apply(frame)`` adds ``rule_score``, ``rule_hits``, ``rule_reasons`` (English),
    ``rule_reasons_ru`` (Russian) and ``rule_shadow_hits``; ``keep_rule_columns=True`` also
    keeps one boolean column per evaluated rule (``rule__<id>``) for backtests.
    ``apply(frame, reasons=False)`` leaves the reasons out, and ``reasons(rows, locale)``
    renders them later for any subset of the scored rows (e.g. only the flagged ones): the
    same strings ``apply`` would give.
    """

    name = "rules"

    def __init__(
        self,
        pack: RulePack,
        rules: list[Rule],
        skipped: list[dict[str, Any]],
        schema: Mapping[str, pl.DataType],
    ):
        self.pack = pack
        self.rules = rules
        self.active = [r for r in rules if r.status == "active"]
        self.shadow = [r for r in rules if r.status == "experimental"]
        self.skipped = skipped
        self.schema = dict(schema)
        self.plan = Plan(rules, self.schema)

    @property
    def rule_ids(self) -> list[str]:
        """Ids of the evaluated rules (active and experimental), in pack order."""
        return [r.id for r in self.rules]

    @property
    def active_ids(self) -> list[str]:
        """Ids of the evaluated active rules, in pack order."""
        return [r.id for r in self.active]

    @property
    def shadow_ids(self) -> list[str]:
        """Ids of the evaluated experimental (shadow) rules, in pack order."""
        return [r.id for r in self.shadow]

    def apply(
        self, frame: pl.DataFrame, *, keep_rule_columns: bool = False, reasons: bool = True
    ) -> pl.DataFrame:
        """Return ``frame`` with the rule outputs added (same rows, same order)."""
        return evaluate_plan(
            frame,
            self.plan,
            self.active,
            self.shadow,
            keep_rule_columns=keep_rule_columns,
            reasons=reasons,
        )

    def reasons(self, rows: pl.DataFrame, locale: str = "en") -> pl.Series:
        """``rule_reasons`` (``rule_reasons_ru`` for ``locale='ru'``) for ``rows``: scored
        rows (their ``rule_hits`` and the fields the reasons show), any subset in any order,
        as ``apply`` would have rendered them."""
        return render_reasons(rows, self.active, self.schema, locale)

    def hit_expressions(self) -> list[pl.Expr]:
        """One boolean expression per evaluated rule (``rule__<id>``), for fusing elsewhere.

        They read lower-cased helper columns; see ``rules._compile.lowercase_exprs``.
        """
        return hit_exprs(self.rules, self.schema)

    def fingerprint(self) -> dict[str, Any]:
        """Pack content hash, each evaluated rule's version hash, skipped rules, counts."""
        statuses = [r.status for r in self.pack.rules]
        return {
            "pack_hash": self.pack.pack_hash,
            "path": self.pack.path,
            "rules": {r.id: r.version for r in self.rules},
            "skipped": [dict(s) for s in self.skipped],
            "counts": {
                "rules": len(self.pack.rules),
                "active": statuses.count("active"),
                "experimental": statuses.count("experimental"),
                "retired": statuses.count("retired"),
                "evaluated": len(self.rules),
                "skipped": len(self.skipped),
                "lists": len(self.pack.lists),
                "macros": len(self.pack.macros),
            },
        }


def _read_pack(
    path: Path | str, fields: Mapping[str, pl.DataType] | None, today: dt.date | None
) -> tuple[RulePack, Collector]:
    root = Path(path)
    out = Collector()
    if not root.exists():
        out.error(
            str(root),
            1,
            1,
            "rule pack not found",
            "give a folder of .yaml files or a single .yaml file",
        )
        return RulePack(str(root), [], {}, {}, "", []), out
    files = pack_files(root)
    if not files:
        out.error(str(root), 1, 1, "no .yaml files in the rule pack folder")
    sources = []
    for file in files:
        try:
            sources.append((str(file), file.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            out.error(str(file), 1, 1, f"cannot read file: {exc}", "save it as UTF-8 text")
    dtypes = catalogue_dtypes(fields)
    result = load_sources(sources, dtypes, out, today=today)
    pack = RulePack(
        str(root),
        result.rules,
        result.lists,
        result.macros,
        result.pack_hash,
        result.files,
        list(out.items),
        dtypes,
    )
    return pack, out


def check_pack(
    path: Path | str,
    *,
    fields: Mapping[str, pl.DataType] | None = None,
    today: dt.date | None = None,
) -> list[Diagnostic]:
    """Every error and warning of a pack, in file order (empty = clean).

    ``fields`` adds dataset-declared fields (name -> dtype) to the engine's catalogue.
    """
    _, out = _read_pack(path, fields, today)
    return sorted(out.items, key=lambda d: (d.file, d.line, d.col))


def load_pack(
    path: Path | str = DEFAULT_PACK,
    *,
    fields: Mapping[str, pl.DataType] | None = None,
    today: dt.date | None = None,
) -> RulePack:
    """Load and lint a pack; raises RulePackError carrying every diagnostic on any error.

    Warnings do not stop loading; they stay on ``RulePack.diagnostics``.
    """
    pack, out = _read_pack(path, fields, today)
    if out.errors:
        raise RulePackError(sorted(out.items, key=lambda d: (d.file, d.line, d.col)))
    return pack


def load_pack_text(
    text: str, *, file: str = "<pack>.yaml", fields: Mapping[str, pl.DataType] | None = None
) -> RulePack:
    """Load a pack from YAML text (tests, the API's rule editor)."""
    out = Collector()
    dtypes = catalogue_dtypes(fields)
    result = load_sources([(file, text)], dtypes, out)
    if out.errors:
        raise RulePackError(out.items)
    return RulePack(
        file,
        result.rules,
        result.lists,
        result.macros,
        result.pack_hash,
        result.files,
        list(out.items),
        dtypes,
    )
