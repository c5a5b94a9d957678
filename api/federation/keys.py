"""The unit's identity and Ed25519 key pair.

``init_unit`` writes ``unit.yaml`` (public facts: id, country, name, base URL, public key)
and ``unit.key`` (the PKCS#8 private key, mode 0600) into the unit folder. The private key
is read only to sign; it is never sent, logged or returned by the API.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import Field

from api.federation.errors import UnitConfigError
from engine.documents import DocumentModel, NonEmptyText, read_document
from engine.errors import Location

UNIT_FILE = "unit.yaml"
KEY_FILE = "unit.key"
UNIT_ID_RE = re.compile(r"^[A-Z]{2}-[A-Z0-9]{2,8}-[A-Z0-9]{2,8}$")


def check_unit_id(unit_id: str, *, where: Location | None = None) -> str:
    """``unit_id`` if it reads like ``UZ-TAS-PCU`` (country-place-kind), else an error."""
    if not UNIT_ID_RE.match(unit_id):
        raise UnitConfigError(
            f"unit id {unit_id!r} is not of the form CC-PLACE-KIND",
            location=where,
            hint="use the ISO country code, a place code and the unit kind, e.g. UZ-TAS-PCU",
        )
    return unit_id


def public_key_b64(key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key, base64 (as written in partner directories)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_public_key(text: str, *, where: Location | None = None) -> Ed25519PublicKey:
    """An Ed25519 public key from its base64 raw form."""
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError) as err:
        raise UnitConfigError(
            f"not an Ed25519 public key: {err}",
            location=where,
            hint="copy the public_key line printed by `lookout unit show` on the partner unit",
        ) from err


def verify(key: Ed25519PublicKey, signature_b64: str, message: bytes) -> bool:
    """True if ``signature_b64`` is ``key``'s signature of ``message``."""
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class UnitIdentity:
    """This installation: its public facts and its private signing key."""

    unit_id: str
    country: str
    name: str
    base_url: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The public half of the key pair."""
        return self.private_key.public_key()

    def sign(self, message: bytes) -> str:
        """Base64 Ed25519 signature of ``message``."""
        return base64.b64encode(self.private_key.sign(message)).decode()

    def directory_entry(self) -> dict[str, str]:
        """The entry partners paste into their directory for this unit."""
        return {
            "unit_id": self.unit_id,
            "country": self.country,
            "name": self.name,
            "base_url": self.base_url,
            "public_key": public_key_b64(self.public_key),
        }

    def __repr__(self) -> str:  # never print the private key
        return f"UnitIdentity(unit_id={self.unit_id!r}, base_url={self.base_url!r})"


def _write_private(path: Path, data: bytes) -> None:
    # Create with 0600 from the start: no window in which the key is world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def init_unit(
    unit_dir: Path, *, unit_id: str, country: str, name: str, base_url: str, force: bool = False
) -> UnitIdentity:
    """Generate a key pair and write the unit folder; refuses to overwrite unless ``force``."""
    check_unit_id(unit_id)
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise UnitConfigError(
            f"country {country!r} is not an ISO 3166 alpha-2 code", hint="e.g. UZ"
        )
    if not base_url.startswith(("http://", "https://")):
        raise UnitConfigError(f"base URL {base_url!r} must start with https:// (or http://)")
    unit_dir.mkdir(parents=True, exist_ok=True)
    key_path, unit_path = unit_dir / KEY_FILE, unit_dir / UNIT_FILE
    if key_path.exists() and not force:
        raise UnitConfigError(
            f"{key_path} already exists",
            hint="a unit keeps its key; pass --force only to replace it (partners must update)",
        )
    key_path.unlink(missing_ok=True)
    private = Ed25519PrivateKey.generate()
    _write_private(
        key_path,
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    identity = UnitIdentity(unit_id, country, name, base_url.rstrip("/"), private)
    unit_path.write_text(yaml.safe_dump(identity.directory_entry(), sort_keys=False))
    return identity


class UnitFile(DocumentModel):
    """``unit.yaml``: this unit's public facts (written by ``lookout unit init``)."""

    label: ClassVar[str] = UNIT_FILE
    unit_id: NonEmptyText = Field(description="this unit's id, e.g. KZ-ALA-PCU")
    country: NonEmptyText = Field(description="ISO 3166 alpha-2 country code")
    name: NonEmptyText = Field(description="the unit's name")
    base_url: NonEmptyText = Field(description="where partners reach this unit's API")
    public_key: str | None = Field(default=None, description="the Ed25519 public key (base64)")


def load_unit(unit_dir: Path) -> UnitIdentity:
    """Read ``unit.yaml`` and ``unit.key``; errors say which file and what to do."""
    unit_path, key_path = unit_dir / UNIT_FILE, unit_dir / KEY_FILE
    if not unit_path.is_file() or not key_path.is_file():
        raise UnitConfigError(
            f"unit not initialised: {unit_path} or {key_path} is missing",
            hint="run `lookout unit init --unit-id CC-PLACE-KIND ...` first",
        )
    if key_path.stat().st_mode & 0o077:
        raise UnitConfigError(
            f"{key_path} is readable by other users",
            location=Location(file=str(key_path)),
            hint=f"chmod 600 {key_path}",
        )
    data, _, _ = read_document(unit_path, UnitFile, UnitConfigError, as_text=True, title=UNIT_FILE)
    where = Location(file=str(unit_path))
    try:
        private = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except ValueError as err:
        raise UnitConfigError(
            f"cannot read the private key: {err}", location=Location(file=str(key_path))
        ) from err
    if not isinstance(private, Ed25519PrivateKey):
        raise UnitConfigError(
            "the private key is not Ed25519", location=Location(file=str(key_path))
        )
    identity = UnitIdentity(
        check_unit_id(data.unit_id, where=where),
        data.country,
        data.name,
        data.base_url.rstrip("/"),
        private,
    )
    if data.public_key and data.public_key != public_key_b64(identity.public_key):
        raise UnitConfigError(
            "unit.yaml public_key does not match unit.key",
            location=where,
            hint="rerun `lookout unit init --force`",
        )
    return identity
