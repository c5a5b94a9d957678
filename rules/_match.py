"""Selections, field tests and conditions: the `match` block of rules and macros.

Split from the loader so each file stays readable: this part turns
``field|modifier: value`` entries into typed :class:`FieldTest` s and resolves a condition
(selections, macros, ``1 of``/``all of``) into the condition tree.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, cast

import polars as pl

from engine import documents as y
from engine.documents import Collector, Node, Pos, did_you_mean
from rules._condition import (
    CAnd,
    CNode,
    CNot,
    COf,
    ConditionSyntaxError,
    CRef,
    parse_condition,
)
from rules._ir import And, Cond, FieldTest, ListDef, Not, Op, Or, Sel, Selection
from rules._types import (
    FIELDREF_OPS,
    FLAGS,
    OPERATORS,
    OPS_BY_FAMILY,
    SINGLE_VALUE_OPS,
    TEXT_OPS,
    ValueProblem,
    coerce,
    family,
    regex_problem,
)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class MatchContext:
    """Per-rule (or per-macro) resolution state."""

    file: str
    lists_used: set[str] = field(default_factory=set)
    macros_used: set[str] = field(default_factory=set)


class MatchResolver:
    """Resolves `match` blocks; the loader's resolver adds documents, lists and macros."""

    fields: dict[str, pl.DataType]
    out: Collector
    lists: dict[str, ListDef]
    raw_macros: dict[str, Any]
    broken: set[str]

    def macro(
        self, name: str, at: Pos, stack: tuple[str, ...]
    ) -> tuple[Cond, set[str], set[str]] | None:
        """Resolve a macro by name (provided by the loader)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers
    def err(
        self, node: Node, file: str, message: str, hint: str | None = None, offset: int = 0
    ) -> None:
        p = y.pos(node, file)
        self.out.error(p.file, p.line, p.col + offset, message, hint)

    def warn(self, node: Node, file: str, message: str, hint: str | None = None) -> None:
        p = y.pos(node, file)
        self.out.warning(p.file, p.line, p.col, message, hint)

    # ------------------------------------------------------------------ match
    def match(
        self, node: Node, ctx: MatchContext, stack: tuple[str, ...], *, macro: str | None
    ) -> tuple[tuple[Selection, ...], Cond, str] | None:
        file = ctx.file
        if not y.is_mapping(node):
            self.err(
                node, file, "'match' must map selection names to field tests, plus a 'condition'"
            )
            return None
        selections: dict[str, Selection] = {}
        broken: set[str] = set()
        cond_node: Node | None = None
        ok = True
        for key, key_node, value_node in y.mapping_items(node):
            if key == "condition":
                cond_node = value_node
                continue
            if not _NAME.fullmatch(key) or key.lower() in ("and", "or", "not", "of", "them"):
                self.err(
                    key_node,
                    file,
                    f"'{key}' is not a valid selection name",
                    "letters, digits and '_', not a condition keyword",
                )
                ok = False
                continue
            sel = self.selection(key, value_node, ctx)
            if sel is None:
                ok = False
                broken.add(key)
            else:
                selections[key] = sel
        if cond_node is None:
            self.err(
                node,
                file,
                "'match' has no 'condition'",
                "add e.g. 'condition: " + (" and ".join(selections) or "sel") + "'",
            )
            return None
        text = y.value(cond_node) if y.is_scalar(cond_node) else None
        if not isinstance(text, str):
            self.err(cond_node, file, "'condition' must be text, e.g. 'a and not b'")
            return None
        single_line = "\n" not in text and cond_node.start_mark.line == cond_node.end_mark.line
        base = y.scalar_col_offset(cond_node) if single_line else 0
        try:
            tree = parse_condition(text)
        except ConditionSyntaxError as exc:
            self.err(
                cond_node, file, exc.message, exc.hint, base + exc.offset if single_line else 0
            )
            return None
        used: set[str] = set()
        self.broken = broken
        cond = self.resolve(
            tree, selections, used, cond_node, base if single_line else None, ctx, stack, macro
        )
        for name, sel in selections.items():
            if name not in used and not broken:
                p = sel.pos
                self.out.warning(
                    p.file,
                    p.line,
                    p.col,
                    f"selection '{name}' is never used by the condition",
                    "use it in 'condition' or remove it",
                )
        if cond is None or not ok:
            return None
        return tuple(selections.values()), cond, text

    def resolve(
        self,
        tree: CNode,
        selections: dict[str, Selection],
        used: set[str],
        cond_node: Node,
        base: int | None,
        ctx: MatchContext,
        stack: tuple[str, ...],
        macro: str | None,
    ) -> Cond | None:
        def at(offset: int) -> int:
            return base + offset if base is not None else 0

        if isinstance(tree, CRef):
            if tree.name in selections:
                used.add(tree.name)
                return Sel(selections[tree.name], macro)
            if tree.name in self.raw_macros:
                p = y.pos(cond_node, ctx.file)
                resolved = self.macro(
                    tree.name, Pos(p.file, p.line, p.col + at(tree.offset)), stack
                )
                if resolved is None:
                    return None
                cond, lists_used, macros_used = resolved
                ctx.lists_used |= lists_used
                ctx.macros_used |= macros_used | {tree.name}
                return cond
            if tree.name in self.broken:  # already reported where the selection is
                used.add(tree.name)
                return None
            self.err(
                cond_node,
                ctx.file,
                f"unknown selection or macro '{tree.name}'",
                did_you_mean(tree.name, [*selections, *self.raw_macros]),
                at(tree.offset),
            )
            return None
        if isinstance(tree, COf):
            names = (
                list(selections)
                if tree.pattern == "them"
                else [n for n in selections if fnmatch.fnmatchcase(n, tree.pattern)]
            )
            if not names:
                self.err(
                    cond_node,
                    ctx.file,
                    f"'{tree.pattern}' matches no selection",
                    "selections: " + (", ".join(selections) or "none"),
                    at(tree.offset),
                )
                return None
            used.update(names)
            leaves: tuple[Cond, ...] = tuple(Sel(selections[n], macro) for n in names)
            if len(leaves) == 1:
                return leaves[0]
            return And(leaves) if tree.quantifier == "all" else Or(leaves)
        if isinstance(tree, CNot):
            inner = self.resolve(tree.item, selections, used, cond_node, base, ctx, stack, macro)
            return None if inner is None else Not(inner)
        parts = [
            self.resolve(i, selections, used, cond_node, base, ctx, stack, macro)
            for i in tree.items
        ]
        if any(p is None for p in parts):
            return None
        items = tuple(p for p in parts if p is not None)
        return And(items) if isinstance(tree, CAnd) else Or(items)

    def selection(self, name: str, node: Node, ctx: MatchContext) -> Selection | None:
        file = ctx.file
        maps = node.value if y.is_sequence(node) else [node]
        alternatives: list[tuple[FieldTest, ...]] = []
        ok = True
        for map_node in maps:
            if not y.is_mapping(map_node) or not map_node.value:
                self.err(
                    map_node,
                    file,
                    f"selection '{name}' must be a mapping of "
                    "field|modifier: value (or a list of such mappings)",
                )
                ok = False
                continue
            tests: list[FieldTest] = []
            for key, key_node, value_node in y.mapping_items(map_node):
                test = self.field_test(key, key_node, value_node, ctx)
                if test is None:
                    ok = False
                else:
                    tests.append(test)
            alternatives.append(tuple(tests))
        if not ok:
            return None
        return Selection(name, tuple(alternatives), y.pos(node, file))

    def field_test(
        self, key: str, key_node: Node, value_node: Node, ctx: MatchContext
    ) -> FieldTest | None:
        file = ctx.file
        parts = key.split("|")
        fname, modifiers = parts[0], parts[1:]
        ok = True
        dtype = self.fields.get(fname)
        if dtype is None:
            self.err(
                key_node,
                file,
                f"unknown field '{fname}'",
                did_you_mean(fname, self.fields)
                or "see `lookout rules schema` for the field catalogue",
            )
            ok = False
        op: str | None = None
        flags: set[str] = set()
        offset = y.scalar_col_offset(key_node) + len(fname) + 1
        for mod in modifiers:
            if mod in OPERATORS:
                if op is not None:
                    self.err(
                        key_node,
                        file,
                        f"two operators '{op}' and '{mod}' on one field",
                        "split them into two field tests",
                        offset,
                    )
                    ok = False
                op = OPERATORS[mod]
            elif mod in FLAGS:
                flags.add(mod)
            else:
                self.err(
                    key_node,
                    file,
                    f"unknown modifier '{mod}'",
                    did_you_mean(mod, [*OPERATORS, *FLAGS])
                    or "modifiers: " + ", ".join([*OPERATORS, *FLAGS]),
                    offset,
                )
                ok = False
            offset += len(mod) + 1
        op = op or "eq"
        if not ok or dtype is None:
            return None
        fam = family(dtype)
        if op not in OPS_BY_FAMILY[fam]:
            self.err(
                key_node,
                file,
                f"'{op}' cannot be used on '{fname}' ({fam.replace('_', ' ')} field, {dtype})",
                f"operators for this field: {', '.join(sorted(OPS_BY_FAMILY[fam]))}",
            )
            return None
        if "cased" in flags and (op not in TEXT_OPS or fam not in ("text", "text_list")):
            self.err(key_node, file, "'cased' only applies to text comparisons")
            return None
        raw_nodes = value_node.value if y.is_sequence(value_node) else [value_node]
        if op == "between":
            raw_nodes = [value_node]
        values: list[Any] = []
        literals: list[Any] = []
        refs: list[str] = []
        list_types: set[str] = set()
        for item in raw_nodes:
            if op == "between":
                pair = self.between(item, fam, fname, file)
                if pair is None:
                    return None
                values.append(pair)
                continue
            if not y.is_scalar(item):
                self.err(item, file, "values must be plain scalars (text, numbers, true/false)")
                return None
            val = y.text_value(item) if fam in ("text", "text_list") else y.value(item)
            if isinstance(val, str) and val.startswith("$") and "fieldref" not in flags:
                listdef = self.lists.get(val[1:])
                if listdef is None:
                    self.err(
                        item,
                        file,
                        f"unknown list '{val}'",
                        did_you_mean(val[1:], self.lists) or "define it with 'kind: list'",
                    )
                    return None
                ctx.lists_used.add(listdef.name)
                list_types.add(listdef.type)
                refs.append(listdef.name)
                new = list(listdef.items)
            else:
                new = [val]
            for v in new:
                checked = self.check_value(v, op, fam, fname, flags, item, file)
                if checked is None:
                    return None
                values.append(checked)
                if len(new) == 1 and new[0] is val:
                    literals.append(checked)
        if not values:
            self.err(value_node, file, f"'{key}' has no values")
            return None
        if "regex" in list_types and op != "re":
            self.err(
                value_node, file, "a regex list needs the 're' modifier", f"write '{fname}|re: ...'"
            )
            return None
        if (op in SINGLE_VALUE_OPS or op == "exists") and len(values) != 1:
            self.err(value_node, file, f"'{op}' takes exactly one value")
            return None
        if "all" in flags and (
            op not in ("contains", "startswith", "endswith", "re", "eq")
            or (op == "eq" and fam != "text_list")
        ):
            self.err(
                key_node,
                file,
                "'all' applies to contains/startswith/endswith/re, and to equality on list fields",
            )
            return None
        if "fieldref" in flags and op not in FIELDREF_OPS:
            self.err(
                key_node,
                file,
                f"'fieldref' cannot be combined with '{op}'",
                "fieldref works with eq, neq, gt, gte, lt, lte",
            )
            return None
        return FieldTest(
            fname,
            cast(Op, op),  # validated against OPERATORS above
            tuple(values),
            cased="cased" in flags,
            match_all="all" in flags,
            fieldref="fieldref" in flags,
            key=key,
            pos=y.pos(key_node, file),
            literals=tuple(literals),
            list_refs=tuple(refs),
        )

    def check_value(
        self, val: Any, op: str, fam: str, fname: str, flags: set[str], node: Node, file: str
    ) -> Any:
        if op == "exists":
            if not isinstance(val, bool):
                self.err(node, file, "'exists' takes true or false")
                return None
            return val
        if "fieldref" in flags:
            other = self.fields.get(str(val))
            if other is None:
                self.err(
                    node,
                    file,
                    f"unknown field '{val}' in fieldref",
                    did_you_mean(str(val), self.fields),
                )
                return None
            if family(other) != fam or fam in ("text_list", "other"):
                self.err(
                    node,
                    file,
                    f"cannot compare '{fname}' ({fam}) with '{val}' ({family(other)})",
                    "fieldref compares fields of the same kind",
                )
                return None
            return str(val)
        try:
            out = coerce(val, fam, fname)  # type: ignore[arg-type]  # fam from family()
        except ValueProblem as exc:
            self.err(node, file, str(exc))
            return None
        if op == "re":
            problem = regex_problem(out)
            if problem:
                self.err(
                    node,
                    file,
                    problem,
                    "polars uses Rust regex syntax: no look-around or back-references",
                )
                return None
        return out

    def between(self, node: Node, fam: str, fname: str, file: str) -> tuple[Any, Any] | None:
        if not y.is_sequence(node) or len(node.value) != 2:
            self.err(node, file, "'between' takes [low, high]")
            return None
        try:
            low, high = (
                coerce(y.value(n), fam, fname)  # type: ignore[arg-type]
                for n in node.value
            )
        except ValueProblem as exc:
            self.err(node, file, str(exc))
            return None
        if low > high:
            self.err(node, file, f"'between' low {low} is above high {high}")
            return None
        return (low, high)
