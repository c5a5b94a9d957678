"""Masking parties before a case note is signed.

A masked party travels as a token, ``P-`` and ten hex digits of an HMAC of the party's
stable name key (``engine.parties.party_key``: case, punctuation, legal forms and word order
do not matter) under a secret derived from this unit's private key. So the same party gets the
same token in every note the unit sends — partners can see that two notes concern one party
without learning who — and only the sending unit can tell which party a token stands for.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import polars as pl
from cryptography.hazmat.primitives import serialization

from api.federation.casenotes.schemas import PartyIn, PartyPublic
from api.federation.keys import UnitIdentity
from engine.parties import party_keys

MASKED_FIELDS = ("name", "address")


def _mask_secret(identity: UnitIdentity) -> bytes:
    raw = identity.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    # Domain-separated: the signing key itself is never used as an HMAC key.
    return hashlib.sha256(b"lookout/casenote/party-mask/v1\0" + raw).digest()


def mask_parties(
    identity: UnitIdentity, parties: list[PartyIn]
) -> tuple[list[PartyPublic], list[PartyPublic], list[dict[str, Any]]]:
    """(parties as sent, the unit's unmasked copy, the masking record) of ``parties``."""
    keys = party_keys(pl.Series("name", [p.name for p in parties], dtype=pl.String)).to_list()
    secret = _mask_secret(identity)
    sent: list[PartyPublic] = []
    local: list[PartyPublic] = []
    record: list[dict[str, Any]] = []
    for index, (party, key) in enumerate(zip(parties, keys, strict=True)):
        plain = PartyPublic(
            role=party.role, name=party.name, country=party.country, address=party.address
        )
        local.append(plain)
        if not party.mask:
            sent.append(plain)
            continue
        digest = hmac.new(secret, (key or party.name).encode(), hashlib.sha256).hexdigest()
        token = f"P-{digest[:10].upper()}"
        sent.append(
            PartyPublic(role=party.role, name=token, country=party.country, address="", masked=True)
        )
        record.append(
            {"party": index, "role": party.role, "token": token, "fields": list(MASKED_FIELDS)}
        )
    return sent, local, record
