"""Envelopes and receipts: canonical form, signatures, tampering, receipts."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.federation import (
    canonical,
    init_unit,
    make_receipt,
    receipt_problem,
    seal,
    signature_valid,
)
from api.federation.envelope import check_shape, sha256_hex

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("keys")
    uz = init_unit(
        root / "uz", unit_id="UZ-TAS-PCU", country="UZ", name="Tashkent", base_url="http://uz.test"
    )
    kz = init_unit(
        root / "kz", unit_id="KZ-ALA-PCU", country="KZ", name="Almaty", base_url="http://kz.test"
    )
    return uz, kz


def test_canonical_is_sorted_compact_utf8() -> None:
    assert canonical({"b": 1, "a": [1, {"d": "é", "c": None}]}) == (
        '{"a":[1,{"c":null,"d":"é"}],"b":1}'.encode()
    )


def _envelope(pair, payload=None):  # type: ignore[no-untyped-def]
    uz, _ = pair
    return seal(
        uz,
        message_id="M1-UZ-TAS-PCU",
        recipient="KZ-ALA-PCU",
        kind="query",
        payload=payload or {"query_id": "Q1", "x": [1, 2]},
        now=NOW,
    )


def test_seal_verifies_with_sender_key_only(pair) -> None:  # type: ignore[no-untyped-def]
    uz, kz = pair
    envelope = _envelope(pair)
    assert check_shape(envelope) is None
    assert envelope["payload_sha256"] == sha256_hex(envelope["payload"])
    assert signature_valid(envelope, uz.public_key)
    assert not signature_valid(envelope, kz.public_key)


@pytest.mark.parametrize(
    "field, value",
    [
        ("recipient", "PK-KHI-PCU"),
        ("sender", "KZ-ALA-PCU"),
        ("message_id", "M2"),
        ("timestamp", "2026-11-28T09:00:01.000000Z"),
        ("kind", "reply"),
        ("payload_sha256", "0" * 64),
    ],
)
def test_any_changed_field_breaks_the_signature(pair, field: str, value: str) -> None:  # type: ignore[no-untyped-def]
    envelope = _envelope(pair)
    envelope[field] = value
    assert not signature_valid(envelope, pair[0].public_key)


def test_tampered_payload_or_signature_is_detected(pair) -> None:  # type: ignore[no-untyped-def]
    envelope = _envelope(pair)
    tampered = copy.deepcopy(envelope)
    tampered["payload"]["x"].append(3)
    assert not signature_valid(tampered, pair[0].public_key)
    forged = copy.deepcopy(envelope)
    forged["signature"] = forged["signature"][:-4] + (
        "AAA=" if not forged["signature"].endswith("AAA=") else "BBB="
    )
    assert not signature_valid(forged, pair[0].public_key)
    garbage = dict(envelope, signature="not base64!")
    assert not signature_valid(garbage, pair[0].public_key)


@settings(max_examples=30, deadline=None)
@given(
    payload=st.dictionaries(
        st.text(max_size=8),
        st.one_of(st.integers(), st.text(max_size=20), st.booleans(), st.none()),
        max_size=6,
    )
)
def test_round_trip_for_any_payload(pair, payload) -> None:  # type: ignore[no-untyped-def]
    envelope = _envelope(pair, payload=payload or {"k": 1})
    assert signature_valid(envelope, pair[0].public_key)


def test_shape_errors_say_what_is_wrong(pair) -> None:  # type: ignore[no-untyped-def]
    envelope = _envelope(pair)
    assert check_shape([]) == "the envelope is not a JSON object"
    assert "lacks signature" in str(
        check_shape({k: v for k, v in envelope.items() if k != "signature"})
    )
    assert "unexpected" in str(check_shape(dict(envelope, extra=1)))
    assert "unknown message kind" in str(check_shape(dict(envelope, kind="spam")))
    assert "version" in str(check_shape(dict(envelope, version=2)))


def test_receipt_is_verified_against_recipient_key(pair) -> None:  # type: ignore[no-untyped-def]
    uz, kz = pair
    envelope = _envelope(pair)
    receipt = make_receipt(kz, envelope, status="accepted", now=NOW)
    assert receipt_problem(receipt, envelope, kz.public_key) is None
    assert "signature" in str(receipt_problem(receipt, envelope, uz.public_key))
    other = _envelope(pair, payload={"different": True})
    assert "payload_sha256" in str(receipt_problem(receipt, other, kz.public_key))
    forged = dict(receipt, status="duplicate")
    assert receipt_problem(forged, envelope, kz.public_key) is not None
    assert receipt_problem({"not": "a receipt"}, envelope, kz.public_key) is not None


def test_key_file_is_private_and_unit_reloads(tmp_path: Path) -> None:
    from api.federation import load_unit

    identity = init_unit(
        tmp_path / "u",
        unit_id="PK-KHI-PCU",
        country="PK",
        name="Karachi",
        base_url="https://pk.test/",
    )
    key = tmp_path / "u" / "unit.key"
    assert key.stat().st_mode & 0o777 == 0o600
    again = load_unit(tmp_path / "u")
    assert again.directory_entry() == identity.directory_entry()
    assert "PRIVATE" not in (tmp_path / "u" / "unit.yaml").read_text()
    assert "private" not in repr(again).lower()
