"""The partner directory: the units this one trusts, with their keys and endpoints.

A YAML file (read with the safe loader)::

    units:
      - unit_id: KZ-ALA-PCU
        country: KZ
        name: Almaty Port Control Unit
        base_url: https://lookout.kz-ala.example
        public_key: 3q2+7w...=

Only listed units may send to or receive from this unit. The file is re-read when it
changes, so adding a partner needs no restart. Errors name the file, line and column.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from api.federation.errors import UnitConfigError
from api.federation.keys import check_unit_id, load_public_key
from engine.errors import Location

_FIELDS = ("unit_id", "country", "name", "base_url", "public_key")


@dataclass(frozen=True)
class Partner:
    """One trusted unit."""

    unit_id: str
    country: str
    name: str
    base_url: str
    public_key: Ed25519PublicKey


def _where(path: Path, node: yaml.Node, field: str | None = None) -> Location:
    return Location(
        file=str(path),
        line=node.start_mark.line + 1,
        column=node.start_mark.column + 1,
        field=field,
    )


def _scalar_map(path: Path, node: yaml.Node) -> dict[str, tuple[str, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise UnitConfigError("a partner entry must be a mapping", location=_where(path, node))
    out: dict[str, tuple[str, yaml.Node]] = {}
    for key, value in node.value:
        if not isinstance(value, yaml.ScalarNode):
            raise UnitConfigError(
                f"{key.value} must be a single value", location=_where(path, value, key.value)
            )
        out[str(key.value)] = (str(value.value), value)
    return out


def parse_directory(path: Path, text: str) -> dict[str, Partner]:
    """The partners listed in ``text`` (the content of ``path``), keyed by unit id."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = (
            Location(file=str(path), line=mark.line + 1, column=mark.column + 1) if mark else None
        )
        raise UnitConfigError(f"not valid YAML: {err}", location=where) from err
    if root is None:
        return {}
    units_node = None
    if isinstance(root, yaml.MappingNode):
        units_node = next((v for k, v in root.value if k.value == "units"), None)
    if not isinstance(units_node, yaml.SequenceNode):
        raise UnitConfigError(
            "the partner directory needs a top-level `units:` list",
            location=_where(path, root),
            hint="see docs/federation.md for the format",
        )
    partners: dict[str, Partner] = {}
    for entry in units_node.value:
        fields = _scalar_map(path, entry)
        missing = [f for f in _FIELDS if f not in fields]
        if missing:
            raise UnitConfigError(
                f"partner entry lacks {', '.join(missing)}",
                location=_where(path, entry),
                hint="paste the output of `lookout unit show` from that unit",
            )
        unit_id, node = fields["unit_id"]
        check_unit_id(unit_id, where=_where(path, node, "unit_id"))
        if unit_id in partners:
            raise UnitConfigError(
                f"unit {unit_id} is listed twice", location=_where(path, node, "unit_id")
            )
        base_url, node = fields["base_url"]
        if not base_url.startswith(("http://", "https://")):
            raise UnitConfigError(
                f"base_url {base_url!r} is not an http(s) URL",
                location=_where(path, node, "base_url"),
            )
        key_text, node = fields["public_key"]
        partners[unit_id] = Partner(
            unit_id=unit_id,
            country=fields["country"][0],
            name=fields["name"][0],
            base_url=base_url.rstrip("/"),
            public_key=load_public_key(key_text, where=_where(path, node, "public_key")),
        )
    return partners


class PartnerDirectory:
    """The partner directory file, re-read whenever its modification time changes."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._partners: dict[str, Partner] = {}

    def _refresh(self) -> dict[str, Partner]:
        with self._lock:
            try:
                stat = self.path.stat()
            except FileNotFoundError:
                self._stamp, self._partners = None, {}
                return self._partners
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp != self._stamp:
                self._partners = parse_directory(self.path, self.path.read_text())
                self._stamp = stamp
            return self._partners

    def get(self, unit_id: str) -> Partner | None:
        """The partner ``unit_id``, or None if it is not listed."""
        return self._refresh().get(unit_id)

    def all(self) -> list[Partner]:
        """Every listed partner, by unit id."""
        return sorted(self._refresh().values(), key=lambda p: p.unit_id)

    def require(self, unit_id: str) -> Partner:
        """The partner ``unit_id``; an error naming the directory file if it is not listed."""
        partner = self.get(unit_id)
        if partner is None:
            raise UnitConfigError(
                f"{unit_id} is not in the partner directory {self.path}",
                hint="only listed units may receive queries; add its `lookout unit show` entry",
            )
        return partner
