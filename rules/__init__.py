"""rules: the YAML profiling-rule language, its compiler to polars, and author tooling.

>>> from rules import load_pack
>>> pack = load_pack()                        # the shipped default pack
>>> stage = pack.compile(frame.schema)        # doctest: +SKIP
>>> scored = stage.apply(frame)               # doctest: +SKIP
"""

from rules._diagnostics import Diagnostic, RulePackError
from rules._pack import DEFAULT_PACK, CompiledPack, RulePack, check_pack, load_pack, load_pack_text

__all__ = [
    "DEFAULT_PACK",
    "CompiledPack",
    "Diagnostic",
    "RulePack",
    "RulePackError",
    "check_pack",
    "load_pack",
    "load_pack_text",
]
