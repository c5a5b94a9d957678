"""Signed envelopes and receipts.

An envelope carries one message from a sender unit to one recipient unit::

    {"version": 1, "message_id", "sender", "recipient", "timestamp", "kind",
     "payload", "payload_sha256", "signature"}

The signature is Ed25519 over the canonical serialisation (sorted keys, compact separators,
UTF-8) of every field but ``signature``; ``payload_sha256`` is the SHA-256 of the canonical
payload. A receipt is the receiver's signed statement that it holds the message.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from api.federation.keys import UnitIdentity, verify

VERSION = 1
KINDS = ("query", "ack", "reply", "followup", "close", "cancel", "casenote", "decision")
ENVELOPE_FIELDS = (
    "version",
    "message_id",
    "sender",
    "recipient",
    "timestamp",
    "kind",
    "payload",
    "payload_sha256",
    "signature",
)
RECEIPT_FIELDS = ("message_id", "sender", "recipient", "payload_sha256", "status", "received_at")


def canonical(value: Any) -> bytes:
    """The canonical bytes of a JSON value: sorted keys, no whitespace, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def sha256_hex(value: Any) -> str:
    """SHA-256 of the canonical form of ``value``."""
    return hashlib.sha256(canonical(value)).hexdigest()


def timestamp(moment: datetime) -> str:
    """An ISO 8601 UTC timestamp with microseconds, as envelopes carry it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    """The moment an envelope timestamp names (ValueError if malformed)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("timestamp lacks a time zone")
    return moment


def _signed_part(document: dict[str, Any]) -> bytes:
    return canonical({k: v for k, v in document.items() if k != "signature"})


def seal(
    identity: UnitIdentity,
    *,
    message_id: str,
    recipient: str,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """A signed envelope of ``payload`` from this unit to ``recipient``."""
    envelope: dict[str, Any] = {
        "version": VERSION,
        "message_id": message_id,
        "sender": identity.unit_id,
        "recipient": recipient,
        "timestamp": timestamp(now),
        "kind": kind,
        "payload": payload,
        "payload_sha256": sha256_hex(payload),
    }
    envelope["signature"] = identity.sign(_signed_part(envelope))
    return envelope


def check_shape(envelope: Any) -> str | None:
    """None if ``envelope`` has every field with the right type, else what is wrong."""
    if not isinstance(envelope, dict):
        return "the envelope is not a JSON object"
    missing = [f for f in ENVELOPE_FIELDS if f not in envelope]
    if missing:
        return f"the envelope lacks {', '.join(missing)}"
    extra = sorted(set(envelope) - set(ENVELOPE_FIELDS))
    if extra:
        return f"unexpected envelope fields {', '.join(extra)}"
    if envelope["version"] != VERSION:
        return f"envelope version {envelope['version']!r} is not supported (expected {VERSION})"
    for name in (
        "message_id",
        "sender",
        "recipient",
        "timestamp",
        "kind",
        "payload_sha256",
        "signature",
    ):
        if not isinstance(envelope[name], str) or not envelope[name]:
            return f"envelope field {name} must be a non-empty string"
    if envelope["kind"] not in KINDS:
        return f"unknown message kind {envelope['kind']!r}"
    if not isinstance(envelope["payload"], dict):
        return "the envelope payload must be a JSON object"
    return None


def signature_valid(envelope: dict[str, Any], key: Ed25519PublicKey) -> bool:
    """True if the payload hash matches and the signature is the sender's."""
    if sha256_hex(envelope["payload"]) != envelope["payload_sha256"]:
        return False
    return verify(key, envelope["signature"], _signed_part(envelope))


def make_receipt(
    identity: UnitIdentity, envelope: dict[str, Any], *, status: str, now: datetime
) -> dict[str, Any]:
    """The receiver's signed receipt for ``envelope`` (status ``accepted`` or ``duplicate``)."""
    receipt: dict[str, Any] = {
        "message_id": envelope["message_id"],
        "sender": envelope["sender"],
        "recipient": identity.unit_id,
        "payload_sha256": envelope["payload_sha256"],
        "status": status,
        "received_at": timestamp(now),
    }
    receipt["signature"] = identity.sign(_signed_part(receipt))
    return receipt


def receipt_problem(receipt: Any, envelope: dict[str, Any], key: Ed25519PublicKey) -> str | None:
    """None if ``receipt`` is the recipient's valid receipt for ``envelope``, else why not."""
    if not isinstance(receipt, dict) or any(
        f not in receipt for f in (*RECEIPT_FIELDS, "signature")
    ):
        return "the response is not a receipt"
    for name in ("message_id", "sender", "recipient", "payload_sha256"):
        if receipt[name] != envelope[name]:
            return f"the receipt's {name} does not match the envelope"
    if receipt["status"] not in ("accepted", "duplicate"):
        return f"unknown receipt status {receipt['status']!r}"
    if not isinstance(receipt["signature"], str) or not verify(
        key, receipt["signature"], _signed_part(receipt)
    ):
        return "the receipt signature is not the recipient's"
    return None
