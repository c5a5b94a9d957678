"""The partner directory: the units this one trusts, with their keys and endpoints.

A YAML file (read with the safe loader)::

    units:
      - unit_id: KZ-ALA-PCU
        country: KZ
        name: Almaty Port Control Unit
        base_url: https://lookout.kz-ala.example
        public_key: 3q2+7w...=

An optional ``groups:`` mapping names groups of listed units, so an officer can address a
query or a case note to ``IREN`` instead of naming each unit::

    groups:
      IREN: [KZ-ALA-PCU, PK-KHI-PCU, UZ-TAS-PCU]

A group may name this unit itself (so one group list can be shared by every member); it is
skipped when the group is expanded. ``all-trusted`` is built in: every listed partner.

Only listed units may send to or receive from this unit. The file is re-read when it
changes, so adding a partner needs no restart. Errors name the file, line and column. The
file's shape is :class:`DirectoryDocument` (JSON Schema: ``make schemas``).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import Field

from api.federation.errors import Forbidden, InvalidAddress, UnitConfigError
from api.federation.keys import UNIT_ID_RE, check_unit_id, load_public_key
from engine.documents import (
    Collector,
    DocumentModel,
    Node,
    child,
    compose_single,
    is_sequence,
    mapping_items,
    raise_first,
    texts,
    validate_node,
)
from engine.errors import Location

ALL_TRUSTED = "all-trusted"
"""The built-in group of every listed partner."""
GROUP_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{1,31}$")
MAX_RECIPIENTS = 20
"""A query or case note goes to at most this many units (the wire format's limit)."""


@dataclass(frozen=True)
class Partner:
    """One trusted unit."""

    unit_id: str
    country: str
    name: str
    base_url: str
    public_key: Ed25519PublicKey


class PartnerEntry(DocumentModel):
    """One trusted unit, as printed by its ``lookout unit show``."""

    label: ClassVar[str] = "a partner entry"
    unit_id: str = Field(description="the unit's id, e.g. KZ-ALA-PCU")
    country: str = Field(description="ISO 3166 alpha-2 country code")
    name: str = Field(description="the unit's name")
    base_url: str = Field(description="where the unit's API is reached (http or https)")
    public_key: str = Field(description="the unit's Ed25519 public key (base64)")


class DirectoryDocument(DocumentModel):
    """The partner directory file."""

    label: ClassVar[str] = "the partner directory"
    units: list[PartnerEntry] = Field(description="the trusted units")
    groups: dict[str, list[str]] | None = Field(
        default=None, description="named groups of listed units (this unit may be one)"
    )


def _where(path: Path, node: Node, field: str | None = None) -> Location:
    return Location(
        file=str(path),
        line=node.start_mark.line + 1,
        column=node.start_mark.column + 1,
        field=field,
    )


def parse_directory(path: Path, text: str) -> dict[str, Partner]:
    """The partners listed in ``text`` (the content of ``path``), keyed by unit id."""
    return parse_directory_file(path, text).partners


@dataclass(frozen=True)
class DirectoryFile:
    """A parsed partner directory: the partners and the named groups."""

    partners: dict[str, Partner]
    groups: dict[str, tuple[str, ...]]


def parse_directory_file(path: Path, text: str, *, self_id: str | None = None) -> DirectoryFile:
    """Partners and groups of a directory file; ``self_id`` may be named in groups."""
    file = str(path)
    out = Collector()
    out.add_source(file, text)
    root = compose_single(text, file, out)
    raise_first(out, UnitConfigError)
    if root is None:
        return DirectoryFile({}, {})
    units = child(root, "units")
    if units is None or not is_sequence(units):
        raise UnitConfigError(
            "the partner directory needs a top-level `units:` list",
            location=_where(path, root),
            hint="see docs/federation.md for the format",
        )
    # Every value is text as written (a country code NO stays 'NO').
    validate_node(DirectoryDocument, root, file, out, data=texts(root))
    raise_first(out, UnitConfigError)
    partners = _partners(path, units)
    groups_node = child(root, "groups")
    groups = {} if groups_node is None else _groups(path, groups_node, partners, self_id)
    return DirectoryFile(partners, groups)


def _partners(path: Path, units_node: Node) -> dict[str, Partner]:
    partners: dict[str, Partner] = {}
    for entry in units_node.value:
        fields = {key: (str(v.value), v) for key, _, v in mapping_items(entry)}
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


def check_group_name(name: str, *, where: Location | None = None) -> str:
    """``name`` if it can name a group (not a unit id, not ``all-trusted``), else an error."""
    if not GROUP_NAME_RE.match(name) or UNIT_ID_RE.match(name) or name.lower() == ALL_TRUSTED:
        raise UnitConfigError(
            f"{name!r} cannot name a group",
            location=where,
            hint="use 2-32 letters, digits, '-' or '_' starting with a letter (e.g. IREN); "
            f"not a unit id, and not {ALL_TRUSTED!r}, which is built in",
        )
    return name


def _groups(
    path: Path, node: Node, partners: dict[str, Partner], self_id: str | None
) -> dict[str, tuple[str, ...]]:
    groups: dict[str, tuple[str, ...]] = {}
    for _, key, members in mapping_items(node):
        name = check_group_name(str(key.value), where=_where(path, key, "groups"))
        units: list[str] = []
        for member in members.value:
            unit_id = str(member.value)
            if unit_id not in partners and unit_id != self_id:
                raise UnitConfigError(
                    f"group {name} names {unit_id}, which is not in the partner directory",
                    location=_where(path, member, name),
                    hint="add its entry with `lookout unit trust`, or remove it from the group",
                )
            if unit_id not in units:
                units.append(unit_id)
        groups[name] = tuple(units)
    return groups


class PartnerDirectory:
    """The partner directory file, re-read whenever its modification time changes."""

    def __init__(self, path: Path, *, self_id: str | None = None):
        self.path = path
        self.self_id = self_id
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._file = DirectoryFile({}, {})

    def _refresh(self) -> DirectoryFile:
        with self._lock:
            try:
                stat = self.path.stat()
            except FileNotFoundError:
                self._stamp, self._file = None, DirectoryFile({}, {})
                return self._file
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp != self._stamp:
                self._file = parse_directory_file(
                    self.path, self.path.read_text(), self_id=self.self_id
                )
                self._stamp = stamp
            return self._file

    def get(self, unit_id: str) -> Partner | None:
        """The partner ``unit_id``, or None if it is not listed."""
        return self._refresh().partners.get(unit_id)

    def all(self) -> list[Partner]:
        """Every listed partner, by unit id."""
        return sorted(self._refresh().partners.values(), key=lambda p: p.unit_id)

    def groups(self) -> dict[str, tuple[str, ...]]:
        """The named groups (``all-trusted`` included) and their members other than this unit."""
        found = self._refresh()
        out = {ALL_TRUSTED: tuple(sorted(found.partners))}
        for name, members in sorted(found.groups.items()):
            out[name] = tuple(m for m in members if m != self.self_id)
        return out

    def expand(self, addresses: list[str]) -> list[str]:
        """The recipient units of ``addresses`` (unit ids and group names), in order, once each.

        A unit id must be a listed partner (never this unit); a group expands to its members
        other than this unit.
        """
        groups = self.groups()
        recipients: list[str] = []
        for address in addresses:
            if UNIT_ID_RE.match(address):
                if address == self.self_id:
                    raise Forbidden(
                        "a unit cannot send to itself", hint=f"remove {address} from the recipients"
                    )
                self.require_partner(address)
                members: tuple[str, ...] = (address,)
            else:
                key = ALL_TRUSTED if address.lower() == ALL_TRUSTED else address
                if key not in groups:
                    raise InvalidAddress(
                        f"no group {address!r} in the partner directory {self.path}",
                        hint="groups: "
                        + ", ".join(groups)
                        + "; define one under `groups:` (or `lookout unit group`)",
                    )
                members = groups[key]
                if not members:
                    raise InvalidAddress(f"group {address} has no partner in it")
            recipients.extend(m for m in members if m not in recipients)
        if len(recipients) > MAX_RECIPIENTS:
            raise InvalidAddress(
                f"{len(recipients)} recipients; a message goes to at most {MAX_RECIPIENTS} units",
                hint="split the recipients over several messages",
            )
        return recipients

    def require_partner(self, unit_id: str) -> Partner:
        """The partner ``unit_id``; a 403 naming the listed partners if it is not listed."""
        partner = self.get(unit_id)
        if partner is None:
            raise Forbidden(
                f"{unit_id} is not in the partner directory",
                hint="listed partners: " + (", ".join(p.unit_id for p in self.all()) or "none"),
            )
        return partner

    def require(self, unit_id: str) -> Partner:
        """The partner ``unit_id``; an error naming the directory file if it is not listed."""
        partner = self.get(unit_id)
        if partner is None:
            raise UnitConfigError(
                f"{unit_id} is not in the partner directory {self.path}",
                hint="only listed units may receive queries; add its `lookout unit show` entry",
            )
        return partner
