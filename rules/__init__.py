"""rules: the YAML profiling-rule language, its compiler to polars, and author tooling.

>>> from rules import load_pack
>>> pack = load_pack()                        # the shipped default pack
>>> stage = pack.compile(frame.schema)        # doctest: +SKIP
>>> scored = stage.apply(frame)               # doctest: +SKIP
"""

from rules._backtest import BacktestError, BacktestReport, backtest, read_history
from rules._diagnostics import Diagnostic, RulePackError
from rules._diff import PackDiff, diff_packs
from rules._explain import ExplainError, Explanation, explain
from rules._pack import DEFAULT_PACK, CompiledPack, RulePack, check_pack, load_pack, load_pack_text
from rules._schema import json_schema

__all__ = [
    "DEFAULT_PACK",
    "BacktestError",
    "BacktestReport",
    "CompiledPack",
    "Diagnostic",
    "ExplainError",
    "Explanation",
    "PackDiff",
    "RulePack",
    "RulePackError",
    "backtest",
    "check_pack",
    "diff_packs",
    "explain",
    "json_schema",
    "load_pack",
    "load_pack_text",
    "read_history",
]
