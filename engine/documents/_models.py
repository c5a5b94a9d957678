"""Typed documents: a pydantic model per document kind, its errors at ``file:line:col``.

A model validates the plain value of a composed YAML node; every validation error is walked
back along its location to the node it is about, so it is reported where it is in the file,
with a "did you mean" hint for a misspelt key and the key's description for a missing one.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar, Union

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic.json_schema import SkipJsonSchema

from engine.documents._diagnostics import Collector, did_you_mean
from engine.documents._yaml import (
    LIMITS,
    Limits,
    Node,
    compose_documents,
    is_mapping,
    is_sequence,
    mapping_items,
    pos,
    texts,
    value,
)
from engine.errors import Location, LookoutError

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def _given(value: Any) -> Any:
    if value is None:
        raise ValueError("is empty (null); write a value or leave the key out")
    return value


OptionalKey = Annotated[T | SkipJsonSchema[None], BeforeValidator(_given)]
"""An optional key: None when absent, but an explicit ``null`` is refused as a mistake."""


class DocumentModel(BaseModel):
    """Base of every document model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    label: ClassVar[str] = ""
    """How messages name a mapping of this model ("a rule", "an exception"); default: its key."""


# What a type error says the value must be.
_EXPECTED = {
    "string_type": "text",
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "date_type": "a date like 2026-01-31",
    "date_parsing": "a date like 2026-01-31",
    "date_from_datetime_parsing": "a date like 2026-01-31",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


@dataclass
class _Where:
    """Where a validation error's location leads in the node tree and the model."""

    node: Node  # the node the error is about (the parent mapping for a missing key)
    path: tuple[str | int, ...]  # keys and indexes actually followed
    owner: Any  # the type holding the last key (a model class for a missing/extra key)
    site: tuple[str | int, ...] | None  # path of the first union the location went through
    key_node: Node | None = None


def _members(tp: Any) -> list[Any]:
    """The types ``tp`` stands for, Annotated and Optional unwrapped."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _members(typing.get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return [m for arg in typing.get_args(tp) for m in _members(arg)]
    return [tp]


def _model_field(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info.annotation
    return None


def _step(tp: Any, part: str | int) -> Any:
    """The type reached from ``tp`` through a key or an index (None when unknown)."""
    for member in _members(tp):
        if isinstance(member, type) and issubclass(member, BaseModel) and isinstance(part, str):
            found = _model_field(member, part)
            if found is not None:
                return found
        origin = typing.get_origin(member)
        args = typing.get_args(member)
        if origin in (list, tuple, Sequence, set, frozenset) and isinstance(part, int) and args:
            return args[0]
        if origin in (dict, Mapping) and isinstance(part, str) and len(args) == 2:
            return args[1]
    return None


def _tag_member(tp: Any, tag: str) -> Any:
    """The member of union ``tp`` that pydantic's location tag ``tag`` names."""
    members = [m for m in _members(tp) if m is not None and m is not type(None)]
    for member in members:
        origin = typing.get_origin(member)
        if tag == getattr(member, "__name__", None) or (
            origin is not None and tag.startswith(f"{origin.__name__}[")
        ):
            return member
    return members[0] if len(members) == 1 else None


def _walk(root: Node, model: type[BaseModel], loc: tuple[str | int, ...]) -> _Where:
    where = _Where(root, (), model, None)
    tp: Any = model
    for part in loc:
        node = where.node
        if isinstance(part, int) and is_sequence(node) and 0 <= part < len(node.value):
            where.node, tp = node.value[part], _step(tp, part)
            where.path += (part,)
            where.key_node = None
        elif isinstance(part, str) and is_mapping(node):
            found = next(((kn, vn) for k, kn, vn in mapping_items(node) if k == part), None)
            if found is None and _tag_member(tp, part) is not None and _step(tp, part) is None:
                if where.site is None:
                    where.site = where.path
                tp = _tag_member(tp, part)
                continue
            where.owner = tp
            if found is None:  # a missing key: stay on the mapping
                where.path += (part,)
                return where
            where.key_node, where.node = found
            tp = _step(tp, part)
            where.path += (part,)
        else:  # a union member's tag ('str', 'ColumnOptions', 'list[str]')
            if where.site is None:
                where.site = where.path
            tp = _tag_member(tp, str(part))
    return where


def _name(path: tuple[str | int, ...]) -> str:
    keys = [p for p in path if isinstance(p, str)]
    key = keys[-1] if keys else "document"
    if path and isinstance(path[-1], int):
        return f"item {path[-1] + 1} of '{key}'"
    return f"'{key}'"


def _allowed_keys(owner: Any) -> list[str]:
    for member in _members(owner):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return [info.alias or name for name, info in member.model_fields.items()]
    return []


def _description(owner: Any, key: str) -> str | None:
    for member in _members(owner):
        if isinstance(member, type) and issubclass(member, BaseModel):
            for name, info in member.model_fields.items():
                if key in (name, info.alias):
                    return info.description
    return None


def _label(owner: Any, path: tuple[str | int, ...], title: str | None) -> str:
    if len(path) <= 1 and title:
        return title
    for member in _members(owner):
        if isinstance(member, type) and issubclass(member, DocumentModel) and member.label:
            return member.label
    parent = [p for p in path[:-1] if isinstance(p, str)]
    return f"'{parent[-1]}'" if parent else "the document"


def _message(
    err: Any, where: _Where, model: type[BaseModel], title: str | None
) -> tuple[str, str | None]:
    kind: str = err["type"]
    given = err.get("input")
    key = str(where.path[-1]) if where.path else "document"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(where.owner)
        at_root = len(where.path) <= 1
        label = (
            model.label if at_root and issubclass(model, DocumentModel) and model.label else None
        )
        label = label or _label(where.owner, where.path, None)
        return (
            f"unknown key '{key}' in {label}",
            did_you_mean(key, allowed) or ("allowed keys: " + ", ".join(allowed)),
        )
    if kind == "missing":
        description = _description(where.owner, key)
        return (
            f"{_label(where.owner, where.path, title)} has no '{key}'",
            f"add '{key}': {description}" if description else None,
        )
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        return (
            f"{key} {given!r} is not one of: " + ", ".join(options),
            did_you_mean(str(given), options),
        )
    if kind in _EXPECTED:
        return f"{_name(where.path)} must be {_EXPECTED[kind]}, got {given!r}", None
    ctx = err.get("ctx", {})
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("more than", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
    }
    if kind in bounds:
        words, bound = bounds[kind]
        return f"{_name(where.path)} must be {words} {ctx.get(bound)}, got {given!r}", None
    if kind in ("too_short", "string_too_short"):
        unit = "character(s)" if kind == "string_too_short" else "item(s)"
        return f"{_name(where.path)} needs at least {ctx.get('min_length')} {unit}", None
    if kind == "string_pattern_mismatch":
        return f"{_name(where.path)} {given!r} does not match {ctx.get('pattern')}", None
    text = str(err["msg"])
    text = text.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"{_name(where.path)} {text[:1].lower()}{text[1:]}", None


def _describe(
    err: Any, where: _Where, model: type[BaseModel], title: str | None
) -> tuple[str, str | None]:
    if err["type"] == "union":
        return f"{_name(where.path)} {err['msg']}", None
    return _message(err, where, model, title)


def _located(errors: list[Any], root: Node, model: type[BaseModel]) -> Iterator[tuple[Any, _Where]]:
    """Each error with where it leads; of a union's alternatives, only the telling ones."""
    # An optional key refuses null before the union is tried, so "should be None" is noise.
    errors = [err for err in errors if err["type"] != "none_required"]
    # A misspelt key also makes the right one missing: the unknown key, with its
    # "did you mean", comes first.
    errors.sort(key=lambda err: err["type"] != "extra_forbidden")
    walked = [(err, _walk(root, model, tuple(err["loc"]))) for err in errors]
    by_site: dict[tuple[str | int, ...], list[tuple[Any, _Where]]] = {}
    for err, where in walked:
        if where.site is None:
            yield err, where
        else:
            by_site.setdefault(where.site, []).append((err, where))
    for site, group in by_site.items():
        # A branch that failed only on the container type says nothing when another branch
        # got inside the value (a mapping given where text or a mapping is allowed).
        deeper = [(e, w) for e, w in group if w.path != site or e["type"] not in _EXPECTED]
        if deeper:
            yield from deeper
            continue
        err, where = group[0]
        expected = " or ".join(dict.fromkeys(_EXPECTED[e["type"]] for e, _ in group))
        yield (
            {**err, "type": "union", "msg": f"must be {expected}, got {err.get('input')!r}"},
            where,
        )


def validate_node(
    model: type[M],
    node: Node,
    file: str,
    out: Collector,
    *,
    title: str | None = None,
    data: Any = None,
) -> tuple[M | None, set[str]]:
    """``model`` validated against the plain value of ``node``; errors go to ``out``.

    Returns the model (None when invalid) and the top-level keys that had errors, so the
    owner's own checks can leave those parts alone. ``title`` names the document in
    "... has no 'key'" messages (e.g. "rule 'r1'"). ``data`` is the node's plain value
    when the caller has it already.
    """
    try:
        return model.model_validate(value(node) if data is None else data), set()
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    bad: set[str] = set()
    for err, where in _located(errors, node, model):
        if where.path:
            bad.add(str(where.path[0]))
        message, hint = _describe(err, where, model, title)
        at = where.key_node if err["type"] == "extra_forbidden" and where.key_node else where.node
        if err["type"] == "extra_forbidden" and where.key_node is None:
            at = where.node
        p = pos(at, file)
        out.error(p.file, p.line, p.col, message, hint)
    return None, bad


def compose_single(text: str, file: str, out: Collector, *, limits: Limits = LIMITS) -> Node | None:
    """The one document of ``text`` (None when empty or unreadable; problems go to ``out``)."""
    docs = compose_documents(text, file, out, limits=limits)
    if len(docs) > 1:
        p = pos(docs[1], file)
        out.error(p.file, p.line, p.col, "the file holds more than one YAML document")
    return docs[0] if docs else None


def raise_first(out: Collector, error: type[LookoutError], *, summary: str | None = None) -> None:
    """Raise ``error`` for the first error in ``out`` (others listed in the hint)."""
    errors = out.errors
    if not errors:
        return
    first = errors[0]
    hint = first.hint
    more = [f"{d.file}:{d.line}:{d.col}: {d.message}" for d in errors[1:]]
    if more:
        hint = "; ".join([*([hint] if hint else []), "also: " + "; ".join(more)])
    message = f"{summary}: {first.message}" if summary else first.message
    raise error(message, location=first.location(), hint=hint)


def read_document(
    path: Path | str,
    model: type[M],
    error: type[LookoutError],
    *,
    text: str | None = None,
    title: str | None = None,
    empty_ok: bool = False,
    as_text: bool = False,
    limits: Limits = LIMITS,
) -> tuple[M, Node | None, str]:
    """Read and validate a one-document YAML file; raise ``error`` at its first problem.

    Returns the model, the document's node (None for an empty file when ``empty_ok``) and
    the text read. ``text`` stands for the file's content when it is already read;
    ``as_text`` validates every scalar as its source text (see :func:`texts`).
    """
    file = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise error(f"cannot read {file}: {exc}", hint="save it as UTF-8 text") from None
    out = Collector()
    out.add_source(file, text)
    node = compose_single(text, file, out, limits=limits)
    raise_first(out, error)
    if node is None:
        if empty_ok:
            return model.model_validate({}), None, text
        out.error(file, 1, 1, "the file is empty", f"write a YAML mapping of {model.__name__}")
        raise_first(out, error)
        raise AssertionError("unreachable")
    if not is_mapping(node):
        p = pos(node, file)
        out.error(p.file, p.line, p.col, "the document must be a YAML mapping (key: value)")
        raise_first(out, error)
    data = texts(node) if as_text else None
    doc, _ = validate_node(model, node, file, out, title=title, data=data)
    raise_first(out, error)
    assert doc is not None
    return doc, node, text


def validate_data(
    model: type[M],
    data: Any,
    error: type[LookoutError],
    *,
    file: str | None = None,
    title: str | None = None,
) -> M:
    """``model`` validated against plain ``data`` (no YAML text); ``error`` names the key.

    For documents built in code: the messages are the same as for a file, located by the
    key's path (``field``) instead of a line and column.
    """
    try:
        return model.model_validate(data)
    except ValidationError:
        pass
    # A node tree of the data only to walk the error locations (tuples, dates: plain JSON).
    plain = json.loads(json.dumps(data, default=str))
    node = yaml.compose(yaml.safe_dump(plain, sort_keys=False), Loader=yaml.SafeLoader)
    assert node is not None  # data is a value that failed validation, so not empty
    located: list[tuple[str, str | None, str | None]] = []
    for err, where in _located(_errors(model, data), node, model):
        message, hint = _describe(err, where, model, title)
        path = ".".join(str(p) for p in where.path) or None
        located.append((message, hint, path))
    message, hint, path = located[0]
    more = [m for m, _, _ in located[1:]]
    if more:
        hint = "; ".join([*([hint] if hint else []), "also: " + "; ".join(more)])
    raise error(message, location=Location(file=file, field=path), hint=hint)


def _errors(model: type[BaseModel], data: Any) -> list[Any]:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return list(exc.errors(include_url=False))
    return []
