"""Compare two packs: added, removed and changed rules (and, with a history, hit changes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from engine.prepare import prepare_history
from rules._backtest import backtest
from rules._ir import Rule
from rules._pack import RulePack

_ASPECTS = (
    "status",
    "severity",
    "weight",
    "title",
    "description",
    "owner",
    "tags",
    "references",
    "valid_from",
    "valid_until",
    "reason",
    "condition",
    "exceptions",
    "tests",
)


@dataclass
class PackDiff:
    """What changed between two packs, rule by rule."""

    old_hash: str
    new_hash: str
    added: list[str]
    removed: list[str]
    changed: dict[str, list[str]]
    hits: pl.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "old_hash": self.old_hash,
            "new_hash": self.new_hash,
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "hits": None if self.hits is None else self.hits.to_dicts(),
            "notes": self.notes,
        }


def _changed_aspects(old: Rule, new: Rule) -> list[str]:
    aspects = [a for a in _ASPECTS if getattr(old, a) != getattr(new, a)]
    # Same structure but a different version: a list or macro the rule uses changed.
    return aspects or ["lists or macros used"]


def diff_packs(old: RulePack, new: RulePack, history: pl.DataFrame | None = None) -> PackDiff:
    """Rules added, removed and changed (by version hash); hit deltas on ``history``."""
    old_rules = {r.id: r for r in old.rules}
    new_rules = {r.id: r for r in new.rules}
    added = [i for i in new_rules if i not in old_rules]
    removed = [i for i in old_rules if i not in new_rules]
    changed = {
        i: _changed_aspects(old_rules[i], new_rules[i])
        for i in new_rules
        if i in old_rules and old_rules[i].version != new_rules[i].version
    }
    result = PackDiff(old.pack_hash, new.pack_hash, added, removed, changed)
    if history is not None:
        notes: list[str] = []
        prepared = prepare_history(history, notes=notes)
        before = backtest(old, prepared, prepare=False).rules.select("rule", "hits")
        after = backtest(new, prepared, prepare=False).rules.select("rule", "hits")
        result.hits = (
            before.rename({"hits": "hits_old"})
            .join(after.rename({"hits": "hits_new"}), on="rule", how="full", coalesce=True)
            .with_columns(
                (pl.col("hits_new").fill_null(0) - pl.col("hits_old").fill_null(0)).alias("delta")
            )
            .sort(pl.col("delta").abs(), descending=True)
        )
        result.notes = notes
    return result
