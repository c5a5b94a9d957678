"""rules: the YAML profiling-rule language, its compiler to polars, and author tooling.

>>> from rules import load_pack
>>> pack = load_pack()                        # the shipped default pack
>>> stage = pack.compile(frame.schema)        # doctest: +SKIP
>>> scored = stage.apply(frame)               # doctest: +SKIP
"""

from rules._adopt import (
    ADOPTED_FILE,
    Adoption,
    AdoptionConflict,
    ProposalCheck,
    adopt_proposal,
    check_proposal,
)
from rules._backtest import BacktestError, BacktestReport, backtest, read_history
from rules._diagnostics import Diagnostic, RulePackError
from rules._diff import PackDiff, diff_packs
from rules._documents import json_schema
from rules._explain import ExplainError, Explanation, explain
from rules._pack import DEFAULT_PACK, CompiledPack, RulePack, check_pack, load_pack, load_pack_text

__all__ = [
    "ADOPTED_FILE",
    "DEFAULT_PACK",
    "Adoption",
    "AdoptionConflict",
    "BacktestError",
    "BacktestReport",
    "CompiledPack",
    "Diagnostic",
    "ExplainError",
    "Explanation",
    "PackDiff",
    "ProposalCheck",
    "RulePack",
    "RulePackError",
    "adopt_proposal",
    "backtest",
    "check_pack",
    "check_proposal",
    "diff_packs",
    "explain",
    "json_schema",
    "load_pack",
    "load_pack_text",
    "read_history",
]
